/* fuzz_trustconf.c - libFuzzer harness for trust configuration files
 * (lib/trust_config.c) and the EKU list parser.  The input is written to a
 * file and loaded; any error must be one of the documented codes with a
 * message, never a crash or a read of files outside the harness's own
 * (only names in the input that do not exist are tried). */
#include "x509.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0]) snprintf(path, sizeof path, "/tmp/fuzz_trustconf.%d.conf", (int)getpid());
    FILE *f = fopen(path, "wb");
    CHECK(f);
    fwrite(data, 1, size, f);
    fclose(f);
    prov_ctx *ctx;
    prov_trust *t;
    CHECK(prov_ctx_new(&ctx) == 0 && prov_trust_new(&t) == 0);
    int rc = prov_trust_load_config(ctx, t, path);
    CHECK(rc == 0 || rc == PROV_EFORMAT || rc == PROV_ENOTFOUND || rc == PROV_EIO || rc == PROV_ELIMIT ||
          rc == PROV_ENOMEM || rc == PROV_ECERT);
    if (rc) CHECK(prov_errmsg(ctx)[0]);
    /* the same bytes as an EKU list */
    char *s = malloc(size + 1);
    CHECK(s);
    memcpy(s, data, size);
    s[size] = 0;
    rc = prov_trust_set_ekus(ctx, t, s);
    CHECK(rc == 0 || rc == PROV_EFORMAT || rc == PROV_ELIMIT || rc == PROV_ENOMEM);
    free(s);
    prov_trust_free(t);
    prov_ctx_free(ctx);
    unlink(path);
    return 0;
}
