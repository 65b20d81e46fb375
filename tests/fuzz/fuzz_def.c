/* fuzz_def.c - libFuzzer harness for manifest definitions (lib/sign_def.c,
 * `prov sign -m`): the JSON is parsed and the assertions and actions it
 * names are built as for signing (build_fixed: actions CBOR, JSON and CBOR
 * assertion bodies).
 *
 * Invariants, any broken one aborts: an accepted definition yields
 * well-formed CBOR (cbor_parse takes it whole) and bounded counts; nothing reads
 * past the input (ASan). */
#include "cbor.h"
#include "sign.h"

#include <stdlib.h>
#include <string.h>

#define CHECK(c)           \
    do {                   \
        if (!(c)) abort(); \
    } while (0)

/* The whole buffer is one CBOR item (the parser checks every length). */
static int cbor_whole(const pbuf *b)
{
    cval v;
    return cbor_parse(b->p, b->len, 0, &v) || v.len != b->len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20)) return 0;
    char *j = malloc(size ? size : 1); /* exact size: ASan sees overreads */
    if (!j) return 0;
    memcpy(j, data, size);
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return free(j), 0;
    prov_sign_opts o = {0};
    o.definition = j;
    o.definition_len = size ? size : 1;
    if (!size) j[0] = 0;
    sctx s;
    sctx_init(&s, ctx, &o, NULL, NULL);
    int rc = build_fixed(&s);
    if (!rc) {
        CHECK(s.nextra <= DEF_MAX_ASSERTIONS && s.ndef_actions <= DEF_MAX_ACTIONS);
        CHECK(s.actions.len > 0 && !s.actions.err);
        CHECK(cbor_whole(&s.actions) == 0);
        for (size_t i = 0; i < s.nextra; i++)
            if (!s.extra[i].json) CHECK(cbor_whole(&s.extra[i].body) == 0);
    } else {
        CHECK(rc < 0);
    }
    sctx_free(&s);
    /* the ingredient paths a caller opens */
    char **paths = NULL;
    size_t np = 0;
    rc = prov_definition_ingredient_paths(ctx, j, o.definition_len, &paths, &np);
    CHECK(rc <= 0 && np <= SIGN_MAX_INGREDIENTS && (rc == 0 || (!paths && !np)));
    for (size_t i = 0; i < np; i++) CHECK(paths[i] && strlen(paths[i]) >= 1 && strlen(paths[i]) <= 4096);
    prov_definition_paths_free(paths, np);
    prov_ctx_free(ctx);
    free(j);
    return 0;
}
