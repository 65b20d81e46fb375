/* fuzz_request.c - libFuzzer harness for registration requests (what
 * `prov registry serve` takes at POST /v1/requests) and for adding a
 * registrar's signature to one (lib/registry_request.c).
 *
 * Invariants, any broken one aborts:
 *  - only the documented error codes come back;
 *  - a request that parses is a register entry whose one signer is its own
 *    key, not its registrar, with its text inside the input;
 *  - cosigning it keeps its text and its signature and adds one line, and
 *    the result parses as an entry with two signature lines;
 *  - as a registrar's refusal: a parsed one names a 16-hex-digit request
 *    and a reason inside the input. */
#include "registry.h"

#include <stdlib.h>
#include <string.h>

#define CHECK(c)           \
    do {                   \
        if (!(c)) abort(); \
    } while (0)

static bool known(int rc)
{
    return rc == 0 || rc == PROV_EFORMAT || rc == PROV_ELIMIT || rc == TLOG_EVERIFY ||
           rc == PROV_ENOTFOUND || rc == PROV_EUNSUPPORTED || rc == PROV_EINVAL || rc == PROV_ENOMEM;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 3 * REG_ENTRY_MAX) return 0;
    reg_entry e;
    prov_ctx ctx;
    int rc = reg_request_parse(data, size, &e, &ctx);
    CHECK(known(rc));
    static tlog_signer s;
    static bool have;
    if (!have) {
        uint8_t seed[32] = {5};
        CHECK(!tlog_signer_from_seed(&s, "ed25519:fuzz", TLOG_ALG_ED25519, seed));
        have = true;
    }
    pbuf b;
    pbuf_init(&b);
    int crc = reg_entry_cosign(&b, data, size, &s, &ctx);
    CHECK(known(crc));
    if (!rc) {
        CHECK(e.kind == REG_REGISTER && e.nsigners == 1);
        CHECK(!memcmp(e.signers[0], e.key, 32) && memcmp(e.key, e.registrar, 32));
        const uint8_t *t = (const uint8_t *)e.text;
        CHECK(t >= data && e.text_len <= size && (size_t)(t - data) <= size - e.text_len);
        CHECK(crc == 0 || crc == PROV_ELIMIT);
        if (!crc) {
            /* the request's bytes, then one more signature line */
            CHECK(b.len > size && !memcmp(b.p, data, size));
            reg_entry e2;
            CHECK(reg_entry_parse(b.p, b.len, false, &e2, &ctx) == 0);
            CHECK(e2.kind == REG_REGISTER && !memcmp(e2.key, e.key, 32));
        }
    }
    pbuf_free(&b);
    /* as a refusal, against the fixed key (inputs may carry its signature) */
    uint8_t rpk[32];
    memcpy(rpk, s.pub, 32);
    char id[17];
    reg_str reason;
    rc = reg_refusal_parse(data, size, rpk, id, &reason, &ctx);
    CHECK(known(rc));
    if (!rc) {
        CHECK(strlen(id) == 16 && strspn(id, "0123456789abcdef") == 16);
        const uint8_t *r = (const uint8_t *)reason.p;
        CHECK(r >= data && reason.n >= 1 && reason.n <= size && (size_t)(r - data) <= size - reason.n);
    }
    return 0;
}
