/* fuzz_key.c - libFuzzer harness for key files (lib/key.c: the armor, the
 * record header, plain Ed25519 and ECDSA bodies), which `prov sign --key`
 * reads from wherever the user points it.
 *
 * The input is written to a file and loaded without a passphrase, so a
 * sealed record stops before Argon2id (its KDF bounds are still checked by
 * prov_key_file_encrypted).  Invariants, any broken one aborts: an error is
 * a documented code with a message; a loaded key signs, and its signer's
 * length matches its algorithm; saving it and loading it back gives the
 * same public key. */
#include "x509.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (64u << 10) + 16) return 0;
    static char path[64], back[64];
    if (!path[0]) {
        snprintf(path, sizeof path, "/tmp/fuzz_key.%d.key", (int)getpid());
        snprintf(back, sizeof back, "/tmp/fuzz_key.%d.back", (int)getpid());
    }
    FILE *f = fopen(path, "wb");
    CHECK(f);
    fwrite(data, 1, size, f);
    fclose(f);
    prov_ctx *ctx;
    CHECK(prov_ctx_new(&ctx) == 0);
    int enc = prov_key_file_encrypted(path);
    CHECK(enc == 0 || enc == 1 || enc == PROV_EFORMAT || enc == PROV_ELIMIT || enc == PROV_EUNSUPPORTED ||
          enc == PROV_EIO);
    prov_key *k = NULL;
    int rc = prov_key_load(ctx, path, NULL, &k);
    if (rc) {
        CHECK(!k && rc < 0 && prov_errmsg(ctx)[0]);
        CHECK(rc == PROV_EFORMAT || rc == PROV_ELIMIT || rc == PROV_EUNSUPPORTED || rc == PROV_EPASSPHRASE ||
              rc == PROV_EIO || rc == PROV_ENOMEM);
    } else {
        CHECK(enc == 0);
        int alg = prov_key_alg(k);
        CHECK(alg == PROV_ALG_ED25519 || alg == PROV_ALG_ES256 || alg == PROV_ALG_ES384);
        prov_signer s;
        prov_signer_from_key(&s, k);
        CHECK(s.alg == alg && s.sig_len == (alg == PROV_ALG_ES384 ? 96u : 64u));
        uint8_t sig[96];
        CHECK(s.sign(s.user, data, size, sig, s.sig_len) == 0);
        unlink(back);
        CHECK(prov_key_save(ctx, k, back, NULL) == 0);
        prov_key *k2 = NULL;
        CHECK(prov_key_load(ctx, back, NULL, &k2) == 0);
        uint8_t a[32], b[32];
        prov_key_public(k, a);
        prov_key_public(k2, b);
        CHECK(!memcmp(a, b, 32) && prov_key_alg(k2) == alg);
        prov_key_free(k2);
        unlink(back);
    }
    prov_key_free(k);
    prov_ctx_free(ctx);
    return 0;
}
