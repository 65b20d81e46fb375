/* fuzz_note.c - libFuzzer harness for signed notes, keys and base64.
 *
 * The input is tried as: a signed note (opened with a fixed key list and
 * with a lookup that answers every name, to reach the mismatch checks),
 * a verifier key, a signer key, and base64.  Invariants, any broken one
 * aborts:
 *  - only the documented error codes come back;
 *  - everything a parsed note points at lies inside the input;
 *  - a parsed note re-signed with its own signatures kept opens the same
 *    way, and signed anew by a known key opens verified;
 *  - keys and base64 that parse format back to what parses the same, and
 *    canonical base64 re-encodes to the very input. */
#include "tlog.h"

#include <stdlib.h>
#include <string.h>

#define CHECK(c)           \
    do {                   \
        if (!(c)) abort(); \
    } while (0)

static bool inited;
static tlog_signer s_ed, s_co;
static tlog_verifier keys[3];

static void init(void)
{
    if (inited) return;
    uint8_t seed[32] = {0x81, 0x0a, 0x14, 0x02};
    CHECK(!tlog_signer_from_seed(&s_ed, "PeterNeumann", TLOG_ALG_ED25519, seed));
    seed[0] = 0x42;
    CHECK(!tlog_signer_from_seed(&s_co, "witness.example/w1", TLOG_ALG_COSIG, seed));
    tlog_signer_verifier(&s_ed, &keys[0]);
    tlog_signer_verifier(&s_co, &keys[1]);
    /* the sumdb test key (EnochRoot), as a plain verifier */
    static const char enoch[] = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    CHECK(!tlog_verifier_parse(&keys[2], enoch, sizeof enoch - 1));
    inited = true;
}

static bool inside(const void *p, size_t n, const uint8_t *data, size_t size)
{
    const uint8_t *q = p;
    return q >= data && n <= size && (size_t)(q - data) <= size - n;
}

static int lookup_any(void *user, const char *name, size_t nl, uint32_t id,
                      const tlog_verifier **out)
{
    (void)name, (void)nl;
    *out = (id & 1) ? user : NULL; /* half unknown, half "found" but maybe wrong */
    return (id & 1) ? 0 : PROV_ENOTFOUND;
}

static void check_note(const tlog_note *n, int rc, const uint8_t *data, size_t size)
{
    if (rc != 0 && rc != PROV_ENOTFOUND) {
        CHECK(n->text == NULL && n->nsigs == 0);
        return;
    }
    CHECK(n->text == (const char *)data);
    CHECK(n->text_len >= 1 && n->text_len < size && n->text[n->text_len - 1] == '\n');
    CHECK(n->nsigs >= 1);
    CHECK(n->nsigs <= TLOG_MAX_SIGS);
    size_t ver = 0;
    for (size_t i = 0; i < n->nsigs; i++) {
        const tlog_sig *s = &n->sigs[i];
        CHECK(inside(s->name, s->name_len, data, size));
        CHECK(inside(s->b64, s->b64_len, data, size));
        CHECK(tlog_name_valid(s->name, s->name_len));
        if (s->by) {
            ver++;
            CHECK(s->by->id == s->id);
            CHECK(s->time == 0 || s->by->alg == TLOG_ALG_COSIG);
        } else {
            CHECK(s->time == 0);
        }
    }
    CHECK(ver == n->nverified);
    CHECK((rc == 0) == (ver > 0));
}

static void fuzz_note(const uint8_t *data, size_t size)
{
    static tlog_note n, n2;
    tlog_verifiers vs = {keys, 3, NULL, NULL};
    int rc = tlog_note_open(data, size, &vs, &n, NULL);
    CHECK(rc == 0 || rc == PROV_EFORMAT || rc == PROV_ELIMIT || rc == PROV_ENOTFOUND ||
          rc == TLOG_EVERIFY);
    check_note(&n, rc, data, size);

    tlog_verifiers any = {NULL, 0, lookup_any, &keys[0]};
    int rc2 = tlog_note_open(data, size, &any, &n2, NULL);
    CHECK(rc2 == 0 || rc2 == PROV_EFORMAT || rc2 == PROV_ELIMIT || rc2 == PROV_ENOTFOUND ||
          rc2 == TLOG_EVERIFY || rc2 == PROV_EINVAL);
    check_note(&n2, rc2, data, size);
    /* the same message parses the same way whatever the keys */
    if (rc2 == PROV_EFORMAT || rc2 == PROV_ELIMIT) CHECK(rc == rc2);

    if (rc != 0 && rc != PROV_ENOTFOUND) return;
    /* keep every signature: the copy opens the same way */
    pbuf b;
    pbuf_init(&b);
    int sr = tlog_note_sign(&b, n.text, n.text_len, n.sigs, n.nsigs, NULL, 0, 0, NULL);
    CHECK(sr == 0);
    int rc3 = tlog_note_open(b.p, b.len, &vs, &n2, NULL);
    CHECK(rc3 == rc);
    CHECK(n2.nsigs == n.nsigs && n2.nverified == n.nverified);
    CHECK(n2.text_len == n.text_len && !memcmp(n2.text, n.text, n.text_len));
    pbuf_free(&b);

    /* sign anew (the cosigner only when the text is a checkpoint) */
    tlog_signer both[2] = {s_ed, s_co};
    tlog_checkpoint cp;
    size_t ns = tlog_checkpoint_parse(n.text, n.text_len, &cp, NULL) == 0 ? 2 : 1;
    pbuf_init(&b);
    sr = tlog_note_sign(&b, n.text, n.text_len, n.sigs, n.nsigs, both, ns, 1700000000, NULL);
    if (sr == 0) {
        /* kept lines verified (or were unknown) before, old lines by the
         * signing keys were replaced: it opens, verified by the signers */
        rc3 = tlog_note_open(b.p, b.len, &vs, &n2, NULL);
        CHECK(rc3 == 0);
        CHECK(tlog_note_sig_by(&n2, &keys[0]) != NULL);
        if (ns == 2) {
            const tlog_sig *s = tlog_note_sig_by(&n2, &keys[1]);
            CHECK(s && s->time == 1700000000);
        }
    } else {
        CHECK(sr == PROV_ELIMIT);
    }
    pbuf_free(&b);
}

static void fuzz_keys(const uint8_t *data, size_t size)
{
    tlog_verifier v, v2;
    int rc = tlog_verifier_parse(&v, (const char *)data, size);
    CHECK(rc == 0 || rc == PROV_EFORMAT || rc == PROV_EUNSUPPORTED || rc == PROV_ELIMIT);
    if (rc == 0) {
        pbuf b;
        pbuf_init(&b);
        tlog_verifier_format(&b, &v);
        CHECK(!b.err);
        CHECK(tlog_verifier_parse(&v2, (const char *)b.p, b.len) == 0);
        CHECK(v2.id == v.id && v2.alg == v.alg && !memcmp(v2.pub, v.pub, 32) &&
              v2.name_len == v.name_len && !strcmp(v2.name, v.name));
        pbuf_free(&b);
    }
    tlog_signer s, s2;
    rc = tlog_signer_parse(&s, (const char *)data, size);
    CHECK(rc == 0 || rc == PROV_EFORMAT || rc == PROV_EUNSUPPORTED || rc == PROV_ELIMIT);
    if (rc == 0) {
        pbuf b;
        pbuf_init(&b);
        CHECK(tlog_signer_format(&b, &s) == 0);
        CHECK(tlog_signer_parse(&s2, (const char *)b.p, b.len) == 0);
        CHECK(s2.id == s.id && !memcmp(s2.pub, s.pub, 32));
        pbuf_free(&b);
        tlog_signer_wipe(&s2);
    }
    tlog_signer_wipe(&s);
}

static void fuzz_b64(const uint8_t *data, size_t size)
{
    size_t n;
    uint8_t *out = malloc(size + 1);
    CHECK(out);
    int rc = tlog_b64_decode((const char *)data, size, out, size, &n);
    CHECK(rc == 0 || rc == PROV_EFORMAT);
    if (rc == 0) {
        CHECK(n <= size);
        pbuf b;
        pbuf_init(&b);
        tlog_b64_encode(&b, out, n);
        CHECK(!b.err && b.len == size && (size == 0 || !memcmp(b.p, data, size)));
        pbuf_free(&b);
    }
    /* and encoding anything decodes back */
    pbuf b;
    pbuf_init(&b);
    tlog_b64_encode(&b, data, size);
    uint8_t *back = malloc(size + 1);
    CHECK(back && !b.err);
    CHECK(tlog_b64_decode((const char *)b.p, b.len, back, size, &n) == 0 && n == size);
    CHECK(size == 0 || !memcmp(back, data, size));
    free(back);
    pbuf_free(&b);
    free(out);
    /* the text rules agree with each other */
    if (tlog_name_valid((const char *)data, size))
        CHECK(!memchr(data, '+', size) && !memchr(data, ' ', size) && !memchr(data, '\n', size));
    if (tlog_text_valid((const char *)data, size))
        for (size_t i = 0; i < size; i++) CHECK(data[i] >= 0x20 || data[i] == '\n');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    fuzz_note(data, size);
    fuzz_keys(data, size);
    fuzz_b64(data, size);
    return 0;
}
