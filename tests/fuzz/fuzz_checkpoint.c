/* fuzz_checkpoint.c - libFuzzer harness for checkpoints, cosignatures and
 * tlog-proofs.
 *
 * The input is tried as: a checkpoint body, a signed checkpoint (opened
 * with a fixed log key and witness), and a tlog-proof (parsed, then
 * verified for a leaf).  Invariants, any broken one aborts:
 *  - only the documented error codes come back;
 *  - a body that parses formats back to exactly the input (one encoding
 *    per tree head), and signs and opens;
 *  - a tlog-proof that parses formats back to exactly the input;
 *  - a cosignature made over a parsed body verifies, with its time. */
#include "tlog.h"

#include <stdlib.h>
#include <string.h>

#define CHECK(c)           \
    do {                   \
        if (!(c)) abort(); \
    } while (0)

static bool inited;
static tlog_signer s_log, s_w;
static tlog_verifier v_log, v_w;

static void init(void)
{
    if (inited) return;
    uint8_t seed[32] = {1, 2, 3};
    CHECK(!tlog_signer_from_seed(&s_log, "example.com/log", TLOG_ALG_ED25519, seed));
    seed[0] = 9;
    CHECK(!tlog_signer_from_seed(&s_w, "witness.example/w", TLOG_ALG_COSIG, seed));
    tlog_signer_verifier(&s_log, &v_log);
    tlog_signer_verifier(&s_w, &v_w);
    inited = true;
}

static void fuzz_body(const uint8_t *data, size_t size)
{
    tlog_checkpoint cp;
    int rc = tlog_checkpoint_parse((const char *)data, size, &cp, NULL);
    CHECK(rc == 0 || rc == PROV_EFORMAT || rc == PROV_ELIMIT);
    if (rc) return;
    CHECK(cp.origin == (const char *)data && cp.origin_len > 0);
    CHECK(cp.ext + cp.ext_len == (const char *)data + size);
    pbuf b;
    pbuf_init(&b);
    CHECK(tlog_checkpoint_format(&b, cp.origin, cp.origin_len, cp.size, cp.root, cp.ext,
                                 cp.ext_len) == 0);
    CHECK(b.len == size && !memcmp(b.p, data, size));
    pbuf_free(&b);

    /* cosign it; the cosignature verifies with its time, and not another */
    uint8_t sig[72];
    uint64_t t = size * 7919u;
    CHECK(tlog_cosig_sign(&s_w, t, (const char *)data, size, sig) == 0);
    uint64_t got;
    CHECK(tlog_cosig_verify(&v_w, (const char *)data, size, sig, 72, &got) == 0 && got == t);
    sig[7] ^= 1;
    CHECK(tlog_cosig_verify(&v_w, (const char *)data, size, sig, 72, &got) == TLOG_EVERIFY);

    /* sign and open with the log key when the origin allows a NUL-free copy */
    if (cp.origin_len < 512 && !memchr(cp.origin, 0, cp.origin_len)) {
        char origin[512];
        memcpy(origin, cp.origin, cp.origin_len);
        origin[cp.origin_len] = 0;
        pbuf_init(&b);
        rc = tlog_checkpoint_sign(&b, &s_log, origin, cp.size, cp.root, cp.ext, cp.ext_len, NULL);
        CHECK(rc == 0 || rc == PROV_ELIMIT);
        if (rc == 0) {
            CHECK(tlog_cosig_line(&b, &s_w, t, (const char *)data, size) == 0);
            static tlog_note n;
            tlog_checkpoint cp2;
            rc = tlog_checkpoint_open(b.p, b.len, origin, &v_log, &v_w, 1, &n, &cp2, NULL);
            CHECK(rc == 0 || rc == PROV_ELIMIT);
            if (rc == 0) {
                CHECK(cp2.size == cp.size && !memcmp(cp2.root, cp.root, 32));
                const tlog_sig *s = tlog_note_sig_by(&n, &v_w);
                CHECK(s && s->time == t);
            }
        }
        pbuf_free(&b);
    }
}

static void fuzz_signed(const uint8_t *data, size_t size)
{
    static tlog_note n;
    tlog_checkpoint cp;
    int rc = tlog_checkpoint_open(data, size, "example.com/log", &v_log, &v_w, 1, &n, &cp, NULL);
    CHECK(rc == 0 || rc == PROV_EFORMAT || rc == PROV_ELIMIT || rc == PROV_ENOTFOUND ||
          rc == TLOG_EVERIFY);
    if (rc == 0) {
        CHECK(tlog_note_sig_by(&n, &v_log) != NULL);
        CHECK(cp.origin_len == 15 && !memcmp(cp.origin, "example.com/log", 15));
    }
}

static void fuzz_proof(const uint8_t *data, size_t size)
{
    static tlog_proof pr;
    int rc = tlog_proof_parse(data, size, &pr, NULL);
    CHECK(rc == 0 || rc == PROV_EFORMAT || rc == PROV_ELIMIT);
    if (rc == 0) {
        CHECK(pr.nproof <= 64);
        CHECK(pr.checkpoint_len >= 1 && pr.checkpoint + pr.checkpoint_len == data + size);
        size_t xl = 0;
        uint8_t *extra = NULL;
        if (pr.has_extra) {
            CHECK(tlog_b64_decode(pr.extra, pr.extra_len, NULL, 0, &xl) == 0);
            extra = malloc(xl + 1);
            CHECK(extra);
            CHECK(tlog_b64_decode(pr.extra, pr.extra_len, extra, xl, &xl) == 0);
        }
        pbuf b;
        pbuf_init(&b);
        CHECK(tlog_proof_format(&b, pr.index, pr.proof[0], pr.nproof, pr.has_extra, extra, xl,
                                pr.checkpoint, pr.checkpoint_len) == 0);
        CHECK(b.len == size && !memcmp(b.p, data, size));
        pbuf_free(&b);
        free(extra);
    }
    uint8_t leaf[32];
    tlog_leaf_hash(data, size < 16 ? size : 16, leaf);
    static tlog_note n;
    tlog_checkpoint cp;
    rc = tlog_proof_verify(data, size, leaf, "example.com/log", &v_log, &v_w, 1, &pr, &n, &cp, NULL);
    CHECK(rc == 0 || rc == PROV_EFORMAT || rc == PROV_ELIMIT || rc == PROV_ENOTFOUND ||
          rc == TLOG_EVERIFY);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    fuzz_body(data, size);
    fuzz_signed(data, size);
    fuzz_proof(data, size);
    return 0;
}
