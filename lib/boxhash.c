/* boxhash.c - see boxhash.h.  A byte-driven JPEG segmenter names each
 * segment as it starts (the way c2pa-rs maps them) and routes its bytes
 * to the hasher of the run it belongs to; runs are matched against the
 * assertion in order, so one pass and bounded memory suffice. */
#include "boxhash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GAP 65536 /* stray bytes kept between two segments of one run */

typedef struct run {
    const char **names; /* into the assertion's CBOR (not NUL-terminated) */
    size_t *name_len;
    size_t n;
    char alg[16];
    const uint8_t *hash;
    size_t hash_len;
    int skip; /* C2PA or excluded: not hashed */
} run;

enum { S_MARK0, S_MARK1, S_LEN1, S_LEN2, S_BODY, S_ENTROPY, S_ENT_FF, S_DONE };

struct boxhash {
    run *runs;
    size_t nruns;
    /* matching */
    size_t r, j;       /* current run, next name within it */
    int active;        /* a run's hasher is open */
    xhash h;
    int failed;
    char why[160];
    /* segmenter */
    int state;
    uint8_t marker;
    size_t seglen, left;     /* payload bytes of a length-carrying segment */
    uint8_t pre[40];         /* the first bytes of a segment, until named */
    size_t npre, want_pre;
    int named;               /* the current segment's name is settled */
    int feeding;             /* the current segment's bytes go to the hasher */
    uint8_t gap[MAX_GAP];    /* stray bytes after a segment's end */
    size_t ngap;
    int gap_over;            /* more stray bytes than gap holds */
    int c2pa_en;             /* En of the manifest store's APP11 segments, -1 none */
    int in_store;            /* segments so far of the store */
    int after_sos;           /* the segment is a scan header: entropy follows */
};

static const char *seg_name(uint8_t m, char *buf)
{
    if (m >= 0xE0 && m <= 0xEF) { snprintf(buf, 8, "APP%d", m - 0xE0); return buf; }
    if (m >= 0xD0 && m <= 0xD7) { snprintf(buf, 8, "RST%d", m - 0xD0); return buf; }
    if (m >= 0xF0 && m <= 0xFD) { snprintf(buf, 8, "JPG%d", m - 0xF0); return buf; }
    switch (m) {
    case 0xD8: return "SOI";
    case 0xD9: return "EOI";
    case 0xDA: return "SOS";
    case 0xDB: return "DQT";
    case 0xC4: return "DHT";
    case 0xCC: return "DAC";
    case 0xDD: return "DRI";
    case 0xFE: return "COM";
    case 0xC0: return "SOF0";
    case 0xC1: return "SOF1";
    case 0xC2: return "SOF2";
    default: return NULL;
    }
}

static void fail(boxhash *b, const char *fmt, const char *arg)
{
    if (b->failed) return;
    b->failed = 1;
    snprintf(b->why, sizeof b->why, fmt, arg);
}

/* Close the current run when all its names were seen. */
static void close_run(boxhash *b)
{
    if (b->r >= b->nruns || b->j < b->runs[b->r].n) return;
    run *rn = &b->runs[b->r];
    if (b->active) {
        uint8_t got[64];
        size_t gl = xhash_final(&b->h, got);
        xhash_free(&b->h);
        b->active = 0;
        if (gl != rn->hash_len || memcmp(got, rn->hash, gl)) {
            char nm[48];
            snprintf(nm, sizeof nm, "%.*s", (int)(rn->name_len[0] < 40 ? rn->name_len[0] : 40), rn->names[0]);
            fail(b, "the hash of the segments from %s does not match", nm);
        }
    }
    b->r++;
    b->j = 0;
    b->ngap = 0;
}

/* A new segment named nm begins: match it and route its bytes. */
static void begin(boxhash *b, const char *nm)
{
    if (b->failed) { b->feeding = 0; return; }
    close_run(b);
    if (b->r >= b->nruns) { /* segments past the last run are not covered */
        b->feeding = 0;
        b->ngap = 0;
        b->gap_over = 0;
        return;
    }
    run *rn = &b->runs[b->r];
    size_t k = strlen(nm);
    if (rn->name_len[b->j] != k || memcmp(rn->names[b->j], nm, k)) {
        fail(b, "segment %s is not where the box hash says", nm);
        b->feeding = 0;
        return;
    }
    if (b->j == 0) {
        b->ngap = 0;
        b->gap_over = 0;
        if (!rn->skip) {
            if (xhash_init(&b->h, rn->alg, NULL, 0)) { fail(b, "hash %s unknown", rn->alg); return; }
            b->active = 1;
        }
    } else if (b->active && (b->ngap || b->gap_over)) { /* stray bytes inside the run are covered */
        if (b->gap_over) {
            fail(b, "more than 64 KiB of stray bytes inside a box run%s", "");
            return;
        }
        xhash_feed(&b->h, b->gap, b->ngap);
    }
    b->ngap = 0;
    b->gap_over = 0;
    b->j++;
    b->feeding = b->active;
}

static void out(boxhash *b, const uint8_t *p, size_t n)
{
    if (b->feeding && n) xhash_feed(&b->h, p, n);
}

/* Stray bytes between segments: kept (bounded) in case the next segment
 * is in the same run, whose hash then covers them. */
static void stray(boxhash *b, const uint8_t *p, size_t n)
{
    if (b->ngap + n > MAX_GAP) {
        b->gap_over = 1;
        return;
    }
    memcpy(b->gap + b->ngap, p, n);
    b->ngap += n;
}

/* Name an APP11 segment from its first payload bytes (pre holds the
 * marker, length and up to 28 payload bytes). */
static void name_app11(boxhash *b)
{
    const uint8_t *d = b->pre + 4;
    size_t dn = b->npre - 4;
    if (b->seglen - 2 <= 16) { /* too short for JUMBF: readers skip it */
        b->named = 1;
        b->feeding = 0;
        return;
    }
    int en = dn >= 4 ? (d[2] << 8 | d[3]) : -1;
    if (b->in_store && en == b->c2pa_en) { /* a continuation: part of "C2PA" */
        b->in_store++;
        b->named = 1;
        b->feeding = 0;
        return;
    }
    if (dn >= 28 && memcmp(d + 24, "c2pa", 4) == 0) {
        b->c2pa_en = en;
        b->in_store = 1;
        begin(b, "C2PA");
    } else {
        begin(b, "APP11");
    }
    b->named = 1;
}

static void start_segment(boxhash *b, uint8_t m)
{
    char buf[8];
    b->marker = m;
    b->named = 0;
    b->pre[0] = 0xFF;
    b->pre[1] = m;
    b->npre = 2;
    b->after_sos = m == 0xDA;
    if (m != 0xEB) b->in_store = 0; /* the store's segments are contiguous */
    if (m == 0xD8 || m == 0xD9 || (m >= 0xD0 && m <= 0xD7) || m == 0x01) {
        const char *nm = seg_name(m, buf);
        if (nm) begin(b, nm);
        else b->feeding = 0;
        out(b, b->pre, 2);
        b->state = S_MARK0;
        return;
    }
    if (m != 0xEB) {
        const char *nm = seg_name(m, buf);
        if (!nm) {
            fail(b, "segment marker %s unknown", "0xFF..");
            b->feeding = 0;
        } else {
            begin(b, nm);
        }
        b->named = 1;
        out(b, b->pre, 2);
    }
    b->state = S_LEN1;
}

void boxhash_feed(boxhash *b, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        switch (b->state) {
        case S_MARK0:
            if (c == 0xFF) b->state = S_MARK1;
            else stray(b, &c, 1);
            break;
        case S_MARK1:
            if (c == 0xFF) { stray(b, &c, 1); break; } /* fill byte */
            start_segment(b, c);
            break;
        case S_LEN1:
            b->seglen = (size_t)c << 8;
            if (b->named) out(b, &c, 1);
            else b->pre[b->npre++] = c;
            b->state = S_LEN2;
            break;
        case S_LEN2:
            b->seglen |= c;
            if (b->named) out(b, &c, 1);
            else b->pre[b->npre++] = c;
            if (b->seglen < 2) { fail(b, "segment length %s", "below 2"); b->state = S_DONE; break; }
            b->left = b->seglen - 2;
            b->want_pre = 4 + (b->left < 28 ? b->left : 28);
            if (!b->named && b->npre >= b->want_pre) {
                name_app11(b);
                out(b, b->pre, b->npre);
            }
            if (b->left == 0) b->state = b->after_sos ? S_ENTROPY : S_MARK0;
            else b->state = S_BODY;
            break;
        case S_BODY: {
            size_t k = n - i < b->left ? n - i : b->left;
            if (!b->named) {
                size_t t = b->want_pre - b->npre;
                if (t > k) t = k;
                memcpy(b->pre + b->npre, p + i, t);
                b->npre += t;
                b->left -= t;
                i += t - 1;
                if (b->npre >= b->want_pre) {
                    name_app11(b);
                    out(b, b->pre, b->npre);
                }
            } else {
                out(b, p + i, k);
                b->left -= k;
                i += k - 1;
            }
            if (b->left == 0) b->state = b->after_sos ? S_ENTROPY : S_MARK0;
            break;
        }
        case S_ENTROPY: {
            const uint8_t *ff = memchr(p + i, 0xFF, n - i);
            size_t k = ff ? (size_t)(ff - (p + i)) : n - i;
            out(b, p + i, k);
            if (!ff) {
                i = n;
                break;
            }
            i += k; /* at the 0xFF; the loop steps past it */
            b->state = S_ENT_FF;
            break;
        }
        case S_ENT_FF:
            if (c == 0x00 || (c >= 0xD0 && c <= 0xD7)) { /* stuffing or a restart: still the scan */
                static const uint8_t ffb = 0xFF;
                out(b, &ffb, 1);
                out(b, &c, 1);
                b->state = S_ENTROPY;
            } else if (c == 0xFF) { /* the scan ended; fill bytes before a marker */
                static const uint8_t ffb = 0xFF;
                b->feeding = 0;
                stray(b, &ffb, 1);
                b->state = S_MARK1;
            } else {
                start_segment(b, c);
            }
            break;
        default: return;
        }
    }
}

int boxhash_final(boxhash *b, char *why, size_t cap)
{
    if (!b->failed && b->state != S_MARK0 && b->state != S_ENTROPY && b->state != S_DONE)
        fail(b, "the file ends inside a segment%s", "");
    if (!b->failed) {
        close_run(b);
        if (!b->failed && b->r < b->nruns) fail(b, "the file ends before the box hash's segments%s", "");
    }
    if (b->active) {
        xhash_free(&b->h);
        b->active = 0;
    }
    if (why && cap) snprintf(why, cap, "%s", b->failed ? b->why : "");
    return b->failed ? 1 : 0;
}

int boxhash_new(cval m, boxhash **out_b, const char **why)
{
    *out_b = NULL;
    cval boxes, e, f, nl, nm;
    cbor_iter it, ni;
    char dalg[16] = "sha256";
    const char *s;
    size_t sl;
    if (cbor_map_get(m, "alg", &f) == 0 && cbor_get_text(f, &s, &sl) == 0 && sl < sizeof dalg) {
        memcpy(dalg, s, sl);
        dalg[sl] = 0;
    }
    if (cbor_map_get(m, "boxes", &boxes) || cbor_type(boxes) != CBOR_ARRAY || cbor_iter_init(boxes, &it)) {
        *why = "no boxes";
        return PROV_EFORMAT;
    }
    size_t n = cbor_count(boxes);
    if (n == 0) { *why = "no boxes"; return PROV_EFORMAT; }
    if (n > BOXHASH_MAX_ENTRIES) { *why = "too many boxes"; return PROV_ELIMIT; }
    boxhash *b = calloc(1, sizeof *b);
    if (!b || !(b->runs = calloc(n, sizeof *b->runs))) {
        free(b);
        return PROV_ENOMEM;
    }
    b->c2pa_en = -1;
    size_t total = 0;
    int rc = 0;
    while (!rc && cbor_iter_next(&it, &e)) {
        run *rn = &b->runs[b->nruns++];
        if (cbor_type(e) != CBOR_MAP || cbor_map_get(e, "names", &nl) || cbor_type(nl) != CBOR_ARRAY ||
            cbor_iter_init(nl, &ni) || cbor_count(nl) == 0) {
            *why = "a box entry without names";
            rc = PROV_EFORMAT;
            break;
        }
        rn->n = cbor_count(nl);
        if ((total += rn->n) > BOXHASH_MAX_NAMES) { *why = "too many box names"; rc = PROV_ELIMIT; break; }
        rn->names = calloc(rn->n, sizeof *rn->names);
        rn->name_len = calloc(rn->n, sizeof *rn->name_len);
        if (!rn->names || !rn->name_len) { rc = PROV_ENOMEM; break; }
        size_t k = 0;
        while (cbor_iter_next(&ni, &nm)) {
            if (cbor_get_text(nm, &rn->names[k], &rn->name_len[k])) { *why = "a box name is not text"; rc = PROV_EFORMAT; break; }
            k++;
        }
        if (rc) break;
        int c2pa = rn->name_len[0] == 4 && memcmp(rn->names[0], "C2PA", 4) == 0;
        if (c2pa && rn->n != 1) { *why = "the C2PA box run holds other boxes"; rc = PROV_EFORMAT; break; }
        bool excluded = false;
        if (cbor_map_get(e, "excluded", &f) == 0) cbor_get_bool(f, &excluded);
        rn->skip = c2pa || excluded;
        snprintf(rn->alg, sizeof rn->alg, "%s", dalg);
        if (cbor_map_get(e, "alg", &f) == 0 && cbor_get_text(f, &s, &sl) == 0 && sl < sizeof rn->alg) {
            memcpy(rn->alg, s, sl);
            rn->alg[sl] = 0;
        }
        if (!rn->skip && (cbor_map_get(e, "hash", &f) || cbor_get_bytes(f, &rn->hash, &rn->hash_len))) {
            *why = "a box entry without a hash";
            rc = PROV_EFORMAT;
        }
    }
    if (rc) {
        boxhash_free(b);
        return rc;
    }
    b->state = S_MARK0;
    *out_b = b;
    return 0;
}

void boxhash_free(boxhash *b)
{
    if (!b) return;
    if (b->active) xhash_free(&b->h);
    for (size_t i = 0; i < b->nruns; i++) {
        free(b->runs[i].names);
        free(b->runs[i].name_len);
    }
    free(b->runs);
    free(b);
}
