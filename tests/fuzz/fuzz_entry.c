/* fuzz_entry.c - libFuzzer harness for registry entries, policies and
 * registration proofs (lib/registry.h).
 *
 * The input is tried as: an entry, parsed with and without signature
 * checks; a policy file; a tlog-proof of a registration.  Invariants, any
 * broken one aborts:
 *  - only the documented error codes come back;
 *  - a parsed entry's text and text fields lie inside the input;
 *  - the fields of an entry that parses format back to the very same
 *    text (one encoding per entry), and the rebuilt entry parses again. */
#include "registry.h"

#include <stdlib.h>
#include <string.h>

#define CHECK(c)           \
    do {                   \
        if (!(c)) abort(); \
    } while (0)

static bool inside(const void *p, size_t n, const uint8_t *data, size_t size)
{
    const uint8_t *q = p;
    return q >= data && n <= size && (size_t)(q - data) <= size - n;
}

static bool known(int rc)
{
    return rc == 0 || rc == PROV_EFORMAT || rc == PROV_ELIMIT || rc == TLOG_EVERIFY ||
           rc == PROV_ENOTFOUND || rc == PROV_EUNSUPPORTED || rc == PROV_EINVAL;
}

static void check_entry(const uint8_t *data, size_t size, bool verify)
{
    reg_entry e;
    prov_ctx ctx;
    int rc = reg_entry_parse(data, size, verify, &e, &ctx);
    CHECK(known(rc));
    if (rc) return;
    CHECK(e.kind >= REG_REGISTER && e.kind <= REG_FLAG);
    CHECK(inside(e.text, e.text_len, data, size));
    reg_str *strs[] = {&e.name, &e.org, &e.contact, &e.checked_by, &e.reason, &e.log};
    for (size_t i = 0; i < 6; i++)
        if (strs[i]->p) CHECK(inside(strs[i]->p, strs[i]->n, data, size));
    /* rebuild with a fixed key: the text must come back byte for byte */
    tlog_signer s;
    uint8_t seed[32] = {7};
    CHECK(!tlog_signer_from_seed(&s, "ed25519:fuzz", TLOG_ALG_ED25519, seed));
    pbuf b;
    pbuf_init(&b);
    rc = reg_entry_build(&b, &e, &s, 1, &ctx);
    CHECK(rc == 0 || rc == PROV_ELIMIT);
    if (!rc) {
        CHECK(b.len > e.text_len && !memcmp(b.p, e.text, e.text_len) && b.p[e.text_len] == '\n');
        reg_entry e2;
        CHECK(reg_entry_parse(b.p, b.len, false, &e2, &ctx) == 0);
        CHECK(e2.kind == e.kind && !memcmp(e2.key, e.key, 32) && e2.time == e.time);
    }
    pbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 3 * REG_ENTRY_MAX) return 0;
    check_entry(data, size, false);
    check_entry(data, size, true);
    reg_policy p;
    prov_ctx ctx;
    int rc = reg_policy_parse((const char *)data, size, &p, &ctx);
    CHECK(known(rc) || rc == PROV_ENOMEM);
    if (!rc) reg_policy_free(&p);
    /* as a registration proof, against a fixed log key */
    static tlog_verifier v;
    static bool have;
    if (!have) {
        tlog_signer s;
        uint8_t seed[32] = {9};
        CHECK(!tlog_signer_from_seed(&s, "example.com/registry", TLOG_ALG_ED25519, seed));
        tlog_signer_verifier(&s, &v);
        have = true;
    }
    uint8_t *eb = NULL;
    size_t el;
    reg_entry e;
    rc = reg_proof_verify(data, size, "example.com/registry", &v, &eb, &el, &e, &ctx);
    CHECK(known(rc) || rc == PROV_ENOMEM);
    CHECK(rc == 0 || eb == NULL);
    free(eb);
    return 0;
}
