/* fuzz_vc.c - libFuzzer harness for the JSON reader (lib/json.c) and the
 * CAWG identity claims aggregation check (lib/cawg_ica.c).
 *
 * The input is used twice: as JSON text for json_parse (every node it
 * returns must be consistent: counts, strings NUL-terminated inside the
 * allocation), and as the payload of a COSE_Sign1 built around it (EdDSA,
 * content type application/vc, a fixed signature) given to cawg_check_ica
 * against a fixed signer_payload: any outcome is fine but a crash, an
 * unbounded report or a "credential_valid" for a signature that cannot
 * verify. */
#include "cawg.h"
#include "cbor.h"
#include "cose.h"
#include "json.h"
#include "report.h"

#include <string.h>

#include "fuzz_check.h"

static size_t walk(const json_node *n, int depth)
{
    CHECK(depth <= JSON_MAX_DEPTH + 1);
    size_t count = 1, kids = 0;
    if (n->type == JSON_STRING) CHECK(n->str && n->str[n->len] == 0);
    for (const json_node *c = n->child; c; c = c->next) {
        if (n->type == JSON_OBJECT) CHECK(c->key != NULL);
        else CHECK(c->key == NULL);
        count += walk(c, depth + 1);
        kids++;
    }
    if (n->type == JSON_ARRAY || n->type == JSON_OBJECT) CHECK(kids == n->len);
    else CHECK(n->child == NULL);
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_doc d;
    const char *why = NULL;
    int rc = json_parse((const char *)data, size, &d, &why);
    CHECK(rc == 0 || rc == PROV_EFORMAT || rc == PROV_ELIMIT || rc == PROV_ENOMEM);
    if (rc == 0) {
        CHECK(walk(d.root, 0) <= JSON_MAX_NODES);
        json_free(&d);
    } else if (rc == PROV_EFORMAT) {
        CHECK(why && *why);
    }

    /* the bytes as a credential: COSE_Sign1 {1: -8, 3: "application/vc"} */
    pbuf prot, cose, sp;
    pbuf_init(&prot);
    pbuf_init(&cose);
    pbuf_init(&sp);
    cbor_put_map(&prot, 2);
    cbor_put_int(&prot, 1);
    cbor_put_int(&prot, -8);
    cbor_put_int(&prot, 3);
    cbor_put_text(&prot, "application/vc");
    uint8_t sig[64];
    memset(sig, 0xA5, sizeof sig);
    cbor_put_tag(&cose, 18);
    cbor_put_array(&cose, 4);
    cbor_put_bytes(&cose, prot.p, prot.len);
    cbor_put_map(&cose, 0);
    cbor_put_bytes(&cose, data, size);
    cbor_put_bytes(&cose, sig, sizeof sig);
    uint8_t h[32];
    memset(h, 0x11, sizeof h);
    cbor_put_map(&sp, 2);
    cbor_put_text(&sp, "referenced_assertions");
    cbor_put_array(&sp, 1);
    cbor_put_map(&sp, 2);
    cbor_put_text(&sp, "url");
    cbor_put_text(&sp, "self#jumbf=c2pa.assertions/c2pa.hash.data");
    cbor_put_text(&sp, "hash");
    cbor_put_bytes(&sp, h, sizeof h);
    cbor_put_text(&sp, "sig_type");
    cbor_put_text(&sp, "cawg.identity_claims_aggregation");
    cval v;
    if (!prot.err && !cose.err && !sp.err && cbor_parse(sp.p, sp.len, 0, &v) == 0) {
        prov_report *r = report_new();
        CHECK(r);
        cawg_check_ica(cose.p, cose.len, v, r, 0, "urn:c2pa:fuzz");
        CHECK(r->ncodes < 64);
        CHECK(!prov_report_has_code(r, "cawg.ica.credential_valid")); /* a made-up signature never verifies */
        prov_report_free(r);
        /* and the raw bytes as the signature itself */
        r = report_new();
        cawg_check_ica(data, size, v, r, 1, "urn:c2pa:fuzz");
        CHECK(r->ncodes < 64);
        prov_report_free(r);
    }
    pbuf_free(&prot);
    pbuf_free(&cose);
    pbuf_free(&sp);
    return 0;
}
