/* fuzz_json.c - libFuzzer harness for the reader of the registry server's
 * JSON answers (cli/http_client.c: json_str, json_u64), which the
 * `prov register|approve|pending|revoke|flag URL` commands run on what a
 * server (or whoever answers at the URL) sends.
 *
 * Invariants, any broken one aborts: a string value comes back
 * NUL-terminated and no longer than the input; reading never goes past
 * the input (ASan). */
#include "../../cli/http_client.c"

#include <stdarg.h>

/* cli/main.c's, which the harness does not link */
int err(const char *fmt, ...)
{
    (void)fmt;
    return 2;
}

#define CHECK(c)           \
    do {                   \
        if (!(c)) abort(); \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20)) return 0;
    /* an exact-size copy, so that ASan sees any read past the end */
    char *j = malloc(size ? size : 1);
    if (!j) return 0;
    memcpy(j, data, size);
    static const char *const keys[] = {"status", "entry", "proof", "chain", "error", "id", "key", "reason", "name"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char *v = json_str(j, size, keys[i]);
        if (v) CHECK(strlen(v) <= size);
        free(v);
    }
    uint64_t u;
    (void)json_u64(j, size, "index", &u);
    free(j);
    return 0;
}
