/* sign.c - build a C2PA v2 manifest and embed it in a JPEG or PNG.
 *
 * One pass over the image data: the manifest's size is fixed before any
 * hashing (the hash and signature have fixed lengths), so its region is
 * reserved in the output, the rest of the file is copied and hashed in one
 * stream, and the finished manifest is written into the reserved region. */
#include "asset.h"
#include "bmff.h"
#include "cose.h"
#include "image.h"
#include "media.h"
#include "xmp.h"
#include "pump.h"
#include "tmpfile.h"
#include "report.h"
#include "sign.h"
#include "tmpfile.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LAYOUT_ROUNDS 6
#define THUMB_SIDE 512
#define THUMB_QUALITY 80

typedef struct wctx {
    prov_stream *out;
    EVP_MD_CTX *md;
    uint64_t off;
} wctx;

static int emit(wctx *w, const uint8_t *p, size_t n, int hash)
{
    if (!n) return 0;
    if (w->out->write(w->out->user, p, n)) return PROV_EIO;
    if (hash) EVP_DigestUpdate(w->md, p, n);
    w->off += n;
    return 0;
}

/* Head bytes [from, to) without the old store's ranges. */
static int emit_head(wctx *w, const asset *a, uint64_t from, uint64_t to)
{
    uint64_t p = from;
    for (size_t i = 0; i <= a->nranges && p < to; i++) {
        uint64_t rs = i < a->nranges ? a->ranges[i].start : to, re = i < a->nranges ? rs + a->ranges[i].len : to;
        if (re <= p) continue;
        if (rs > to) rs = to;
        if (rs > p && emit(w, a->head.p + p, (size_t)(rs - p), 1)) return PROV_EIO;
        p = re;
    }
    return 0;
}

/* A remote manifest: the XMP reference where a store would go, the whole
 * output hashed, the store to manifest_out. */
static int sign_remote(sctx *s, rdr *rd, asset *a, prov_stream *out, pbuf *store)
{
    prov_ctx *ctx = s->ctx;
    const char *url = s->o->remote_url;
    prov_stream *mo = s->o->manifest_out;
    if (a->format != FMT_JPEG && a->format != FMT_PNG && !media_is(a->format))
        return prov_seterr(ctx, PROV_EUNSUPPORTED, "a remote manifest reference is not written into this format");
    if (!mo || !mo->write) return prov_seterr(ctx, PROV_EINVAL, "a remote manifest needs manifest_out (where its store goes)");
    if (!xmp_url_ok(url))
        return prov_seterr(ctx, PROV_EINVAL,
                           "remote URL: an http:// or https:// URL of printable ASCII (no spaces, quotes, <, >, &), "
                           "at most 2000 characters");
    if (xmp_has_packet(a))
        return prov_seterr(ctx, PROV_EUNSUPPORTED, "the file already carries XMP metadata; prov does not merge a "
                                                   "remote reference into it yet");
    pbuf x;
    pbuf_init(&x);
    wctx w = {out, EVP_MD_CTX_new(), 0};
    uint8_t hash[32];
    unsigned int hl = 0;
    uint64_t pumped;
    int where, rc;
    if (media_is(a->format)) {
        xmp_packet(&x, url);
        if (x.err) { rc = PROV_ENOMEM; goto done; }
        if ((rc = sign_media_xmp(s, rd, a, out, x.p, x.len, hash))) goto done;
        goto hashed;
    }
    if ((rc = xmp_wrap_reference(a->format, url, &x))) goto done;
    if (!w.md || !EVP_DigestInit_ex(w.md, EVP_sha256(), NULL)) { rc = PROV_ECRYPTO; goto done; }
    if (out->seek(out->user, 0) || emit_head(&w, a, 0, a->insert_at) || emit(&w, x.p, x.len, 1) ||
        emit_head(&w, a, a->insert_at, a->head.len)) {
        rc = prov_seterr(ctx, PROV_EIO, "output: write failed");
        goto done;
    }
    if ((rc = pump(rd, UINT64_MAX, md_update, w.md, out, &pumped, &where))) {
        rc = prov_seterr(ctx, rc, where ? "output: write failed" : "input: read failed");
        goto done;
    }
    if (!EVP_DigestFinal_ex(w.md, hash, &hl)) { rc = PROV_ECRYPTO; goto done; }
hashed:
    store->len = 0;
    if ((rc = build_store(s, hash, 0, 0, 1, store))) goto done;
    if (store->len > PROV_MAX_STORE) {
        rc = prov_seterr(ctx, PROV_ELIMIT, "manifest store would be %zu bytes, over the limit", store->len);
        goto done;
    }
    if ((mo->seek && mo->seek(mo->user, 0)) || mo->write(mo->user, store->p, store->len))
        rc = prov_seterr(ctx, PROV_EIO, "manifest output: write failed");
done:
    if (w.md) EVP_MD_CTX_free(w.md);
    pbuf_free(&x);
    return rc;
}

int prov_sign(prov_ctx *ctx, const prov_sign_opts *opts, const prov_signer *signer, const prov_chain *chain,
              prov_stream *in, prov_stream *out)
{
    return sign_stream(ctx, opts, signer, chain, in, out, NULL, 0);
}

int sign_stream(prov_ctx *ctx, const prov_sign_opts *opts, const prov_signer *signer, const prov_chain *chain,
                prov_stream *in, prov_stream *out, const uint8_t (*leaves)[32], size_t nleaves)
{
    static const prov_sign_opts defaults;
    if (!signer || !chain || !in || !out || !out->write || !out->seek) return PROV_EINVAL;
    if (ctx) ctx->msg[0] = 0;
    if (sodium_init() < 0) return PROV_ECRYPTO;
    sctx s;
    sctx_init(&s, ctx, opts ? opts : &defaults, signer, chain);
    s.leaves = leaves;
    s.nleaves = nleaves;

    rdr rd;
    asset a;
    pbuf store, wrapped;
    pbuf_init(&store);
    pbuf_init(&wrapped);
    memset(&a, 0, sizeof a);
    wctx w = {out, NULL, 0};
    int rc = rdr_init(&rd, in);
    if (rc) goto out;
    rd.progress = s.o->progress;
    rd.progress_user = s.o->progress_user;
    rd.total = s.o->size_hint;
    if (s.o->thumbnail) {
        /* a pass of its own over the picture: decoding cannot share the
         * hash's single pass, whose manifest size is fixed before it starts */
        if (!in->seek) {
            rc = prov_seterr(ctx, PROV_EINVAL, "a thumbnail needs a seekable input");
            goto out;
        }
        if ((rc = img_thumbnail(ctx, in, THUMB_SIDE, THUMB_QUALITY, &s.thumb))) goto out;
        if (in->seek(in->user, 0)) { rc = prov_seterr(ctx, PROV_EIO, "input: seek failed"); goto out; }
    }
    if (!s.o->no_soft_binding || s.o->publish) {
        if ((rc = build_soft_binding(&s, in))) goto out;
        if (s.o->publish && !s.has_pdq && !s.o->audio_fingerprint_len) {
            rc = prov_seterr(ctx, PROV_EUNSUPPORTED,
                             "publishing needs a fingerprint: a JPEG or PNG read from a seekable input, or an audio file's sound");
            goto out;
        }
    }
    if (s.o->parent && (rc = load_parent(&s, s.o->parent))) goto out;
    if ((rc = load_components(&s))) goto out;
    if ((rc = rdr_fill(&rd, 12))) goto out;
    if (bmff_sniff(rd.buf + rd.pos, rd.end - rd.pos)) {
        if (s.o->remote_url && !xmp_url_ok(s.o->remote_url)) {
            rc = prov_seterr(ctx, PROV_EINVAL,
                             "remote URL: an http:// or https:// URL of printable ASCII (no spaces, quotes, <, >, &), "
                             "at most 2000 characters");
            goto out;
        }
        if (s.o->remote_url && s.o->sidecar) {
            rc = prov_seterr(ctx, PROV_EINVAL, "a sidecar or a remote manifest, not both");
            goto out;
        }
        rc = sign_bmff(&s, &rd, in, out);
        goto out;
    }
    if ((rc = asset_read_head(ctx, &rd, &a, "input"))) goto out;
    if (a.format == FMT_C2PA) {
        rc = prov_seterr(ctx, PROV_EUNSUPPORTED, "input is a manifest store alone (.c2pa): sign the file it belongs to");
        goto out;
    }
    if (a.has_store && !s.has_parent) {
        /* re-signing a signed file: it is its own parent */
        if (!in->seek) {
            rc = prov_seterr(ctx, PROV_EINVAL, "input carries a manifest store; re-signing it needs a seekable input");
            goto out;
        }
        rdr_free(&rd);
        asset_free(&a);
        if (in->seek(in->user, 0)) { rc = prov_seterr(ctx, PROV_EIO, "input: seek failed"); goto out; }
        if ((rc = load_parent(&s, in))) goto out;
        if (in->seek(in->user, 0)) { rc = prov_seterr(ctx, PROV_EIO, "input: seek failed"); goto out; }
        if ((rc = rdr_init(&rd, in)) || (rc = asset_read_head(ctx, &rd, &a, "input"))) goto out;
    }
    s.format = a.format;
    if ((rc = build_fixed(&s))) goto out;
    if (s.o->sidecar && s.o->remote_url) {
        rc = prov_seterr(ctx, PROV_EINVAL, "a sidecar or a remote manifest, not both");
        goto out;
    }
    if (s.o->remote_url) {
        if ((rc = sign_remote(&s, &rd, &a, out, &store))) goto out;
        goto out;
    }
    if (s.o->sidecar) {
        if ((rc = sign_sidecar(&s, &rd, &a, out, &store))) goto out;
        goto out;
    }
    if (media_is(a.format)) {
        rc = sign_media(&s, &rd, &a, out);
        goto out;
    }

    /* where the store goes in the output, and how long it is */
    uint64_t start = a.insert_at;
    for (size_t i = 0; i < a.nranges; i++)
        if (a.ranges[i].start < a.insert_at) start -= a.ranges[i].len;
    uint8_t hash[32] = {0};
    uint64_t wlen = 0;
    int settled = 0;
    for (int round = 0; round < LAYOUT_ROUNDS && !settled; round++) {
        store.len = 0;
        if ((rc = build_store(&s, hash, start, wlen, 0, &store))) goto out;
        uint64_t w2 = asset_wrapped_len(a.format, store.len);
        settled = w2 == wlen;
        wlen = w2;
    }
    if (!settled) { rc = prov_seterr(ctx, PROV_EINVAL, "manifest layout did not settle"); goto out; }
    size_t store_len = store.len;
    if (store_len > PROV_MAX_STORE) {
        rc = prov_seterr(ctx, PROV_ELIMIT, "manifest store would be %zu bytes, over the %u-byte limit", store_len,
                         PROV_MAX_STORE);
        goto out;
    }

    /* one pass: copy and hash everything but the reserved region */
    w.md = EVP_MD_CTX_new();
    if (!w.md || !EVP_DigestInit_ex(w.md, EVP_sha256(), NULL)) { rc = PROV_ECRYPTO; goto out; }
    if (out->seek(out->user, 0)) { rc = prov_seterr(ctx, PROV_EIO, "output: seek failed"); goto out; }
    if ((rc = emit_head(&w, &a, 0, a.insert_at))) goto wfail;
    uint8_t zero[4096] = {0};
    for (uint64_t left = wlen; left;) {
        size_t k = left < sizeof zero ? (size_t)left : sizeof zero;
        if ((rc = emit(&w, zero, k, 0))) goto wfail;
        left -= k;
    }
    if ((rc = emit_head(&w, &a, a.insert_at, a.head.len))) goto wfail;
    uint64_t pumped;
    int where;
    if ((rc = pump(&rd, UINT64_MAX, md_update, w.md, out, &pumped, &where))) {
        if (where == 1) goto wfail;
        prov_seterr(ctx, rc, "input: read failed");
        goto out;
    }
    unsigned int hl = 0;
    if (!EVP_DigestFinal_ex(w.md, hash, &hl)) { rc = PROV_ECRYPTO; goto out; }

    /* the finished manifest, into its reserved region */
    store.len = 0;
    if ((rc = build_store(&s, hash, start, wlen, 1, &store))) goto out;
    if (store.len != store_len) { rc = prov_seterr(ctx, PROV_EINVAL, "manifest size changed after signing"); goto out; }
    if ((rc = asset_wrap_store(a.format, store.p, store.len, &wrapped))) goto out;
    if (wrapped.len != wlen) { rc = prov_seterr(ctx, PROV_EINVAL, "wrapped manifest size mismatch"); goto out; }
    if (out->seek(out->user, start) || out->write(out->user, wrapped.p, wrapped.len)) goto wfail;
    rc = 0;
    goto out;
wfail:
    rc = prov_seterr(ctx, PROV_EIO, "output: write failed");
out:
    if (!rc && s.o->publish) { /* the signed store, under its fingerprints */
        if (!s.final.len) rc = prov_seterr(ctx, PROV_EINVAL, "publishing: no signed store was kept");
        else if (s.has_pdq) /* the picture and its likely crops */
            rc = prov_repo_publish(ctx, s.o->publish, s.final.p, s.final.len, (const uint8_t(*)[32])s.pdq, 9, NULL);
        else
            rc = prov_repo_publish_audio(ctx, s.o->publish, s.final.p, s.final.len, s.o->audio_fingerprint,
                                         s.o->audio_fingerprint_len, NULL);
        if (rc) {
            char m[sizeof ctx->msg];
            snprintf(m, sizeof m, "%s", ctx ? ctx->msg : prov_strerror(rc));
            prov_seterr(ctx, rc, "publishing to %s: %s", s.o->publish, m);
        }
    }
    if (w.md) EVP_MD_CTX_free(w.md);
    pbuf_free(&store);
    pbuf_free(&wrapped);
    sctx_free(&s);
    asset_free(&a);
    rdr_free(&rd);
    return rc;
}

/* File output that starts write-back as it goes, so the fsync before the
 * rename (durability) finds little left to do: the disk works while the
 * rest of the file is hashed. */
typedef struct syncw {
    FILE *f;
    uint64_t written, synced;
} syncw;

#define SYNC_EVERY (1u << 20) /* small steps: the disk starts early */

static int syncw_write(void *user, const void *buf, size_t len)
{
    syncw *w = user;
    if (fwrite(buf, 1, len, w->f) != len) return -1;
    w->written += len;
    if (w->written - w->synced >= SYNC_EVERY) {
        if (fflush(w->f)) return -1;
        sync_file_range(fileno(w->f), (off64_t)w->synced, (off64_t)(w->written - w->synced), SYNC_FILE_RANGE_WRITE);
        w->synced = w->written;
    }
    return 0;
}

static int syncw_seek(void *user, uint64_t off)
{
    syncw *w = user;
    if (off > INT64_MAX || fseeko(w->f, (off_t)off, SEEK_SET)) return -1;
    w->written = w->synced = off;
    return 0;
}

/* What writes a file: called with the input and a seekable output. */
typedef int (*write_fn)(void *arg, uint64_t in_size, prov_stream *in, prov_stream *out);

/* Write out_path from in_path through fn: a temporary file beside
 * out_path, synced, renamed into place; nothing is left on failure. */
static int write_atomic(prov_ctx *ctx, const char *in_path, const char *out_path, write_fn fn, void *arg)
{
    if (!in_path || !out_path) return PROV_EINVAL;
    struct stat ot;
    if (lstat(out_path, &ot) == 0 && !S_ISREG(ot.st_mode)) /* renaming over a device or link would replace it */
        return prov_seterr(ctx, PROV_EINVAL, "%s: exists and is not a regular file", out_path);
    FILE *in = fopen(in_path, "rb");
    if (!in) return prov_seterr(ctx, PROV_EIO, "%s: cannot open: %s", in_path, strerror(errno));
    struct stat st = {0};
    mode_t mode = 0644;
    if (fstat(fileno(in), &st) == 0) mode = st.st_mode & 0777;
    /* named so that one left by a killed run is removed by the next
     * (tmpfile.h) */
    char *tmp = NULL;
    int fd = -1, trc = tmp_create(out_path, &tmp, &fd);
    if (trc) {
        int e = errno;
        fclose(in);
        return trc == PROV_ENOMEM ? trc
                                  : prov_seterr(ctx, PROV_EIO, "%s: cannot create a temporary file beside it: %s",
                                                out_path, strerror(e));
    }
    FILE *out = fdopen(fd, "w+b");
    int rc = out ? 0 : PROV_EIO;
    if (!rc) {
        prov_stream si, so;
        syncw sw = {out, 0, 0};
        prov_stream_file(&si, in);
        memset(&so, 0, sizeof so);
        so.write = syncw_write;
        so.seek = syncw_seek;
        so.user = &sw;
        rc = fn(arg, S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0, &si, &so);
        if (!rc && (fflush(out) || fsync(fd) || fchmod(fd, mode)))
            rc = prov_seterr(ctx, PROV_EIO, "%s: write failed: %s", out_path, strerror(errno));
    }
    if (out) fclose(out);
    else close(fd);
    fclose(in);
    if (!rc && rename(tmp, out_path))
        rc = prov_seterr(ctx, PROV_EIO, "%s: cannot rename into place: %s", out_path, strerror(errno));
    if (rc) unlink(tmp);
    free(tmp);
    return rc;
}

typedef struct sign_args {
    prov_ctx *ctx;
    const prov_sign_opts *opts;
    const prov_signer *signer;
    const prov_chain *chain;
    const uint8_t (*leaves)[32];
    size_t nleaves;
    uint64_t location; /* fragments */
    uint8_t *leaf;
} sign_args;

static int sign_cb(void *arg, uint64_t size, prov_stream *in, prov_stream *out)
{
    sign_args *a = arg;
    prov_sign_opts o = {0};
    if (a->opts) o = *a->opts;
    if (!o.size_hint) o.size_hint = size;
    return sign_stream(a->ctx, &o, a->signer, a->chain, in, out, a->leaves, a->nleaves);
}

int prov_sign_file(prov_ctx *ctx, const prov_sign_opts *opts, const prov_signer *signer, const prov_chain *chain,
                   const char *in_path, const char *out_path)
{
    if (ctx) ctx->msg[0] = 0;
    sign_args a = {ctx, opts, signer, chain, NULL, 0, 0, NULL};
    return write_atomic(ctx, in_path, out_path, sign_cb, &a);
}

static int fragment_cb(void *arg, uint64_t size, prov_stream *in, prov_stream *out)
{
    sign_args *a = arg;
    rdr rd;
    int rc = rdr_init(&rd, in);
    if (rc) return rc;
    rc = sign_fragment(a->ctx, &rd, out, a->location, a->leaf);
    rdr_free(&rd);
    return rc;
}

int prov_sign_fragments(prov_ctx *ctx, const prov_sign_opts *opts, const prov_signer *signer, const prov_chain *chain,
                        const char *init_in, const char *init_out, const char *const *frag_in,
                        const char *const *frag_out, size_t n)
{
    if (!init_in || !init_out || (n && (!frag_in || !frag_out))) return PROV_EINVAL;
    if (n == 0 || n > 10000000) return prov_seterr(ctx, PROV_EINVAL, "between 1 and 10,000,000 fragments");
    if (ctx) ctx->msg[0] = 0;
    uint8_t (*leaves)[32] = malloc(n * sizeof *leaves);
    if (!leaves) return PROV_ENOMEM;
    int rc = 0;
    size_t written = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        sign_args a = {ctx, opts, signer, chain, NULL, 0, i, leaves[i]};
        rc = write_atomic(ctx, frag_in[i], frag_out[i], fragment_cb, &a);
        if (!rc) written++;
        else if (ctx) {
            char m[sizeof ctx->msg];
            snprintf(m, sizeof m, "%s", ctx->msg);
            prov_seterr(ctx, rc, "%s: %s", frag_in[i], m);
        }
    }
    if (!rc) {
        sign_args a = {ctx, opts, signer, chain, (const uint8_t(*)[32])leaves, n, 0, NULL};
        rc = write_atomic(ctx, init_in, init_out, sign_cb, &a);
    }
    if (rc) /* a set is whole or absent: drop the fragments written so far */
        for (size_t i = 0; i < written; i++) unlink(frag_out[i]);
    free(leaves);
    return rc;
}
