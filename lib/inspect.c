/* inspect.c - the whole manifest store as JSON, for people and tools. */
#include "asset.h"
#include "bmff.h"
#include "cose.h"
#include "store.h"
#include "x509.h"

#include <string.h>

#define INSPECT_MAX_BYTES 64 /* longer byte strings are shown by length */

static void key(pbuf *b, const char *k, int comma)
{
    if (comma) pbuf_putc(b, ',');
    pbuf_json_str(b, k, strlen(k));
    pbuf_putc(b, ':');
}

static void str(pbuf *b, const char *s) { pbuf_json_str(b, s, strlen(s)); }

static void box_json(pbuf *b, const jsuper *s)
{
    jbox c;
    if (jsuper_first(s, &c)) { pbuf_puts(b, "null"); return; }
    cval v;
    if (c.type == BOX_CBOR && cbor_parse(c.data, c.data_len, 0, &v) == 0) {
        if (cbor_to_json(v, b, INSPECT_MAX_BYTES)) pbuf_puts(b, "null");
    } else if (c.type == BOX_JSON) {
        /* JSON from the file: shown as a string, never spliced in raw */
        pbuf_json_str(b, (const char *)c.data, c.data_len);
    } else {
        pbuf_printf(b, "\"<%zu bytes>\"", c.data_len);
    }
}

static void signature_json(pbuf *b, const c2pa_manifest *m)
{
    cose_sign1 c;
    const char *why;
    if (!m->sig_bytes || cose_parse(m->sig_bytes, m->sig_len, &c, &why)) {
        pbuf_puts(b, "null");
        return;
    }
    pbuf_putc(b, '{');
    key(b, "alg", 0);
    str(b, cose_alg_name(c.alg));
    key(b, "timestamp", 1);
    pbuf_puts(b, c.has_timestamp ? "true" : "false");
    key(b, "chain", 1);
    pbuf_putc(b, '[');
    for (size_t i = 0; i < c.ncerts; i++) {
        char cn[256], org[256], iss[256];
        if (i) pbuf_putc(b, ',');
        if (prov_x509_subject_summary(c.certs[i], c.cert_len[i], cn, sizeof cn, org, sizeof org, iss, sizeof iss)) {
            pbuf_puts(b, "null");
            continue;
        }
        pbuf_putc(b, '{');
        key(b, "subject", 0);
        str(b, cn);
        key(b, "org", 1);
        str(b, org);
        key(b, "issuer", 1);
        str(b, iss);
        pbuf_putc(b, '}');
    }
    pbuf_puts(b, "]}");
}

int prov_inspect(prov_ctx *ctx, prov_stream *in, char **json)
{
    if (!in || !json) return PROV_EINVAL;
    rdr rd;
    asset a;
    c2pa_store st;
    int rc = rdr_init(&rd, in);
    if (rc) return rc;
    if ((rc = rdr_fill(&rd, 12)) == 0 && bmff_sniff(rd.buf + rd.pos, rd.end - rd.pos)) {
        bmff_file bf;
        memset(&a, 0, sizeof a);
        if ((rc = bmff_scan(ctx, &rd, &bf, "input")) == 0) {
            a.format = FMT_BMFF;
            a.mime = bmff_mime(bf.brand);
            if (bf.c2pa >= 0 && (rc = bmff_read_store(ctx, &rd, &bf, &a.store, "input")) == 0) a.has_store = 1;
            bmff_free(&bf);
        }
        if (rc) asset_free(&a);
    } else if (!rc) {
        rc = asset_read_head(ctx, &rd, &a, "input");
    }
    rdr_free(&rd);
    if (rc) return rc;
    if (!a.has_store) {
        asset_free(&a);
        return prov_seterr(ctx, PROV_ENOTFOUND, "no manifest store");
    }
    if ((rc = store_parse(ctx, a.store.p, a.store.len, &st))) { asset_free(&a); return rc; }
    pbuf b;
    pbuf_init(&b);
    pbuf_putc(&b, '{');
    key(&b, "format", 0);
    str(&b, a.mime);
    key(&b, "store_bytes", 1);
    pbuf_printf(&b, "%zu", a.store.len);
    key(&b, "active_manifest", 1);
    str(&b, st.m[st.n - 1].label);
    key(&b, "manifests", 1);
    pbuf_putc(&b, '[');
    for (size_t i = 0; i < st.n; i++) {
        c2pa_manifest *m = &st.m[i];
        if (i) pbuf_putc(&b, ',');
        pbuf_putc(&b, '{');
        key(&b, "label", 0);
        str(&b, m->label);
        key(&b, "update", 1);
        pbuf_puts(&b, m->is_update ? "true" : "false");
        if (m->problem) {
            key(&b, "problem", 1);
            str(&b, m->problem);
        }
        key(&b, "claim_version", 1);
        pbuf_printf(&b, "%d", m->claim_version);
        key(&b, "claim", 1);
        if (!m->claim_version || cbor_to_json(m->claim, &b, INSPECT_MAX_BYTES)) pbuf_puts(&b, "null");
        key(&b, "assertions", 1);
        pbuf_putc(&b, '[');
        for (size_t k = 0; k < m->n_assertions; k++) {
            if (k) pbuf_putc(&b, ',');
            pbuf_putc(&b, '{');
            key(&b, "label", 0);
            str(&b, m->assertions[k].label);
            key(&b, "data", 1);
            box_json(&b, &m->assertions[k].sb);
            pbuf_putc(&b, '}');
        }
        pbuf_putc(&b, ']');
        key(&b, "signature", 1);
        signature_json(&b, m);
        pbuf_putc(&b, '}');
    }
    pbuf_puts(&b, "]}");
    store_free(&st);
    asset_free(&a);
    if (b.err) { pbuf_free(&b); return PROV_ENOMEM; }
    *json = (char *)pbuf_take(&b, NULL);
    return *json ? 0 : PROV_ENOMEM;
}
