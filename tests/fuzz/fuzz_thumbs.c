/* fuzz_thumbs.c - libFuzzer harness for prov_thumbnails_json: a whole file
 * (JPEG, PNG or BMFF) from memory.  The call succeeds with a JSON object of
 * the documented shape, or fails with a negative code; each data: URI must
 * be an image/ type with base64 that ends where the string ends. */
#include "prov.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return 0;
    prov_stream s;
    prov_stream_mem(&s, data, size);
    char *json = NULL;
    int rc = prov_thumbnails_json(ctx, &s, 1 << 16, &json);
    if (rc == 0) {
        CHECK(json);
        size_t n = strlen(json);
        CHECK(n >= 24 && !strncmp(json, "{\"active\":\"", 11) && !strcmp(json + n - 2, "}}"));
        CHECK(strstr(json, ",\"claims\":{"));
        for (const char *p = json; (p = strstr(p, "\"data:")); p++) {
            CHECK(!strncmp(p + 6, "image/", 6));
            const char *b = strstr(p, ";base64,");
            CHECK(b);
            const char *e = b + 8;
            while ((*e >= 'A' && *e <= 'Z') || (*e >= 'a' && *e <= 'z') || (*e >= '0' && *e <= '9') || *e == '+' ||
                   *e == '/' || *e == '=')
                e++;
            CHECK(*e == '"');
        }
    } else {
        CHECK(rc < 0 && !json);
    }
    prov_free(json);
    prov_ctx_free(ctx);
    return 0;
}
