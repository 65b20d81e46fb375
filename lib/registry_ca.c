/* registry_ca.c - the registry as CA (leaf certificates for x5chain) and
 * the hashes a flag entry names. */
#include "registry.h"
#include "asset.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 4514 value escaping, as cert.c's parse_dn reads it. */
static void put_dn_value(pbuf *b, const char *v)
{
    for (; *v; v++) {
        if (strchr(",\\=+<>#;\"", *v) || (*v == ' ' && (!v[1]))) pbuf_putc(b, '\\');
        pbuf_putc(b, (uint8_t)*v);
    }
}

int reg_ca_open(reg_ca *ca, prov_ctx *ctx, const char *dir, const prov_key *ca_key)
{
    char path[4096];
    memset(ca, 0, sizeof *ca);
    snprintf(path, sizeof path, "%s/root.pem", dir);
    int rc = prov_chain_load_pem(ctx, path, &ca->root);
    size_t ca_len;
    const uint8_t *ca_der = rc ? NULL : prov_chain_der(ca->root, 0, &ca_len);
    if (!rc && !ca_der) rc = prov_seterr(ctx, PROV_ECERT, "%s: no certificate", path);
    if (!rc) rc = prov_cert_to_pem(ca_der, ca_len, &ca->root_pem);
    if (rc) {
        reg_ca_close(ca);
        return rc;
    }
    ca->key = ca_key;
    return 0;
}

void reg_ca_close(reg_ca *ca)
{
    prov_chain_free(ca->root);
    prov_free(ca->root_pem);
    memset(ca, 0, sizeof *ca);
}

int reg_ca_issue_with(const reg_ca *ca, prov_ctx *ctx, const reg_pub *k, const char *name,
                      const char *org, int days, char **pem)
{
    pbuf subj;
    pbuf_init(&subj);
    pbuf_puts(&subj, "CN=");
    put_dn_value(&subj, name);
    if (org && *org) {
        pbuf_puts(&subj, ",O=");
        put_dn_value(&subj, org);
    }
    pbuf_putc(&subj, 0);
    size_t ca_len;
    const uint8_t *ca_der = prov_chain_der(ca->root, 0, &ca_len);
    uint8_t *der = NULL;
    size_t der_len;
    char *leaf_pem = NULL;
    int rc = subj.err;
    if (!rc)
        rc = reg_pub_is_ecdsa(k) ? prov_cert_make_leaf_spki(ctx, ca->key, ca_der, ca_len, k->spki, k->spki_len,
                                                            (char *)subj.p, days, &der, &der_len)
                                 : prov_cert_make_leaf(ctx, ca->key, ca_der, ca_len, k->id, (char *)subj.p, days,
                                                       &der, &der_len);
    if (!rc) rc = prov_cert_to_pem(der, der_len, &leaf_pem);
    if (!rc) {
        size_t a = strlen(leaf_pem), b = strlen(ca->root_pem);
        char *out = malloc(a + b + 1);
        if (!out) rc = PROV_ENOMEM;
        else memcpy(out, leaf_pem, a), memcpy(out + a, ca->root_pem, b + 1), *pem = out;
    }
    prov_free(der);
    prov_free(leaf_pem);
    pbuf_free(&subj);
    return rc;
}

int reg_ca_issue(prov_ctx *ctx, const char *dir, const prov_key *ca_key, const reg_pub *k,
                 const char *name, const char *org, int days, char **pem)
{
    reg_ca ca;
    int rc = reg_ca_open(&ca, ctx, dir, ca_key);
    if (rc) return rc;
    rc = reg_ca_issue_with(&ca, ctx, k, name, org, days, pem);
    reg_ca_close(&ca);
    return rc;
}

int reg_media_hashes(prov_ctx *ctx, const char *path, uint8_t media[32], uint8_t manifest[32],
                     bool *has_manifest)
{
    *has_manifest = false;
    FILE *f = fopen(path, "rb");
    if (!f) return prov_seterr(ctx, PROV_EIO, "%s: %s", path, strerror(errno));
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    uint8_t buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) crypto_hash_sha256_update(&st, buf, n);
    int rc = ferror(f) ? prov_seterr(ctx, PROV_EIO, "%s: read error", path) : 0;
    crypto_hash_sha256_final(&st, media);
    if (!rc && fseek(f, 0, SEEK_SET) == 0) {
        /* the manifest store, where we can find it (JPEG, PNG) */
        prov_stream s;
        prov_stream_file(&s, f);
        rdr r;
        asset a;
        memset(&a, 0, sizeof a);
        if (rdr_init(&r, &s) == 0) {
            if (asset_read_head(NULL, &r, &a, path) == 0 && a.has_store) {
                crypto_hash_sha256(manifest, a.store.p, a.store.len);
                *has_manifest = true;
            }
            asset_free(&a);
            rdr_free(&r);
        }
    }
    fclose(f);
    return rc;
}
