/* identity.c - the signer's identity from a registry folder: the proof
 * embedded at signing (offline evidence of registration), then the log's
 * current word on the key (status, revocation, flags). */
#include "identity.h"
#include "cose.h"
#include "mirror.h"
#include "registry.h"
#include "x509.h"

#include <stdlib.h>
#include <string.h>

#define IDENTITY_FLAGS_MAX 100 /* flags listed in a report (the most recent) */

static void kv_str(pbuf *b, const char *k, const char *v, size_t n)
{
    pbuf_putc(b, ',');
    pbuf_json_str(b, k, strlen(k));
    pbuf_putc(b, ':');
    if (v) pbuf_json_str(b, v, n);
    else pbuf_puts(b, "null");
}

static void hex(char *out, const uint8_t *p, size_t n)
{
    static const char h[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = h[p[i] >> 4];
        out[2 * i + 1] = h[p[i] & 15];
    }
    out[2 * n] = 0;
}

/* The registration proof in the manifest: "verified", "absent", "failed"
 * or "other key" (a valid proof for another key). */
static const char *check_proof(prov_ctx *ctx, const tlog_verifier *lvp, c2pa_manifest *m, const uint8_t pk[32])
{
    c2pa_assertion *a = manifest_assertion(m, "prov.registration");
    if (!a) return "absent";
    jbox cb;
    cval map, v;
    const char *text;
    size_t n;
    if (jsuper_first(&a->sb, &cb) || cb.type != BOX_CBOR || cbor_parse(cb.data, cb.data_len, 0, &map) ||
        cbor_map_get(map, "tlog_proof", &v) || cbor_get_text(v, &text, &n))
        return "failed";
    if (!lvp) return "failed";
    tlog_verifier lv = *lvp;
    uint8_t *buf = NULL;
    size_t len;
    reg_entry e;
    int rc = reg_proof_verify((const uint8_t *)text, n, lv.name, &lv, &buf, &len, &e, ctx);
    const char *res = "failed";
    if (rc == 0) {
        int mine = memcmp(e.key, pk, 32) == 0 || (e.kind == REG_ROTATE && memcmp(e.new_key, pk, 32) == 0);
        res = mine ? "verified" : "other key";
    }
    free(buf);
    return res;
}

int identity_check(prov_ctx *ctx, const char *dir, c2pa_manifest *m, prov_report *r)
{
    pbuf *b = &r->identity;
    b->len = 0;
    cose_sign1 c;
    const char *why;
    uint8_t pk[32];
    reg_pub kp;
    if (!m->sig_bytes || cose_parse(m->sig_bytes, m->sig_len, &c, &why) || !c.ncerts ||
        reg_handle_from_cert(c.certs[0], c.cert_len[0], &kp)) {
        pbuf_puts(b, "{\"status\":\"unknown\",\"error\":\"the signing key is not an Ed25519 or ECDSA P-256/P-384 key\"}");
        return 0;
    }
    memcpy(pk, kp.id, 32);
    char kid[17];
    reg_key_id(kid, pk);
    reg_state *st = NULL;
    reg_walk_stats ws;
    int revoked = 0;
    /* a URL (or a .sqlite file) goes through the SQLite mirror, synced first */
    mirror *mr = NULL;
    reg_ident mid;
    const reg_ident *id = NULL;
    tlog_verifier lv;
    size_t dl = strlen(dir);
    /* a mirror file is read as it stands: whoever keeps it synced (prov
     * serve's background sync, or prov registry sync) writes it */
    bool mirror_file = dl > 7 && !strcmp(dir + dl - 7, ".sqlite");
    bool have_lv = false, via_mirror = mfetch_is_url(dir) || mirror_file, got = false;
    if (via_mirror) {
        const char *mp = getenv("PROV_REGISTRY_MIRROR");
        int mrc = mirror_file ? mirror_open(&mr, dir, false, ctx)
                              : mirror_open_sync(&mr, dir, mp && *mp ? mp : NULL, NULL, NULL, ctx);
        if (!mrc) mrc = mirror_log_verifier(mr, &lv, ctx);
        if (!mrc) {
            have_lv = true, ws.size = mirror_size(mr);
            int f = mirror_find(mr, pk, &mid, ctx);
            if (!f) id = &mid, got = true;
            else if (f != PROV_ENOTFOUND) mrc = f;
        }
        if (mrc) mirror_close(mr), mr = NULL;
    } else {
        /* a folder: through its mirror in the cache too, synced (what is
         * new only), so that verifying many files does not re-read the
         * whole log for each; the walk when the mirror cannot be used */
        char real[4096];
        prov_ctx scratch = {{0}};
        if (realpath(dir, real) && !mirror_open_sync(&mr, real, NULL, NULL, NULL, &scratch) &&
            !mirror_log_verifier(mr, &lv, &scratch)) {
            int f = mirror_find(mr, pk, &mid, &scratch);
            if (!f || f == PROV_ENOTFOUND) {
                via_mirror = have_lv = true, ws.size = mirror_size(mr);
                if (!f) id = &mid, got = true;
            }
        }
        if (!via_mirror) {
            mirror_close(mr), mr = NULL;
            if (!reg_log_verifier(dir, &lv, ctx)) have_lv = true;
        }
    }
    const char *proof = check_proof(ctx, have_lv ? &lv : NULL, m, pk);
    if (via_mirror ? !mr : (reg_state_new(&st) || reg_walk(dir, false, st, &ws, ctx))) {
        char err[600];
        snprintf(err, sizeof err, "registry %s: %s", dir, ctx ? ctx->msg : "unreadable");
        pbuf_puts(b, "{\"status\":\"unknown\"");
        kv_str(b, "key_id", kid, strlen(kid));
        kv_str(b, "error", err, strlen(err));
        pbuf_putc(b, '}');
        report_add(r, PROV_CODE_INFO, "prov.identity.unavailable", 0);
        reg_state_free(st);
        return 0;
    }
    if (!via_mirror) id = reg_state_find(st, pk);
    pbuf_puts(b, "{\"key_id\":");
    pbuf_json_str(b, kid, strlen(kid));
    kv_str(b, "proof", proof, strlen(proof));
    pbuf_printf(b, ",\"log_size\":%llu", (unsigned long long)ws.size);
    if (!id) {
        pbuf_puts(b, ",\"status\":\"unregistered\"}");
        report_add(r, PROV_CODE_INFO, "prov.identity.unregistered", 0);
        reg_state_free(st);
        mirror_close(mr);
        return 0;
    }
    const char *status = id->status == REG_ACTIVE ? "active" : id->status == REG_ROTATED ? "rotated" : "revoked";
    kv_str(b, "name", id->name, id->name ? strlen(id->name) : 0);
    kv_str(b, "org", id->org, id->org ? strlen(id->org) : 0);
    kv_str(b, "contact", id->contact, id->contact ? strlen(id->contact) : 0);
    kv_str(b, "checked_by", id->checked_by, id->checked_by ? strlen(id->checked_by) : 0);
    kv_str(b, "status", status, strlen(status));
    if (id->status == REG_REVOKED) {
        pbuf_printf(b, ",\"revoked_at\":%llu", (unsigned long long)id->revoked_effective);
        kv_str(b, "reason", id->revoked_reason, id->revoked_reason ? strlen(id->revoked_reason) : 0);
        /* no trusted time shows the signature older than the revocation */
        revoked = 1;
    } else {
        pbuf_puts(b, ",\"revoked_at\":null,\"reason\":null");
    }
    /* the most recent flags (a key flagged many times would otherwise
     * make every report as long as its history) */
    pbuf_printf(b, ",\"flags_total\":%zu,\"flags\":[", id->nflags);
    size_t from = id->nflags > IDENTITY_FLAGS_MAX ? id->nflags - IDENTITY_FLAGS_MAX : 0;
    for (size_t i = from; i < id->nflags; i++) {
        const reg_flag *f = &id->flags[i];
        char mh[65];
        hex(mh, f->media, 32);
        pbuf_printf(b, "%s{\"time\":%llu", i > from ? "," : "", (unsigned long long)f->time);
        kv_str(b, "reason", f->reason, f->reason ? strlen(f->reason) : 0);
        kv_str(b, "media_sha256", mh, 64);
        pbuf_putc(b, '}');
    }
    pbuf_puts(b, "]}");
    if (id->nflags) report_add(r, PROV_CODE_INFO, "prov.identity.flagged", 0);
    if (strcmp(proof, "verified") == 0) report_add(r, PROV_CODE_SUCCESS, "prov.identity.registered", 0);
    reg_state_free(st);
    if (got) mirror_ident_clear(&mid);
    mirror_close(mr);
    return revoked;
}
