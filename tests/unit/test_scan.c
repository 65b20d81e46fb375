/* test_scan.c - prov scan and the detector object of prov verify, as a
 * user drives them: probabilities against the PyTorch vectors
 * (tests/vectors/detector/expected.txt), the JSON shape, exit codes and
 * thresholds, missing/corrupt models and files, a short video made with
 * the ffmpeg CLI, --device, and verify with and without --no-detect. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define VEC "tests/vectors/detector/"

static const char *P; /* the prov binary (absolute) */
static char D[512];   /* the test folder */
static char M[600];   /* the random-weight model (absolute) */
static double T, teapot_logit, kodim_logit; /* from expected.txt */
static int gpu;       /* --device auto chose cuda */

/* Run a shell command in D with PROV_MODEL set to the test model; stdout
 * to D/out.txt, stderr to D/err.txt; returns the exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[3000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return tu_sh("cd %s && PROV_MODEL=%s PROV_PASSPHRASE='test pass' %s >out.txt 2>err.txt", D, M, cmd);
}

static char *out(const char *name)
{
    char p[700];
    snprintf(p, sizeof p, "%s/%s", D, name);
    return (char *)tu_read(p, NULL);
}

/* The number after "key": in s (NAN if absent). */
static double num(const char *s, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(s, pat);
    return p ? strtod(p + strlen(pat), NULL) : NAN;
}

static void has(const char *s, const char *what)
{
    if (!strstr(s, what)) fail_msg("output lacks \"%s\":\n%s", what, s);
}

static double sigmoid_t(double logit) { return 1.0 / (1.0 + exp(-logit / T)); }

static int setup(void **state)
{
    (void)state;
    char cwd[400];
    if (!getcwd(cwd, sizeof cwd)) return -1;
    static char bin[600];
    const char *b = tu_prov_bin();
    snprintf(bin, sizeof bin, "%s%s%s", b[0] == '/' ? "" : cwd, b[0] == '/' ? "" : "/", b);
    P = bin;
    snprintf(M, sizeof M, "%s/" VEC "npr_random_f16.provnpr", cwd);
    snprintf(D, sizeof D, "%s", tu_tmpdir());
    if (tu_sh("cp samples/teapot.jpg samples/kodim01.png " VEC "teapot_rgb.png %s/", D)) return -1;
    char *e = (char *)tu_read(VEC "expected.txt", NULL), *save = NULL;
    for (char *l = strtok_r(e, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char name[64], src[128], w[128];
        unsigned iw, ih, crops;
        unsigned long long fnv;
        double logit;
        if (sscanf(l, "weights %127s %lf", w, &T) == 2) continue;
        if (sscanf(l, "image %63s %127s %u %u %llx %u %lf", name, src, &iw, &ih, &fnv, &crops,
                   &logit) == 7) {
            if (!strcmp(name, "teapot")) teapot_logit = logit;
            if (!strcmp(name, "kodim01")) kodim_logit = logit;
        }
    }
    free(e);
    if (!(T > 0) || !teapot_logit || !kodim_logit) return -1;
    char cmd[1500];
    snprintf(cmd, sizeof cmd, "%s scan --json --device auto kodim01.png", P);
    if (sh("%s", cmd)) return -1;
    char *o = out("out.txt");
    gpu = strstr(o, "\"device\":\"cuda\"") != NULL;
    free(o);
    return 0;
}

/* The probability PyTorch's logit and the model's temperature predict. */
static void test_probability(void **state)
{
    (void)state;
    assert_int_equal(sh("%s scan --json --device cpu teapot_rgb.png kodim01.png", P), 0);
    char *o = out("out.txt");
    char *second = strchr(o, '\n');
    assert_non_null(second);
    *second++ = 0;
    double p = num(o, "probability"), l = num(o, "logit");
    if (!(fabs(l - teapot_logit) <= 1e-3)) fail_msg("teapot logit %.6f, PyTorch %.6f", l, teapot_logit);
    if (!(fabs(p - sigmoid_t(teapot_logit)) <= 5e-4))
        fail_msg("teapot probability %.6f, expected %.6f", p, sigmoid_t(teapot_logit));
    assert_int_equal((int)num(o, "crops"), 9);
    double p2 = num(second, "probability");
    if (!(fabs(p2 - sigmoid_t(kodim_logit)) <= 5e-4))
        fail_msg("kodim01 probability %.6f, expected %.6f", p2, sigmoid_t(kodim_logit));
    assert_int_equal((int)num(second, "crops"), 6);
    free(o);
}

/* Every member, one line a file, in order. */
static void test_json_shape(void **state)
{
    (void)state;
    assert_int_equal(sh("%s scan --json --device cpu --threshold 0.25 kodim01.png teapot_rgb.png", P), 1);
    char *o = out("out.txt");
    int lines = 0;
    for (char *p = o; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 2);
    assert_true(!strncmp(o, "{\"file\":\"kodim01.png\",\"kind\":\"image\",\"probability\":", 51));
    const char *keys[] = {"\"logit\":", "\"crops\":", "\"device\":\"cpu\"", "\"backend\":\"",
                          "\"model\":\"npr-r50l2\"", "\"model_version\":\"test-random-1\"",
                          "\"threshold\":0.25", "\"verdict\":\"likely-ai-made\""};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) has(o, keys[i]);
    has(strchr(o, '\n'), "{\"file\":\"teapot_rgb.png\"");
    assert_null(strstr(o, "\"frames\""));
    free(o);
    /* text: one line a file, naming the verdict */
    assert_int_equal(sh("%s scan --device cpu kodim01.png", P), 0);
    o = out("out.txt");
    has(o, "kodim01.png: no finding: probability ");
    has(o, "below the threshold 0.5\n");
    has(o, "6 crops, cpu, model npr-r50l2 test-random-1; a hint for review, not proof");
    free(o);
}

/* 0 when all are below, 1 when any is at or above; the thresholds come
 * from the expected probabilities. */
static void test_exit_codes(void **state)
{
    (void)state;
    double pt = sigmoid_t(teapot_logit), pk = sigmoid_t(kodim_logit);
    double mid = (pt + pk) / 2, lo = pt < pk ? pt : pk, hi = pt < pk ? pk : pt;
    assert_true(hi - lo > 0.01);
    assert_int_equal(sh("%s scan --threshold 0 kodim01.png", P), 1);
    assert_int_equal(sh("%s scan --threshold 1 kodim01.png", P), 0);
    assert_int_equal(sh("%s scan --threshold %.6f teapot_rgb.png kodim01.png", P, mid), 1);
    const char *low = pt < pk ? "teapot_rgb.png" : "kodim01.png";
    assert_int_equal(sh("%s scan --threshold %.6f %s", P, mid, low), 0);
    char *o = out("out.txt");
    has(o, "below the threshold");
    free(o);
    /* bad options */
    assert_int_equal(sh("%s scan --threshold 1.5 teapot_rgb.png", P), 2);
    assert_int_equal(sh("%s scan --threshold x teapot_rgb.png", P), 2);
    assert_int_equal(sh("%s scan --device gpu teapot_rgb.png", P), 2);
    assert_int_equal(sh("%s scan --frames 0 teapot_rgb.png", P), 2);
    assert_int_equal(sh("%s scan", P), 2);
    assert_int_equal(sh("%s scan --help", P), 0);
    o = out("out.txt");
    has(o, "usage: prov scan");
    free(o);
}

static void test_bad_model(void **state)
{
    (void)state;
    assert_int_equal(sh("%s scan --model nosuch.provnpr teapot_rgb.png", P), 2);
    char *e = out("err.txt");
    has(e, "nosuch.provnpr");
    free(e);
    /* one flipped byte in the middle: the CRC catches it */
    size_t n;
    uint8_t *w = tu_read(M, &n);
    w[n / 2] ^= 0x40;
    char p[700];
    snprintf(p, sizeof p, "%s/bad.provnpr", D);
    tu_write(p, w, n);
    free(w);
    assert_int_equal(sh("%s scan --json --model bad.provnpr teapot_rgb.png", P), 2);
    e = out("err.txt");
    has(e, "bad.provnpr");
    has(e, "CRC");
    free(e);
    /* no model anywhere: a copy of prov away from the build tree, no
     * PROV_MODEL */
    assert_int_equal(tu_sh("mkdir -p %s/away/bin && cp %s %s/away/bin/prov", D, P, D), 0);
    assert_int_equal(tu_sh("cd %s && env -u PROV_MODEL away/bin/prov scan teapot_rgb.png >out.txt 2>err.txt", D), 2);
    e = out("err.txt");
    has(e, "no detector model");
    has(e, "--model");
    free(e);
}

static void test_bad_files(void **state)
{
    (void)state;
    assert_int_equal(tu_sh("cd %s && head -c 5000 kodim01.png > cut.png && head -c 3000 /dev/urandom > junk.bin && printf '\\377\\330\\377\\340garbage' > bad.jpg", D), 0);
    const char *files[] = {"cut.png", "junk.bin", "bad.jpg", "missing.jpg"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(sh("%s scan --json %s", P, files[i]), 2);
        char *o = out("out.txt"), *e = out("err.txt");
        has(o, "\"error\":\"");
        has(e, files[i]);
        free(o);
        free(e);
    }
    /* an error among good files: every file gets its line, exit 2 */
    assert_int_equal(sh("%s scan --json --threshold 0 kodim01.png cut.png missing.jpg", P), 2);
    char *o = out("out.txt");
    int lines = 0;
    for (char *p = o; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 3);
    free(o);
}

/* --device: cuda is a clean error without a GPU (and the same scores with
 * one); auto is the CPU there. */
static void test_device(void **state)
{
    (void)state;
    assert_int_equal(sh("%s scan --json --device cpu kodim01.png", P), 0);
    char *o = out("out.txt");
    double pc = num(o, "logit");
    free(o);
    int rc = sh("%s scan --json --device cuda kodim01.png", P);
    if (!gpu) {
        assert_int_equal(rc, 2);
        char *e = out("err.txt");
        has(e, "CUDA");
        free(e);
        assert_int_equal(sh("%s scan --json --device auto kodim01.png", P), 0);
        o = out("out.txt");
        has(o, "\"device\":\"cpu\"");
        assert_true(num(o, "logit") == pc);
        free(o);
    } else {
        assert_int_equal(rc, 0);
        o = out("out.txt");
        has(o, "\"device\":\"cuda\"");
        if (!(fabs(num(o, "logit") - pc) <= 1e-3)) fail_msg("cuda %.6f, cpu %.6f", num(o, "logit"), pc);
        free(o);
    }
}

/* A short video made here: frames sampled, the top quarter reported. */
static void test_video(void **state)
{
    (void)state;
    if (tu_sh("cd %s && ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc=size=128x96:rate=10:duration=2 "
              "-c:v mpeg4 -q:v 3 v.mp4 && test -s v.mp4", D))
        fail_msg("the ffmpeg CLI could not make a test video (tools/install-deps.sh installs ffmpeg)");
    assert_int_equal(sh("%s scan --json --frames 8 --threshold 0 v.mp4", P), 1);
    char *o = out("out.txt");
    has(o, "\"kind\":\"video\"");
    has(o, "\"frames\":{\"sampled\":8,\"duration_s\":2.000");
    has(o, "\"aggregate\":\"mean of the top 2 frame logits\"");
    assert_int_equal((int)num(o, "crops"), 8); /* 128x96: one crop a frame */
    /* the two frames listed: indexes and times at the sampled spots
     * (centres of eight 0.25 s spans, 10 frames a second), logits that
     * average to the video's */
    const char *t = strstr(o, "\"top\":[");
    assert_non_null(t);
    double l1 = num(t, "logit"), idx1 = num(t, "index"), tm1 = num(t, "time_s");
    const char *t2 = strstr(t + 8, "},{");
    assert_non_null(t2);
    double l2 = num(t2, "logit"), tm2 = num(t2, "time_s");
    assert_true(l1 >= l2);
    assert_true(fabs((l1 + l2) / 2 - num(o, "logit")) <= 1e-5);
    assert_true(fabs(idx1 - tm1 * 10) <= 0.51);
    assert_true(tm1 >= 0 && tm1 < 2 && tm2 >= 0 && tm2 < 2 && tm1 != tm2);
    double p = num(o, "probability");
    assert_true(fabs(p - sigmoid_t(num(o, "logit"))) <= 1e-5);
    free(o);
    /* text */
    assert_int_equal(sh("%s scan --frames 4 --threshold 1 v.mp4", P), 0);
    o = out("out.txt");
    has(o, "4 frames, top 1 averaged");
    has(o, "    frame ");
    free(o);
    /* a video cut in half still scans, or fails cleanly; never a crash */
    assert_int_equal(tu_sh("cd %s && head -c $(( $(stat -c %%s v.mp4) / 2 )) v.mp4 > half.mp4", D), 0);
    int rc = sh("%s scan --json half.mp4", P);
    assert_true(rc == 0 || rc == 1 || rc == 2);
    /* sound: said plainly, no score (WAV, MP3 and M4A alike) */
    assert_int_equal(tu_sh("cd %s && ffmpeg -nostdin -loglevel error -y -f lavfi -i sine=frequency=440:duration=1 a.wav "
                           "&& ffmpeg -nostdin -loglevel error -y -i a.wav a.mp3 && ffmpeg -nostdin -loglevel error "
                           "-y -i a.wav -c:a aac a.m4a", D), 0);
    const char *audio[] = {"a.wav", "a.mp3", "a.m4a"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sh("%s scan %s", P, audio[i]), 2);
        char *e = out("err.txt");
        has(e, "the detector judges pictures and video, not sound");
        free(e);
    }
}

/* verify: a detector object for an unsigned file, none for a signed one,
 * none with --no-detect; no model is informational, not a failure. */
static void test_verify(void **state)
{
    (void)state;
    assert_int_equal(sh("%s verify --json teapot_rgb.png", P), 1);
    char *o = out("out.txt");
    has(o, "\"state\":\"unsigned\"");
    const char *d = strstr(o, ",\"detector\":{\"kind\":\"image\",\"probability\":");
    assert_non_null(d);
    assert_true(fabs(num(d, "probability") - sigmoid_t(teapot_logit)) <= 5e-4);
    has(d, "\"model_version\":\"test-random-1\"");
    has(d, "\"verdict\":\"no-finding\"");
    assert_true(o[strlen(o) - 2] == '}' && o[strlen(o) - 3] == '}');
    free(o);
    assert_int_equal(sh("%s verify kodim01.png", P), 1);
    o = out("out.txt");
    has(o, "  detector: no finding (probability ");
    has(o, "a hint, not proof)");
    free(o);
    assert_int_equal(sh("%s verify --json --no-detect teapot_rgb.png", P), 1);
    o = out("out.txt");
    assert_null(strstr(o, "detector"));
    free(o);
    /* a signed, valid file */
    assert_int_equal(sh("%s ca init ca --subject 'CN=Scan Root,O=prov tests'", P), 0);
    assert_int_equal(sh("%s keygen -o k --subject 'CN=Scan Signer,O=prov tests' --ca ca", P), 0);
    assert_int_equal(sh("%s sign teapot.jpg -o s.jpg --key k", P), 0);
    assert_int_equal(sh("%s verify --json --trust ca/root.pem s.jpg", P), 0);
    o = out("out.txt");
    has(o, "\"state\":\"trusted\"");
    assert_null(strstr(o, "detector"));
    free(o);
    /* no model: an error inside the object; the exit is verify's own */
    assert_int_equal(tu_sh("cd %s && env -u PROV_MODEL away/bin/prov verify --json teapot.jpg >out.txt 2>err.txt", D), 1);
    o = out("out.txt");
    has(o, "\"detector\":{\"error\":\"no detector model");
    free(o);
}

/* The test weights with their metadata replaced by meta (same length,
 * padded with spaces; the CRC-32 recomputed), written to D/name. */
static void weights_with_meta(const char *name, const char *meta)
{
    size_t n;
    uint8_t *w = tu_read(VEC "npr_random_f16.provnpr", &n);
    uint32_t mlen = (uint32_t)w[12] | (uint32_t)w[13] << 8 | (uint32_t)w[14] << 16 | (uint32_t)w[15] << 24;
    assert_true(strlen(meta) <= mlen && 24 + mlen < n);
    memset(w + 24, ' ', mlen);
    memcpy(w + 24, meta, strlen(meta));
    uint32_t c = (uint32_t)crc32(0L, w, (uInt)(n - 4));
    for (int i = 0; i < 4; i++) w[n - 4 + i] = (uint8_t)(c >> (8 * i));
    char path[700];
    snprintf(path, sizeof path, "%s/%s", D, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(w, 1, n, f), n);
    fclose(f);
    free(w);
}

/* A model's measured operating point is the default threshold, and its
 * false-positive rate is stated; --threshold overrides it (then no rate is
 * claimed); an operating point out of range is ignored. */
static void test_operating_point(void **state)
{
    (void)state;
    double pk = sigmoid_t(kodim_logit), pt = sigmoid_t(teapot_logit);
    assert_true(pk < pt);
    double mid = (pk + pt) / 2;
    char meta[300];
    snprintf(meta, sizeof meta,
             "{\"model\":\"npr-r50l2\",\"model_version\":\"test-op\",\"operating_point\":{\"threshold\":%.6f,"
             "\"fpr\":0.04,\"fpr_ci\":[0.01,0.09],\"tpr\":0.7},\"temperature\":1.5}",
             mid);
    weights_with_meta("op.provnpr", meta);
    assert_int_equal(sh("%s scan --json --device cpu --model op.provnpr kodim01.png teapot_rgb.png", P), 1);
    char *o = out("out.txt");
    char *second = strchr(o, '\n');
    assert_non_null(second);
    *second++ = 0;
    assert_true(fabs(num(o, "threshold") - mid) < 1e-5);
    has(o, "\"verdict\":\"no-finding\"");
    has(o, "\"false_positive_rate\":0.0400,\"false_positive_rate_ci\":[0.0100,0.0900]");
    has(second, "\"verdict\":\"likely-ai-made\"");
    free(o);
    assert_int_equal(sh("%s scan --device cpu --model op.provnpr teapot_rgb.png", P), 1);
    o = out("out.txt");
    has(o, "teapot_rgb.png: likely AI-made: probability ");
    has(o, "(at which the model flags 4% of real photos, 95% CI 1-9%)");
    free(o);
    /* an explicit threshold: its false-positive rate was not measured */
    assert_int_equal(sh("%s scan --json --device cpu --model op.provnpr --threshold 0.99 teapot_rgb.png", P), 0);
    o = out("out.txt");
    has(o, "\"threshold\":0.99,\"verdict\":\"no-finding\"");
    assert_null(strstr(o, "false_positive_rate"));
    free(o);
    /* verify shows the same */
    assert_int_equal(sh("PROV_MODEL=%s/op.provnpr %s verify teapot_rgb.png", D, P), 1);
    o = out("out.txt");
    has(o, "  detector: likely AI-made (probability ");
    has(o, "at which the model flags 4% of real photos");
    free(o);
    /* a threshold outside (0, 1) in the metadata is not used */
    weights_with_meta("bad.provnpr", "{\"model\":\"npr-r50l2\",\"operating_point\":{\"threshold\":1.5,\"fpr\":0.01}}");
    assert_int_equal(sh("%s scan --json --device cpu --model bad.provnpr kodim01.png", P), 0);
    o = out("out.txt");
    has(o, "\"threshold\":0.5,");
    assert_null(strstr(o, "false_positive_rate"));
    free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probability), cmocka_unit_test(test_json_shape),
        cmocka_unit_test(test_exit_codes),  cmocka_unit_test(test_bad_model),
        cmocka_unit_test(test_bad_files),   cmocka_unit_test(test_device),
        cmocka_unit_test(test_video),       cmocka_unit_test(test_verify),
        cmocka_unit_test(test_operating_point),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
