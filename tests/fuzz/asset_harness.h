/* asset_harness.h - the body of fuzz_jpeg.c and fuzz_png.c: they differ
 * only in FUZZ_FORMAT, the format whose whole path they drive.
 *
 * The input is a whole file, nothing prepended (the corpora hold real
 * signed and unsigned files).  A file of FUZZ_FORMAT goes through:
 *  - asset_read_head directly: the head must be the file's first bytes,
 *    the reader must stop right after it, and the manifest store's
 *    segments or chunk must lie in the head;
 *  - the public prov_verify() from memory with no trust anchors: a report
 *    always comes back, never "trusted", and its JSON must be well formed
 *    (and UTF-8, unless built with -DFUZZ_LAX_UTF8);
 *  - prov_inspect(): JSON or a clear error.
 * Input of another format only goes through asset_read_head.  Errors must
 * carry a message. */

/* the JSON must be valid UTF-8 (on since invalid bytes became U+FFFD) */
#ifndef FUZZ_LAX_UTF8
#define FUZZ_STRICT_UTF8 1
#endif
#include "asset.h"
#include "media.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "json_check.h"


/* The format the first bytes say, as asset_read_head sniffs it. */
static int sniff(const uint8_t *d, size_t n)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return FMT_JPEG;
    if (n >= 8 && memcmp(d, sig, 8) == 0) return FMT_PNG;
    /* a manifest store alone (.c2pa): LBox 'jumb' LBox 'jumd' 'c2pa'... */
    if (n >= 32 && !memcmp(d + 4, "jumb", 4) && !memcmp(d + 12, "jumd", 4) && !memcmp(d + 16, "c2pa", 4))
        return FMT_C2PA;
    return media_sniff(d, n); /* fuzz_riff, fuzz_gif, fuzz_id3, fuzz_tiff drive these */
}

/* ---- the three entry points ---- */

static void read_head(const uint8_t *data, size_t size)
{
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return;
    prov_stream s;
    prov_stream_mem(&s, data, size);
    rdr r;
    if (rdr_init(&r, &s)) { prov_ctx_free(ctx); return; }
    asset a;
    int rc = asset_read_head(ctx, &r, &a, "fuzz");
    if (rc) {
        CHECK(rc < 0);
        CHECK(rc == PROV_ENOMEM || prov_errmsg(ctx)[0]); /* a clear error */
        if (sniff(data, size) == FMT_UNKNOWN) CHECK(rc == PROV_EUNSUPPORTED);
        else if (!media_is(sniff(data, size)) && sniff(data, size) != FMT_C2PA) CHECK(rc != PROV_EUNSUPPORTED);
    } else if (a.format == FMT_C2PA) {
        CHECK(sniff(data, size) == FMT_C2PA && a.has_store && a.store.len == size);
        asset_free(&a);
    } else if (media_is(a.format)) {
        CHECK(a.format == sniff(data, size) || (a.format == FMT_FLAC && sniff(data, size) == FMT_MP3) ||
              (a.format == FMT_DNG && sniff(data, size) == FMT_TIFF));
        asset_free(&a);
    } else {
        CHECK(a.format == FMT_JPEG || a.format == FMT_PNG);
        CHECK(a.format == sniff(data, size));
        CHECK(a.mime && !strcmp(a.mime, asset_format_mime(a.format)));
        /* the head is the file's first bytes; the reader is right after */
        CHECK(a.head.len <= size && a.head.len >= 2);
        CHECK(memcmp(a.head.p, data, a.head.len) == 0);
        CHECK(rdr_tell(&r) == a.head.len);
        CHECK(a.insert_at >= 2 && a.insert_at <= a.head.len);
        CHECK(a.nranges <= ASSET_MAX_RANGES);
        CHECK(a.has_store ? a.nranges >= 1 : a.nranges == 0 && a.store.len == 0);
        CHECK(a.store.len <= PROV_MAX_STORE);
        uint64_t carried = 0;
        for (size_t i = 0; i < a.nranges; i++) {
            const xrange *x = &a.ranges[i];
            CHECK(x->len >= 8 && x->start <= a.head.len && x->len <= a.head.len - x->start);
            if (i) CHECK(x->start >= a.ranges[i - 1].start + a.ranges[i - 1].len);
            const uint8_t *h = a.head.p + x->start; /* an APP11 segment or the caBX chunk */
            if (a.format == FMT_JPEG) CHECK(h[0] == 0xFF && h[1] == 0xEB);
            else CHECK(memcmp(h + 4, "caBX", 4) == 0);
            carried += x->len;
        }
        CHECK(carried >= a.store.len);
        if (a.has_store) {
            c2pa_store st;
            if (store_parse(ctx, a.store.p, a.store.len, &st) == 0) {
                CHECK(st.n >= 1);
                store_free(&st);
            } else {
                CHECK(prov_errmsg(ctx)[0]);
            }
        }
        /* the rest of the file streams */
        const uint8_t *p;
        size_t n, total = a.head.len;
        while (rdr_next(&r, &p, &n, RDR_BUF) == 0 && n) {
            CHECK(total + n <= size && memcmp(p, data + total, n) == 0);
            total += n;
        }
        CHECK(total == size);
        asset_free(&a);
    }
    rdr_free(&r);
    prov_ctx_free(ctx);
}

static void verify(const uint8_t *data, size_t size)
{
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return;
    prov_stream s;
    prov_stream_mem(&s, data, size);
    prov_verify_opts o;
    memset(&o, 0, sizeof o);
    prov_report *r = NULL;
    int rc = prov_verify(ctx, &o, &s, &r);
    CHECK(rc <= 0);
    if (!r) {
        CHECK(rc == PROV_ENOMEM);
        prov_ctx_free(ctx);
        return;
    }
    int state = prov_report_state(r);
    CHECK(state >= PROV_STATE_ERROR && state <= PROV_STATE_TRUSTED);
    CHECK(state != PROV_STATE_TRUSTED); /* nothing is trusted */
    if (rc) {
        CHECK(state == PROV_STATE_ERROR);
        CHECK(rc == PROV_ENOMEM || prov_errmsg(ctx)[0]);
    } else {
        CHECK(state != PROV_STATE_ERROR);
    }
    if (state == PROV_STATE_VALID) CHECK(prov_report_has_code(r, "signingCredential.untrusted"));
    for (int kind = 0; kind <= 2; kind++) {
        size_t n = prov_report_code_count(r, kind);
        CHECK(n < 10000);
        for (size_t i = 0; i < n && i < 64; i++) {
            const char *c = prov_report_code(r, kind, i);
            CHECK(c && *c && prov_report_has_code(r, c));
        }
        CHECK(prov_report_code(r, kind, n) == NULL);
    }
    size_t n = prov_report_json(r, "fuzz.input", NULL, 0);
    CHECK(n > 0);
    char *j = malloc(n + 1);
    if (j) {
        CHECK(prov_report_json(r, "fuzz.input", j, n + 1) == n);
        check_json(j, n);
        free(j);
    }
    prov_report_free(r);
    prov_ctx_free(ctx);
}

static void inspect(const uint8_t *data, size_t size)
{
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return;
    prov_stream s;
    prov_stream_mem(&s, data, size);
    char *json = NULL;
    int rc = prov_inspect(ctx, &s, &json);
    if (rc) {
        CHECK(rc < 0 && json == NULL);
        CHECK(rc == PROV_ENOMEM || prov_errmsg(ctx)[0]);
    } else {
        check_json(json, strlen(json));
        prov_free(json);
    }
    prov_ctx_free(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    read_head(data, size);
    if (sniff(data, size) != FUZZ_FORMAT) return 0;
    verify(data, size);
    inspect(data, size);
    return 0;
}
