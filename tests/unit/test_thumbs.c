/* test_thumbs.c - prov_thumbnails_json: the claim thumbnail of every
 * manifest as a data: URI, keyed by manifest label (what prov serve's page
 * shows for a file and its ingredients). */
#include "testutil.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static prov_ctx *ctx;
static tu_identity id;
static uint8_t *jpeg;
static size_t jpeg_len;

static int setup(void **state)
{
    (void)state;
    if (prov_ctx_new(&ctx) || tu_identity_make(ctx, &id, "CN=Thumb Root", "CN=Thumb Signer")) return -1;
    jpeg = tu_read("samples/teapot.jpg", &jpeg_len);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_identity_free(&id);
    prov_ctx_free(ctx);
    free(jpeg);
    return 0;
}

static uint8_t *sign_mem(const uint8_t *in, size_t len, const prov_sign_opts *o, size_t *out_len)
{
    prov_stream si, so;
    prov_outbuf ob = {0};
    prov_signer s;
    prov_signer_from_key(&s, id.key);
    prov_stream_mem(&si, in, len);
    prov_stream_outbuf(&so, &ob);
    int rc = prov_sign(ctx, o, &s, id.chain, &si, &so);
    if (rc) fail_msg("sign: %s: %s", prov_strerror(rc), prov_errmsg(ctx));
    *out_len = ob.len;
    return ob.data;
}

static int thumbs(const uint8_t *p, size_t n, size_t max, char **json)
{
    prov_stream s;
    prov_stream_mem(&s, p, n);
    return prov_thumbnails_json(ctx, &s, max, json);
}

/* Decode the data: URI that follows "label":" in json; returns its bytes. */
static uint8_t *decode_for(const char *json, const char *label, size_t *len)
{
    char pat[300];
    snprintf(pat, sizeof pat, "\"%s\":\"data:image/jpeg;base64,", label);
    const char *p = strstr(json, pat);
    if (!p) return NULL;
    p += strlen(pat);
    const char *e = strchr(p, '"');
    uint8_t *out = malloc((size_t)(e - p));
    if (sodium_base642bin(out, (size_t)(e - p), p, (size_t)(e - p), NULL, len, NULL, sodium_base64_VARIANT_ORIGINAL)) {
        free(out);
        return NULL;
    }
    return out;
}

/* The active manifest's label, from the JSON. */
static void active_of(const char *json, char *out, size_t cap)
{
    const char *p = strstr(json, "{\"active\":\"");
    assert_non_null(p);
    p += 11;
    size_t n = strcspn(p, "\"");
    assert_true(n < cap);
    memcpy(out, p, n);
    out[n] = 0;
}

static void test_claim_and_ingredient_thumbnails(void **state)
{
    (void)state;
    size_t n1, n2, tl;
    prov_sign_opts o = {.thumbnail = 1};
    uint8_t *first = sign_mem(jpeg, jpeg_len, &o, &n1);
    char *j1 = NULL, a1[256], a2[256];
    assert_int_equal(thumbs(first, n1, 0, &j1), 0);
    active_of(j1, a1, sizeof a1);
    uint8_t *t = decode_for(j1, a1, &tl);
    assert_non_null(t);
    assert_true(tl > 1000 && t[0] == 0xFF && t[1] == 0xD8 && t[tl - 2] == 0xFF && t[tl - 1] == 0xD9);
    free(t);
    /* re-signed with the first as parent: both manifests have a thumbnail */
    prov_stream parent;
    prov_stream_mem(&parent, first, n1);
    prov_sign_opts o2 = {.thumbnail = 1, .parent = &parent, .action = "c2pa.cropped"};
    uint8_t *second = sign_mem(jpeg, jpeg_len, &o2, &n2);
    char *j2 = NULL;
    assert_int_equal(thumbs(second, n2, 0, &j2), 0);
    active_of(j2, a2, sizeof a2);
    assert_string_not_equal(a1, a2);
    t = decode_for(j2, a1, &tl); /* the ingredient's, under its manifest label */
    assert_non_null(t);
    free(t);
    t = decode_for(j2, a2, &tl);
    assert_non_null(t);
    free(t);
    /* the labels match what the report names as the ingredient's manifest */
    prov_stream s;
    prov_report *r = NULL;
    prov_stream_mem(&s, second, n2);
    assert_int_equal(prov_verify(ctx, NULL, &s, &r), 0);
    char js[8192];
    assert_true(prov_report_json(r, "x", js, sizeof js) < sizeof js);
    char want[300];
    snprintf(want, sizeof want, "\"manifest\":\"%s\"", a1);
    assert_non_null(strstr(js, want));
    prov_report_free(r);
    /* a limit below the thumbnail's size leaves it out */
    char *j3 = NULL;
    assert_int_equal(thumbs(second, n2, 100, &j3), 0);
    assert_null(strstr(j3, "data:"));
    assert_non_null(strstr(j3, "\"claims\":{}"));
    prov_free(j1);
    prov_free(j2);
    prov_free(j3);
    free(first);
    free(second);
}

static void test_without(void **state)
{
    (void)state;
    size_t n;
    char *j = (char *)"untouched";
    /* unsigned: no store */
    assert_int_equal(thumbs(jpeg, jpeg_len, 0, &j), PROV_ENOTFOUND);
    assert_null(j);
    /* signed without a thumbnail: an empty map */
    uint8_t *s = sign_mem(jpeg, jpeg_len, NULL, &n);
    assert_int_equal(thumbs(s, n, 0, &j), 0);
    assert_non_null(strstr(j, "\"claims\":{}}"));
    prov_free(j);
    /* not media */
    assert_true(thumbs((const uint8_t *)"hello world, not an image", 25, 0, &j) < 0);
    assert_int_equal(prov_thumbnails_json(ctx, NULL, 0, &j), PROV_EINVAL);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claim_and_ingredient_thumbnails),
        cmocka_unit_test(test_without),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
