/* test_bmff.c - MP4, MOV, fragmented MP4, HEIC and AVIF: signing keeps
 * the media playable frame for frame, offsets are patched, tampering and
 * hostile boxes are caught. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prov.h"

static prov_ctx *ctx;
static tu_identity id;
static prov_key *key;
static prov_chain *chain;
static prov_trust *trust;
static prov_signer signer;

static int setup(void **state)
{
    (void)state;
    if (prov_ctx_new(&ctx) || tu_identity_make(ctx, &id, "BMFF Root", "BMFF Signer")) return -1;
    key = id.key;
    chain = id.chain;
    trust = id.trust;
    prov_signer_from_key(&signer, key);
    /* media made with FFmpeg's test sources: plain, faststart, MOV, fragmented */
    const char *d = tu_tmpdir();
    if (tu_sh("cd %s && ffmpeg -loglevel error -y -f lavfi -i testsrc=duration=2:size=160x120:rate=25 -f lavfi -i "
              "sine=duration=2 -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest plain.mp4 && "
              "ffmpeg -loglevel error -y -i plain.mp4 -c copy -movflags +faststart fast.mp4 && "
              "ffmpeg -loglevel error -y -i plain.mp4 -c copy -f mov clip.mov && "
              "ffmpeg -loglevel error -y -i plain.mp4 -c copy -movflags frag_keyframe+empty_moov+default_base_moof frag.mp4 && "
              "ffmpeg -loglevel error -y -i plain.mp4 -c copy -movflags frag_keyframe+empty_moov frag2.mp4",
              d))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_identity_free(&id);
    prov_ctx_free(ctx);
    return 0;
}

static int verify_path(const char *p, prov_report **out)
{
    prov_verify_opts vo = {.trust = trust};
    prov_report *r = NULL;
    prov_verify_file(ctx, &vo, p, &r);
    assert_non_null(r);
    int st = prov_report_state(r);
    if (out) *out = r;
    else prov_report_free(r);
    return st;
}

/* Sign name into s-name; the frames decode the same and FFmpeg is silent. */
static void sign_and_check(const char *name)
{
    char in[512], out[512];
    snprintf(in, sizeof in, "%s", tu_path(name));
    snprintf(out, sizeof out, "%s/s-%s", tu_tmpdir(), name);
    int rc = prov_sign_file(ctx, NULL, &signer, chain, in, out);
    if (rc) fail_msg("%s: %s", name, prov_errmsg(ctx));
    prov_report *r;
    assert_int_equal(verify_path(out, &r), PROV_STATE_TRUSTED);
    assert_true(prov_report_has_code(r, "assertion.bmffHash.match"));
    assert_false(prov_report_has_code(r, "assertion.bmffHash.additionalExclusionsPresent"));
    prov_report_free(r);
    assert_int_equal(tu_sh("cd %s && ffmpeg -v error -i %s -f framemd5 a.md5 -y && ffmpeg -v error -i s-%s -f framemd5 "
                           "b.md5 -y && cmp -s a.md5 b.md5 && test -s a.md5",
                           tu_tmpdir(), name, name),
                     0);
    assert_int_equal(tu_sh("cd %s && test -z \"$(ffmpeg -v error -i s-%s -f null - 2>&1)\"", tu_tmpdir(), name), 0);
}

static void test_mp4_layouts(void **state)
{
    (void)state;
    sign_and_check("plain.mp4"); /* moov after mdat: stco patched */
    sign_and_check("fast.mp4");  /* moov first */
    sign_and_check("clip.mov");
    sign_and_check("frag.mp4");  /* moof/mdat pairs, tfra */
    sign_and_check("frag2.mp4"); /* tfhd base_data_offset patched */
}

static void flip_at(const char *path, long off, uint8_t x)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    if (off < 0) fseek(f, off, SEEK_END);
    else fseek(f, off, SEEK_SET);
    long at = ftell(f);
    int c = fgetc(f);
    fseek(f, at, SEEK_SET);
    fputc(c ^ x, f);
    fclose(f);
}

static void test_tamper(void **state)
{
    (void)state;
    const char *s = tu_path("s-plain.mp4"), *c = tu_path("t.mp4");
    /* a byte in mdat (the media data sits before moov in plain.mp4) */
    assert_int_equal(tu_sh("cp %s %s", s, c), 0);
    flip_at(c, 2000, 0x10);
    prov_report *r;
    assert_int_equal(verify_path(c, &r), PROV_STATE_INVALID);
    assert_true(prov_report_has_code(r, "assertion.bmffHash.mismatch"));
    prov_report_free(r);
    /* a byte in moov (at the end) */
    assert_int_equal(tu_sh("cp %s %s", s, c), 0);
    flip_at(c, -40, 0x01);
    assert_int_equal(verify_path(c, NULL), PROV_STATE_INVALID);
    /* re-signing keeps one manifest box and the history */
    const char *s2 = tu_path("s2.mp4");
    prov_sign_opts o = {.action = "c2pa.trimmed"};
    assert_int_equal(prov_sign_file(ctx, &o, &signer, chain, s, s2), 0);
    assert_int_equal(verify_path(s2, &r), PROV_STATE_TRUSTED);
    assert_true(prov_report_has_code(r, "ingredient.manifest.validated"));
    prov_report_free(r);
}

/* The HEIC fixture (items located by iloc): re-signed, its parent kept, and
 * every iloc extent still points at the same bytes. */
static uint8_t *find_box(uint8_t *p, uint8_t *end, const char *type, size_t *len)
{
    while (p + 8 <= end) {
        size_t n = (size_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
        if (n < 8 || n > (size_t)(end - p)) return NULL;
        if (!memcmp(p + 4, type, 4)) { *len = n; return p; }
        p += n;
    }
    return NULL;
}

/* iloc v0 with 4-byte fields (the fixture's layout): item extents as
 * absolute (offset, length) pairs. */
static size_t iloc_extents(uint8_t *f, size_t n, uint64_t *off, uint64_t *len, size_t max)
{
    size_t ml, il;
    uint8_t *meta = find_box(f, f + n, "meta", &ml);
    assert_non_null(meta);
    uint8_t *iloc = find_box(meta + 12, meta + ml, "iloc", &il);
    assert_non_null(iloc);
    uint8_t *d = iloc + 8;
    assert_int_equal(d[0], 0);
    assert_int_equal(d[4], 0x44);
    unsigned bsz = d[5] >> 4;
    size_t items = (size_t)d[6] << 8 | d[7], i = 8, k = 0;
    for (size_t it = 0; it < items; it++) {
        i += 2 + 2; /* item_ID, data_reference_index */
        uint64_t base = 0;
        for (unsigned b = 0; b < bsz; b++) base = base << 8 | d[i++];
        unsigned ext = (unsigned)d[i] << 8 | d[i + 1];
        i += 2;
        for (unsigned e = 0; e < ext && k < max; e++, k++) {
            off[k] = base + ((uint64_t)d[i] << 24 | d[i + 1] << 16 | d[i + 2] << 8 | d[i + 3]);
            len[k] = (uint64_t)d[i + 4] << 24 | d[i + 5] << 16 | d[i + 6] << 8 | d[i + 7];
            i += 8;
        }
    }
    return k;
}

static void test_heic_iloc(void **state)
{
    (void)state;
    const char *out = tu_path("s.heic");
    assert_int_equal(prov_sign_file(ctx, NULL, &signer, chain, tu_fixture("c2pa/trustnxt-icon-signed-v2-bmff.heic"), out), 0);
    prov_report *r;
    /* its parent's certificate has expired and its time-stamp's TSA chains
     * to no anchor we know; signing recorded those statuses in the
     * ingredient (validationResults), so a reader reports only what changed
     * since: nothing.  The file itself holds (its own hash, the parent's
     * manifest hash) and our signer is trusted. */
    assert_int_equal(verify_path(out, &r), PROV_STATE_TRUSTED);
    assert_true(prov_report_has_code(r, "assertion.bmffHash.match"));
    assert_true(prov_report_has_code(r, "ingredient.manifest.validated"));
    assert_false(prov_report_has_code(r, "signingCredential.expired"));
    assert_int_equal(prov_report_code_count(r, PROV_CODE_FAILURE), 0);
    /* the parent's own result still says what was recorded about it */
    char js[8192];
    size_t jn = prov_report_json(r, "s.heic", js, sizeof js);
    assert_true(jn > 0 && jn < sizeof js);
    assert_non_null(strstr(js, "\"relationship\":\"parentOf\",\"manifest\":\"urn:uuid:dcefe268-db21-488c-af54-c9912a143891\",\"result\":\"invalid\""));
    prov_report_free(r);
    size_t n1, n2;
    uint8_t *a = tu_read(tu_fixture("c2pa/trustnxt-icon-signed-v2-bmff.heic"), &n1);
    uint8_t *b = tu_read(out, &n2);
    uint64_t o1[64], l1[64], o2[64], l2[64];
    size_t k1 = iloc_extents(a, n1, o1, l1, 64), k2 = iloc_extents(b, n2, o2, l2, 64);
    assert_int_equal(k1, k2);
    assert_true(k1 > 0);
    for (size_t i = 0; i < k1; i++) {
        assert_int_equal(l1[i], l2[i]);
        assert_true(o1[i] + l1[i] <= n1 && o2[i] + l2[i] <= n2);
        assert_memory_equal(a + o1[i], b + o2[i], l1[i]);
    }
    free(a);
    free(b);
}

/* The last box may say size 0 (to the end of the file), as some live
 * recorders write mdat: such a file signs and verifies. */
static void test_size_zero_box(void **state)
{
    (void)state;
    size_t n;
    uint8_t *f = tu_read(tu_path("fast.mp4"), &n);
    size_t off = 0, last = 0;
    while (off + 8 <= n) {
        size_t sz = (size_t)f[off] << 24 | f[off + 1] << 16 | f[off + 2] << 8 | f[off + 3];
        if (sz < 8 || off + sz > n) break;
        last = off;
        off += sz;
    }
    assert_int_equal(off, n);
    assert_memory_equal(f + last + 4, "mdat", 4);
    memset(f + last, 0, 4);
    tu_write(tu_path("zero.mp4"), f, n);
    uint8_t before[64];
    memcpy(before, f, 64);
    assert_int_equal(prov_sign_file(ctx, NULL, &signer, chain, tu_path("zero.mp4"), tu_path("s-zero.mp4")), 0);
    assert_int_equal(verify_path(tu_path("s-zero.mp4"), NULL), PROV_STATE_TRUSTED);
    free(f);
    f = tu_read(tu_path("zero.mp4"), &n); /* the input is untouched */
    assert_memory_equal(f, before, 64);
    free(f);
}

/* Hostile boxes: a clear error, no crash, no output, input untouched. */
static void write_file(const char *name, const uint8_t *p, size_t n) { tu_write(tu_path(name), p, n); }

static void expect_refused(const char *name)
{
    char out[512];
    snprintf(out, sizeof out, "%s.out", tu_path(name));
    int rc = prov_sign_file(ctx, NULL, &signer, chain, tu_path(name), out);
    assert_true(rc < 0);
    assert_true(strlen(prov_errmsg(ctx)) > 0);
    assert_int_equal(access(out, F_OK), -1);
    prov_report *r;
    int st = verify_path(tu_path(name), &r);
    assert_true(st == PROV_STATE_ERROR || st == PROV_STATE_UNSIGNED);
    prov_report_free(r);
}

static void test_hostile(void **state)
{
    (void)state;
    static const uint8_t ftyp[] = {0, 0, 0, 16, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm', 0, 0, 2, 0};
    uint8_t f[512];
    /* a box whose size runs past the end */
    memcpy(f, ftyp, 16);
    memcpy(f + 16, "\x00\x10\x00\x00mdat", 8);
    write_file("past.mp4", f, 40);
    expect_refused("past.mp4");
    /* a 64-bit size of 2^63 */
    memcpy(f + 16, "\x00\x00\x00\x01mdat\x80\x00\x00\x00\x00\x00\x00\x00", 16);
    write_file("huge.mp4", f, 48);
    expect_refused("huge.mp4");
    /* a size below the header */
    memcpy(f + 16, "\x00\x00\x00\x04moov", 8);
    write_file("small.mp4", f, 24);
    expect_refused("small.mp4");
    /* a truncated header */
    write_file("trunc.mp4", f, 20);
    expect_refused("trunc.mp4");
    /* moov nested 40 deep: refused when its offsets are patched */
    size_t n = 16;
    memcpy(f, ftyp, 16);
    for (int i = 0; i < 40; i++) {
        uint32_t left = (uint32_t)(8 * (40 - i));
        f[n] = left >> 24; f[n + 1] = left >> 16; f[n + 2] = left >> 8; f[n + 3] = left;
        memcpy(f + n + 4, i == 0 ? "moov" : "trak", 4);
        n += 8;
    }
    write_file("deep.mp4", f, n);
    expect_refused("deep.mp4");
    /* stco with a count past its box */
    static const uint8_t moov[] = {0, 0, 0, 24, 'm', 'o', 'o', 'v', 0, 0, 0, 16, 's', 't', 'c', 'o',
                                   0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF};
    memcpy(f + 16, moov, sizeof moov);
    write_file("stco.mp4", f, 16 + sizeof moov);
    expect_refused("stco.mp4");
    /* every prefix of a real file: never a crash */
    size_t len;
    uint8_t *s = tu_read(tu_path("s-frag.mp4"), &len);
    for (size_t cut = 0; cut < len; cut += len / 41 + 1) {
        write_file("cut.mp4", s, cut);
        prov_report *r;
        int st = verify_path(tu_path("cut.mp4"), &r);
        assert_true(st != PROV_STATE_TRUSTED && st != PROV_STATE_VALID);
        prov_report_free(r);
    }
    free(s);
}

/* HLS fMP4: init + fragments signed as a set, each fragment checked alone. */
static void test_fragments(void **state)
{
    (void)state;
    const char *d = tu_tmpdir();
    assert_int_equal(tu_sh("cd %s && mkdir -p hls out && ffmpeg -loglevel error -i plain.mp4 -c:v libx264 -g 25 -c:a copy "
                           "-f hls -hls_segment_type fmp4 -hls_time 1 -hls_fmp4_init_filename init.mp4 "
                           "-hls_segment_filename 'hls/seg%%d.m4s' hls/out.m3u8",
                           d),
                     0);
    char in[3][512], out[3][512], init_in[512], init_out[512];
    const char *ins[3], *outs[3];
    for (int i = 0; i < 2; i++) {
        snprintf(in[i], 512, "%s/hls/seg%d.m4s", d, i);
        snprintf(out[i], 512, "%s/out/seg%d.m4s", d, i);
        ins[i] = in[i];
        outs[i] = out[i];
    }
    snprintf(init_in, 512, "%s/hls/init.mp4", d);
    snprintf(init_out, 512, "%s/out/init.mp4", d);
    assert_int_equal(prov_sign_fragments(ctx, NULL, &signer, chain, init_in, init_out, ins, outs, 2), 0);
    prov_verify_opts vo = {.trust = trust};
    for (int i = 0; i < 2; i++) {
        prov_report *r;
        assert_int_equal(prov_verify_fragment(ctx, &vo, init_out, out[i], &r), 0);
        assert_int_equal(prov_report_state(r), PROV_STATE_TRUSTED);
        prov_report_free(r);
    }
    /* a fragment of the set, changed by one byte, fails; the others hold */
    flip_at(out[1], 3000, 0x04);
    prov_report *r;
    assert_int_equal(prov_verify_fragment(ctx, &vo, init_out, out[1], &r), 0);
    assert_int_equal(prov_report_state(r), PROV_STATE_INVALID);
    assert_true(prov_report_has_code(r, "assertion.bmffHash.mismatch"));
    prov_report_free(r);
    /* a fragment of another set fails against this init segment */
    assert_int_equal(prov_verify_fragment(ctx, &vo, init_out, in[0], &r), 0);
    assert_int_equal(prov_report_state(r), PROV_STATE_INVALID);
    prov_report_free(r);
    /* the init segment alone holds none of the media it vouches for: it
     * does not verify without its fragments (as c2pa-rs reads it) */
    assert_int_equal(verify_path(init_out, &r), PROV_STATE_INVALID);
    assert_true(prov_report_has_code(r, "assertion.bmffHash.mismatch"));
    prov_report_free(r);
    /* a set that fails part way leaves no output behind */
    char bad[512], o2[2][512];
    snprintf(bad, 512, "%s/plain.mp4", d); /* no moof: not a fragment */
    const char *ins2[2] = {in[0], bad};
    snprintf(o2[0], 512, "%s/out/x0.m4s", d);
    snprintf(o2[1], 512, "%s/out/x1.m4s", d);
    const char *outs2[2] = {o2[0], o2[1]};
    char init2[512];
    snprintf(init2, 512, "%s/out/init2.mp4", d);
    assert_true(prov_sign_fragments(ctx, NULL, &signer, chain, init_in, init2, ins2, outs2, 2) < 0);
    assert_int_equal(access(o2[0], F_OK), -1);
    assert_int_equal(access(o2[1], F_OK), -1);
    assert_int_equal(access(init2, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mp4_layouts),
        cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_heic_iloc),
        cmocka_unit_test(test_size_zero_box),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_fragments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
