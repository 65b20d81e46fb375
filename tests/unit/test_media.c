/* test_media.c - WebP, GIF, WAV, AVI, MP3 and FLAC (lib/riff.c, gif.c,
 * id3.c): files made by the ffmpeg CLI are signed, verified, re-signed and
 * tampered with through the prov command; the signed files decode to the
 * same pixels and samples in FFmpeg, libwebp (dwebp) and libFLAC (flac);
 * hostile files (truncated, oversized, doubled, nested past their parent)
 * get a clear error through the library. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *P; /* the prov binary (absolute) */
static char D[512];   /* the test folder */
static char R[512];   /* the repository (the tests run from it) */

/* A shell command in D (stdout+stderr to out.txt); its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[3000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return tu_sh("cd %s && PROV_PASSPHRASE='test pass' %s >out.txt 2>&1", D, cmd);
}

static void output_has(const char *s)
{
    char p[600];
    snprintf(p, sizeof p, "%s/out.txt", D);
    char *o = (char *)tu_read(p, NULL);
    if (!strstr(o, s)) fail_msg("output lacks \"%s\":\n%s", s, o);
    free(o);
}

static int setup(void **state)
{
    (void)state;
    static char bin[600];
    const char *b = tu_prov_bin();
    if (b[0] == '/') snprintf(bin, sizeof bin, "%s", b);
    else if (!getcwd(bin, sizeof bin - 100)) return -1;
    else { strcat(bin, "/"); strcat(bin, b); }
    P = bin;
    if (!getcwd(R, sizeof R)) return -1;
    snprintf(D, sizeof D, "%s", tu_tmpdir());
    if (sh("%s ca init ca --subject 'CN=Media Root,O=prov tests'", P)) return -1;
    if (sh("%s keygen -o k --subject 'CN=Media Signer,O=prov tests' --ca ca", P)) return -1;
    return 0;
}

#define FF "ffmpeg -nostdin -loglevel error -y "
#define SINE "-f lavfi -i sine=frequency=440:duration=0.5:sample_rate=16000 -ac 1 "
#define PICT "-f lavfi -i testsrc=size=96x64 -frames:v 1 "

typedef struct mfile {
    const char *name, *make; /* ffmpeg arguments, then the file name */
    const char *mime;
} mfile;

static const mfile FILES[] = {
    {"a.wav", SINE, "audio/wav"},
    {"b.wav", SINE "-metadata title=Odd -metadata artist=Someone", "audio/wav"}, /* a LIST chunk */
    {"a.webp", PICT, "image/webp"},
    {"l.webp", PICT "-lossless 1", "image/webp"},
    {"x.webp", "-f lavfi -i color=c=red@0.5:size=32x32,format=rgba -frames:v 1 -lossless 1", "image/webp"},
    {"a.gif", PICT, "image/gif"},
    {"m.gif", "-f lavfi -i testsrc=size=48x32:rate=5 -t 1", "image/gif"}, /* animated */
    {"a.avi", PICT "-c:v mjpeg", "video/x-msvideo"},
    {"a.mp3", SINE "-id3v2_version 0", "audio/mpeg"}, /* no tag */
    {"b.mp3", SINE "-id3v2_version 3 -write_id3v1 1 -metadata title=Hello -metadata artist=Me", "audio/mpeg"},
    {"c.mp3", SINE "-metadata title=Four", "audio/mpeg"}, /* ID3v2.4 */
    {"a.flac", SINE, "audio/flac"},
    {"a.m4a", SINE "-c:a aac", "audio/mp4"},
    {"a.tif", PICT "-pix_fmt rgb24 -compression_algo lzw", "image/tiff"},
    {"b.tif", PICT "-pix_fmt rgb24 -compression_algo raw", "image/tiff"},
};

/* The decoded samples or pixels of x and y are the same. */
static void same_decode(const char *x, const char *y)
{
    if (sh("test \"$(" FF "-i %s -map 0 -f md5 -)\" = \"$(" FF "-i %s -map 0 -f md5 -)\"", x, y))
        fail_msg("FFmpeg decodes %s and %s differently", x, y);
    const char *ext = strrchr(x, '.');
    if (!strcmp(ext, ".webp") && sh("dwebp -quiet %s -pam -o d1.pam && dwebp -quiet %s -pam -o d2.pam && cmp d1.pam d2.pam", x, y))
        fail_msg("libwebp decodes %s and %s differently", x, y);
    if (!strcmp(ext, ".tif") && sh("tiffcmp %s %s", x, y)) fail_msg("libtiff decodes %s and %s differently", x, y);
    if (!strcmp(ext, ".flac") && sh("flac -s -d -f -o d1.wav %s && flac -s -d -f -o d2.wav %s && cmp d1.wav d2.wav", x, y))
        fail_msg("libFLAC decodes %s and %s differently", x, y);
}

static void test_sign_verify_each_format(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof FILES / sizeof FILES[0]; i++) {
        const mfile *f = &FILES[i];
        const char *n = f->name;
        if (sh(FF "%s %s && cp %s orig-%s", f->make, n, n, n)) fail_msg("ffmpeg cannot make %s", n);
        /* unsigned: says so, exit 1 */
        assert_int_equal(sh("%s verify %s", P, n), 1);
        output_has("unsigned");
        if (sh("%s sign %s -o s-%s --key k", P, n, n)) fail_msg("sign %s failed", n);
        assert_int_equal(sh("cmp %s orig-%s", n, n), 0); /* the input is untouched */
        if (sh("%s verify s-%s --trust ca/root.pem", P, n)) fail_msg("s-%s does not verify", n);
        output_has("trusted");
        assert_int_equal(sh("%s verify s-%s --json --trust ca/root.pem", P, n), 0);
        output_has(f->mime);
        char sx[64], ex[64];
        snprintf(sx, sizeof sx, "s-%s", n);
        snprintf(ex, sizeof ex, "e-%s", n);
        same_decode(n, sx);
        /* re-signed: the signed file becomes the parent */
        if (sh("%s sign s-%s -o e-%s --key k --action c2pa.edited", P, n, n)) fail_msg("re-sign %s failed", n);
        if (sh("%s verify e-%s --trust ca/root.pem", P, n)) fail_msg("e-%s does not verify", n);
        output_has("parent:");
        output_has("c2pa.edited");
        same_decode(n, ex);
        assert_int_equal(sh("%s inspect e-%s", P, n), 0);
        output_has("\"manifests\"");
    }
}

/* One byte of the media changed after signing: the data hash fails. */
static void test_tamper(void **state)
{
    (void)state;
    const char *names[] = {"a.wav", "a.webp", "a.gif", "b.mp3", "a.flac"};
    for (size_t i = 0; i < 5; i++) {
        const char *n = names[i];
        assert_int_equal(sh(FF "%s %s", i == 0 || i >= 3 ? SINE : PICT, n), 0);
        assert_int_equal(sh("%s sign %s -o t-%s --key k", P, n, n), 0);
        /* the last byte is media in all but the WAV and WebP, whose store is last */
        if (i == 0 || i == 1)
            assert_int_equal(sh("printf 'Z' | dd of=t-%s bs=1 seek=60 conv=notrunc status=none", n), 0);
        else
            assert_int_equal(sh("sz=$(stat -c %%s t-%s); printf 'Z' | dd of=t-%s bs=1 seek=$((sz-2)) conv=notrunc status=none", n, n), 0);
        assert_int_equal(sh("%s verify t-%s --trust ca/root.pem", P, n), 1);
        output_has("assertion.dataHash.mismatch");
    }
}

/* TIFF in its other forms (libtiff's tiffcp makes them): big-endian,
 * BigTIFF, several pages, DNG; each signed twice, the pixels compared by
 * libtiff (tiffcmp), read by the page c2pa-rs reads. */
static void test_tiff_forms(void **state)
{
    (void)state;
    assert_int_equal(sh(FF PICT "-pix_fmt rgb24 -compression_algo raw base.tif"), 0);
    assert_int_equal(sh("tiffcp -B -c none base.tif be.tif && tiffcp -8 -c lzw base.tif big.tif && "
                        "tiffcp -c lzw base.tif base.tif pages.tif && tiffcp -c lzw base.tif d.dng && "
                        "tiffset -s 50706 4 1 4 0 0 d.dng"), 0);
    const char *forms[] = {"be.tif", "big.tif", "pages.tif", "d.dng"};
    for (size_t i = 0; i < 4; i++) {
        const char *n = forms[i];
        if (sh("%s sign %s -o s-%s --key k", P, n, n)) fail_msg("sign %s", n);
        if (sh("%s sign s-%s -o e-%s --key k --action c2pa.edited", P, n, n)) fail_msg("re-sign %s", n);
        assert_int_equal(sh("%s verify e-%s --trust ca/root.pem --json --no-detect", P, n), 0);
        output_has("\"state\":\"trusted\"");
        output_has(i == 3 ? "image/x-adobe-dng" : "image/tiff");
        if (sh("tiffcmp %s e-%s", n, n)) fail_msg("libtiff decodes %s differently once signed", n);
        if (sh("test $(tiffinfo e-%s 2>/dev/null | grep -c 'TIFF Directory at') = %d", n, i == 2 ? 2 : 1))
            fail_msg("e-%s lost or gained a page", n);
    }
}

/* ---- hostile files, through the library ---- */

static int verify_mem(const uint8_t *p, size_t n, prov_ctx *ctx, int *state)
{
    prov_stream s;
    prov_stream_mem(&s, p, n);
    prov_report *r = NULL;
    int rc = prov_verify(ctx, NULL, &s, &r);
    *state = r ? prov_report_state(r) : -99;
    prov_report_free(r);
    return rc;
}

static void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* A RIFF WAVE with the given chunks after a real fmt chunk. */
static size_t riff(uint8_t *out, const uint8_t *chunks, size_t n, uint32_t riff_size_or_0)
{
    static const uint8_t fmt[24] = {'f', 'm', 't', ' ', 16, 0, 0, 0, 1, 0, 1, 0, 0x40, 0x1F, 0, 0, 0x80, 0x3E, 0, 0, 2, 0, 16, 0};
    memcpy(out, "RIFF", 4);
    memcpy(out + 8, "WAVE", 4);
    memcpy(out + 12, fmt, 24);
    memcpy(out + 36, chunks, n);
    le32(out + 4, riff_size_or_0 ? riff_size_or_0 : (uint32_t)(28 + n));
    return 36 + n;
}

static void expect_error(const uint8_t *p, size_t n, int code, const char *msg)
{
    prov_ctx *ctx;
    assert_int_equal(prov_ctx_new(&ctx), 0);
    int st;
    int rc = verify_mem(p, n, ctx, &st);
    if (rc != code || !strstr(prov_errmsg(ctx), msg))
        fail_msg("want %d \"%s\", got %d \"%s\"", code, msg, rc, prov_errmsg(ctx));
    assert_int_equal(st, PROV_STATE_ERROR);
    /* inspect refuses the same way */
    prov_stream s;
    prov_stream_mem(&s, p, n);
    char *json = NULL;
    assert_int_equal(prov_inspect(ctx, &s, &json), code);
    assert_null(json);
    prov_ctx_free(ctx);
}

static void test_hostile_riff(void **state)
{
    (void)state;
    static uint8_t b[1 << 21];
    uint8_t c[64] = {'d', 'a', 't', 'a', 4, 0, 0, 0, 1, 2, 3, 4};
    /* the RIFF says 1 MB, the file has 48 bytes */
    expect_error(b, riff(b, c, 12, 1000000), PROV_EFORMAT, "truncated RIFF");
    /* a chunk that runs past the RIFF's end */
    le32(c + 4, 400);
    expect_error(b, riff(b, c, 12, 0), PROV_EFORMAT, "runs past the RIFF's end");
    /* a C2PA chunk saying 4 GB */
    memcpy(c, "C2PA", 4);
    le32(c + 4, 0xFFFFFFF0u);
    expect_error(b, riff(b, c, 12, 0), PROV_EFORMAT, "runs past");
    /* two stores */
    uint8_t two[32] = {'C', '2', 'P', 'A', 4, 0, 0, 0, 'j', 'u', 'm', 'b', 'C', '2', 'P', 'A', 4, 0, 0, 0, 'j', 'u', 'm', 'b'};
    expect_error(b, riff(b, two, 24, 0), PROV_EFORMAT, "two C2PA manifest stores");
    /* 150,000 empty chunks: a bounded walk */
    size_t n = 0;
    static uint8_t many[150000 * 8];
    for (size_t i = 0; i < 150000; i++, n += 8) memcpy(many + n, "JUNK\0\0\0\0", 8);
    expect_error(b, riff(b, many, n, 0), PROV_ELIMIT, "RIFF chunks");
    /* a store that is not JUMBF: a file that claims provenance it cannot show */
    uint8_t bad[16] = {'C', '2', 'P', 'A', 8, 0, 0, 0, 0, 0, 0, 8, 'j', 'u', 'm', 'b'};
    prov_ctx *ctx;
    assert_int_equal(prov_ctx_new(&ctx), 0);
    int st;
    assert_int_equal(verify_mem(b, riff(b, bad, 16, 0), ctx, &st), 0);
    assert_int_equal(st, PROV_STATE_INVALID);
    prov_ctx_free(ctx);
}

static size_t tiff(uint8_t *b, uint32_t ifd, uint16_t n, uint16_t tag, uint16_t type, uint32_t count, uint32_t off,
                   uint32_t next)
{
    memset(b, 0, 256);
    memcpy(b, "II*\0", 4);
    le32(b + 4, ifd);
    if (ifd > 180) return 200; /* pointing outside the 200 bytes */
    b[ifd] = (uint8_t)n;
    b[ifd + 1] = (uint8_t)(n >> 8);
    uint8_t *e = b + ifd + 2;
    e[0] = (uint8_t)tag;
    e[1] = (uint8_t)(tag >> 8);
    e[2] = (uint8_t)type;
    le32(e + 4, count);
    le32(e + 8, off);
    if (ifd + 2 + 12u * n + 4 <= 200) le32(b + ifd + 2 + 12 * n, next);
    return 200;
}

static void test_hostile_tiff(void **state)
{
    (void)state;
    uint8_t b[256];
    expect_error(b, tiff(b, 5000, 1, 256, 3, 1, 16, 0), PROV_EFORMAT, "outside the file");
    expect_error(b, tiff(b, 8, 0, 256, 3, 1, 16, 0), PROV_EFORMAT, "with 0 entries");
    expect_error(b, tiff(b, 8, 9000, 256, 3, 1, 16, 0), PROV_EFORMAT, "entries");
    expect_error(b, tiff(b, 8, 1, 256, 3, 1, 16, 8), PROV_EFORMAT, "loop");
    expect_error(b, tiff(b, 8, 1, 0xCD41, 3, 100, 100, 0), PROV_EFORMAT, "not of type UNDEFINED");
    expect_error(b, tiff(b, 8, 1, 0xCD41, 7, 0xFFFFFF00u, 100, 0), PROV_ELIMIT, "over");
    expect_error(b, tiff(b, 8, 1, 0xCD41, 7, 1000, 100, 0), PROV_EFORMAT, "past the end of the file");
    expect_error(b, tiff(b, 8, 1, 0xCD41, 7, 50, 0xFFFFFFF0u, 0), PROV_EFORMAT, "past the end of the file");
}

static void test_hostile_gif(void **state)
{
    (void)state;
    uint8_t g[64] = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0};
    /* a block that is neither extension, image nor trailer */
    g[13] = 0x99;
    expect_error(g, 14, PROV_EFORMAT, "GIF block 0x99");
    /* our extension, cut in its sub-blocks */
    static const uint8_t app[] = {0x21, 0xFF, 11, 'C', '2', 'P', 'A', '_', 'G', 'I', 'F', 1, 0, 0, 200, 'j'};
    memcpy(g + 13, app, sizeof app);
    expect_error(g, 13 + sizeof app, PROV_EFORMAT, "truncated GIF extension");
    /* a global colour table longer than the file */
    g[10] = 0x87;
    expect_error(g, 20, PROV_EFORMAT, "truncated GIF");
}

static void test_hostile_id3(void **state)
{
    (void)state;
    uint8_t t[128] = {'I', 'D', '3', 4, 0, 0, 0, 0, 0, 40};
    static const uint8_t mp3[4] = {0xFF, 0xFB, 0x90, 0x64};
    /* a frame that runs past the tag */
    memcpy(t + 10, "TIT2\0\0\1\0\0\0", 10);
    memcpy(t + 50, mp3, 4);
    expect_error(t, 54, PROV_EFORMAT, "runs past the tag");
    /* a size that is not synchsafe */
    t[9] = 0x80;
    expect_error(t, 54, PROV_EFORMAT, "malformed header");
    /* a tag longer than the file */
    t[9] = 0;
    t[8] = 0x7F;
    expect_error(t, 54, PROV_EFORMAT, "nothing after the ID3 tag");
    /* the store's frame compressed */
    uint8_t z[128] = {'I', 'D', '3', 4, 0, 0, 0, 0, 0, 60};
    static const char geob[] = "GEOB\0\0\0\x30\0\x08\0application/c2pa\0c2pa\0d\0";
    memcpy(z + 10, geob, sizeof geob - 1);
    memcpy(z + 70, mp3, 4);
    expect_error(z, 74, PROV_EUNSUPPORTED, "compressed or encrypted");
}

/* An ID3v2.2 tag is read (no store) but not rewritten: signing says why. */
static void test_id3v22_refused(void **state)
{
    (void)state;
    assert_int_equal(sh(FF SINE "-id3v2_version 0 raw.mp3"), 0);
    assert_int_equal(sh("printf 'ID3\\002\\000\\000\\000\\000\\000\\012TT2\\000\\000\\004\\000abc' > v22.mp3 && "
                        "dd if=raw.mp3 of=v22.mp3 oflag=append conv=notrunc status=none"), 0);
    int vrc = sh("%s verify v22.mp3", P);
    output_has("unsigned");
    assert_int_equal(vrc, 1);
    assert_int_equal(sh("%s sign v22.mp3 -o s-v22.mp3 --key k", P), 2);
    output_has("v2.3 and v2.4");
    assert_int_not_equal(sh("test -e s-v22.mp3"), 0);
}

/* Sidecars: the media untouched, found beside the file, or named. */
static void test_sidecar(void **state)
{
    (void)state;
    const char *names[] = {"sc.wav", "sc.gif", "sc.mp3", "sc.m4a"};
    const char *makes[] = {SINE, PICT, SINE, SINE "-c:a aac"};
    for (size_t i = 0; i < 4; i++) {
        const char *n = names[i];
        assert_int_equal(sh(FF "%s %s && cp %s orig-%s", makes[i], n, n, n), 0);
        assert_int_equal(sh("%s sign %s --sidecar --key k", P, n), 0);
        output_has("sc.c2pa");
        assert_int_equal(sh("cmp %s orig-%s", n, n), 0); /* untouched */
        /* found beside it (NAME.c2pa) and named in the JSON */
        assert_int_equal(sh("%s verify %s --trust ca/root.pem --json", P, n), 0);
        output_has("\"state\":\"trusted\"");
        output_has("\"manifest_source\":\"sc.c2pa\"");
        /* or given; then FILE.c2pa also found */
        assert_int_equal(sh("mv sc.c2pa side-%s.c2pa", n), 0);
        assert_int_equal(sh("%s verify %s --manifest side-%s.c2pa --trust ca/root.pem", P, n, n), 0);
        assert_int_equal(sh("%s verify %s", P, n), 1); /* no sidecar now: unsigned */
        output_has("unsigned");
        assert_int_equal(sh("cp side-%s.c2pa %s.c2pa", n, n), 0);
        assert_int_equal(sh("%s verify %s --trust ca/root.pem", P, n), 0);
        output_has("trusted");
        /* one byte of the media changed */
        assert_int_equal(sh("sz=$(stat -c %%s %s); printf 'Z' | dd of=%s bs=1 seek=$((sz/2)) conv=notrunc status=none", n, n), 0);
        assert_int_equal(sh("%s verify %s --manifest side-%s.c2pa --trust ca/root.pem", P, n, n), 1);
        output_has(i == 3 ? "assertion.bmffHash.mismatch" : "assertion.dataHash.mismatch");
        assert_int_equal(sh("rm -f %s.c2pa", n), 0);
    }
    /* an embedded store used as a sidecar: its exclusion would leave the
     * store's bytes unbound, so it does not bind the file from outside */
    assert_int_equal(sh(FF SINE "emb.wav"), 0);
    assert_int_equal(sh("%s sign emb.wav -o s-emb.wav --key k", P), 0);
    size_t len;
    char path[600];
    snprintf(path, sizeof path, "%s/s-emb.wav", D);
    uint8_t *w = tu_read(path, &len);
    size_t off = 12, at = 0, sz = 0;
    while (off + 8 <= len) {
        size_t csz = w[off + 4] | w[off + 5] << 8 | w[off + 6] << 16 | (size_t)w[off + 7] << 24;
        if (!memcmp(w + off, "C2PA", 4)) { at = off + 8; sz = csz; }
        off += 8 + csz + (csz & 1);
    }
    assert_true(sz > 0);
    snprintf(path, sizeof path, "%s/emb.c2pa.x", D);
    tu_write(path, w + at, sz);
    free(w);
    assert_int_equal(sh("%s verify s-emb.wav --manifest emb.c2pa.x --trust ca/root.pem", P), 1);
    output_has("assertion.dataHash.mismatch");
    /* a store alone: inspected; verify says what to do */
    assert_int_equal(sh("%s inspect emb.c2pa.x", P), 0);
    output_has("application/c2pa");
    assert_int_equal(sh("%s verify emb.c2pa.x", P), 2);
    output_has("--manifest");
    assert_int_equal(sh("%s sign emb.c2pa.x -o x.wav --key k", P), 2);
    output_has("manifest store alone");
    /* a batch of sidecars into a folder; two inputs that would share NAME.c2pa are refused first */
    assert_int_equal(sh("mkdir -p sides && cp emb.wav b1.wav && cp sc.gif b2.gif"), 0);
    assert_int_equal(sh("%s sign b1.wav b2.gif -d sides --sidecar --key k", P), 0);
    assert_int_equal(sh("test -s sides/b1.c2pa && test -s sides/b2.c2pa && cmp b1.wav emb.wav"), 0);
    assert_int_equal(sh("%s verify b1.wav --manifest sides/b1.c2pa --trust ca/root.pem", P), 0);
    assert_int_equal(sh("cp b1.wav b2.wav"), 0);
    assert_int_equal(sh("%s sign b2.wav b2.gif -d sides --sidecar --key k", P), 2);
    output_has("two inputs have this name");
    /* refusals */
    assert_int_equal(sh("%s verify s-emb.wav --manifest nosuch.c2pa", P), 2);
    output_has("cannot read the manifest");
    assert_int_equal(sh("%s sign emb.wav --sidecar --in-place --key k", P), 2);
    output_has("not with --in-place");
}

/* Remote manifests: the reference written, reported, fetched (from a
 * loopback server), bounded, refused where it cannot go. */
static void test_remote(void **state)
{
    (void)state;
    assert_int_equal(sh("mkdir -p www && cp %s/samples/teapot.jpg rt.jpg && cp %s/samples/kodim01.png rt.png", R, R), 0);
    assert_int_equal(tu_sh("cd %s && (python3 -m http.server 0 --bind 127.0.0.1 --directory www >http.log 2>&1 & echo $! >http.pid)", D), 0);
    int port = 0;
    for (int i = 0; i < 100 && !port; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s/http.log", D);
        FILE *f = fopen(p, "r");
        char line[256];
        while (f && fgets(line, sizeof line, f))
            if (strstr(line, " port ")) port = atoi(strstr(line, " port ") + 6);
        if (f) fclose(f);
        if (!port) usleep(100000);
    }
    assert_true(port > 0);
    for (int k = 0; k < 2; k++) {
        const char *n = k ? "rt.png" : "rt.jpg";
        assert_int_equal(sh("%s sign %s -o r-%s --key k --remote-url http://127.0.0.1:%d/m-%s.c2pa --manifest-out www/m-%s.c2pa",
                            P, n, n, port, n, n), 0);
        output_has("publish it at");
        /* reported, not fetched */
        assert_int_equal(sh("%s verify r-%s --no-detect --json", P, n), 1);
        output_has("\"state\":\"remote\"");
        output_has("\"remote_manifest\":\"http://127.0.0.1:");
        /* fetched */
        assert_int_equal(sh("%s verify r-%s --no-detect --json --fetch-remote --trust ca/root.pem", P, n), 0);
        output_has("\"state\":\"trusted\"");
        output_has("\"manifest_source\":\"http://127.0.0.1:");
        /* named */
        assert_int_equal(sh("%s verify r-%s --manifest www/m-%s.c2pa --trust ca/root.pem", P, n, n), 0);
        /* the file changed after signing: the fetched store no longer binds it */
        assert_int_equal(sh("cp r-%s x-%s && sz=$(stat -c %%s x-%s); printf 'Z' | dd of=x-%s bs=1 seek=$((sz-20)) conv=notrunc status=none",
                            n, n, n, n), 0);
        assert_int_equal(sh("%s verify x-%s --no-detect --fetch-remote --trust ca/root.pem", P, n), 1);
        output_has("dataHash.mismatch");
    }
    /* the other formats: the reference in each one's place for XMP; the
     * media decode as before; fetched, the store binds the whole file */
    static const char *media[] = {"a.webp", "l.webp", "x.webp", "a.gif", "m.gif", "a.wav", "a.avi",
                                  "a.mp3", "b.mp3", "c.mp3", "a.flac", "a.tif", "b.tif", "a.m4a"};
    for (size_t i = 0; i < sizeof media / sizeof media[0]; i++) {
        const char *n = media[i];
        if (sh("%s sign orig-%s -o r-%s --key k --remote-url http://127.0.0.1:%d/m-%s.c2pa --manifest-out www/m-%s.c2pa",
               P, n, n, port, n, n))
            fail_msg("remote signing of %s failed", n);
        char rn[64], on[64];
        snprintf(rn, sizeof rn, "r-%s", n);
        snprintf(on, sizeof on, "orig-%s", n);
        same_decode(on, rn);
        assert_int_equal(sh("%s verify %s --no-detect --json", P, rn), 1);
        output_has("\"state\":\"remote\"");
        assert_int_equal(sh("%s verify %s --no-detect --json --fetch-remote --trust ca/root.pem", P, rn), 0);
        output_has("\"state\":\"trusted\"");
        /* once is enough: the XMP is there now */
        assert_int_equal(sh("%s sign %s -o rr-%s --key k --remote-url https://example.com/x.c2pa", P, rn, n), 2);
        output_has("already carries XMP");
    }
    /* a WebP's header says it has XMP: the simple lossy one gained a VP8X */
    assert_int_equal(sh("webpinfo r-a.webp"), 0);
    output_has("Chunk VP8X");
    output_has("XMP: 1");
    output_has("No error detected");
    assert_int_equal(sh("webpinfo r-x.webp"), 0);
    output_has("Alpha: 1");
    output_has("XMP: 1");
    /* a TIFF's reference is tag 700 in its (new) first directory */
    assert_int_equal(sh("tiffinfo r-a.tif"), 0);
    output_has("XMLPacket");
    output_has("dcterms:provenance=\"http://127.0.0.1:");
    /* an MP4 with video: the XMP box after ftyp moves the media, whose
     * offsets are patched; FFmpeg decodes the same frames */
    assert_int_equal(sh(FF "-f lavfi -i testsrc=size=64x48:rate=10 -f lavfi -i sine=duration=1 -t 1 -c:v mpeg4 -c:a aac rv.mp4"), 0);
    assert_int_equal(sh("%s sign rv.mp4 -o r-rv.mp4 --key k --remote-url http://127.0.0.1:%d/m-rv.c2pa --manifest-out www/m-rv.c2pa",
                        P, port), 0);
    same_decode("rv.mp4", "r-rv.mp4");
    assert_int_equal(sh("%s verify r-rv.mp4 --no-detect --json --fetch-remote --trust ca/root.pem", P), 0);
    output_has("\"state\":\"trusted\"");
    output_has("assertion.bmffHash.match");
    /* a byte of the audio changed: the fetched store no longer binds it */
    assert_int_equal(sh("cp r-a.flac x.flac && sz=$(stat -c %%s x.flac); printf 'Z' | dd of=x.flac bs=1 seek=$((sz-20)) conv=notrunc status=none"), 0);
    assert_int_equal(sh("%s verify x.flac --no-detect --fetch-remote --trust ca/root.pem", P), 1);
    output_has("dataHash.mismatch");
    /* gone from the server: still remote, and the reason said */
    assert_int_equal(sh("rm www/m-rt.jpg.c2pa"), 0);
    assert_int_equal(sh("%s verify r-rt.jpg --no-detect --fetch-remote", P), 1);
    output_has("HTTP 404");
    output_has("remote");
    /* a manifest over 48 MiB is not taken */
    assert_int_equal(sh("dd if=/dev/zero of=www/m-rt.jpg.c2pa bs=1000000 count=51 status=none"), 0);
    assert_int_equal(sh("%s verify r-rt.jpg --no-detect --fetch-remote", P), 1);
    output_has("larger than");
    /* refusals: a file with XMP already, a format without a place for it, a URL that needs escaping */
    assert_int_equal(sh("%s sign r-rt.jpg -o r2.jpg --key k --remote-url https://example.com/x.c2pa", P), 2);
    output_has("already carries XMP");
    assert_int_equal(sh(FF PICT "-pix_fmt rgb24 rt1.tif && tiffcp rt1.tif rt1.tif rt.tif"), 0);
    assert_int_equal(sh("%s sign rt.tif -o r.tif --key k --remote-url https://example.com/x.c2pa", P), 2);
    output_has("single-page TIFF and DNG only");
    assert_int_equal(sh("%s sign rt.jpg -o r3.jpg --key k --remote-url 'https://example.com/a\"b'", P), 2);
    output_has("remote URL");
    assert_int_not_equal(sh("test -e r2.jpg || test -e r.tif || test -e r3.jpg || test -e r2.c2pa || test -e r3.c2pa"), 0);
    /* an output (or manifest) that is a link or a device is not renamed over */
    assert_int_equal(sh("echo keep > target.txt && ln -sf target.txt link.jpg"), 0);
    assert_int_equal(sh("%s sign rt.jpg -o link.jpg --key k", P), 2);
    output_has("not a regular file");
    assert_int_equal(sh("%s sign rt.jpg -o r4.jpg --key k --remote-url https://example.com/x.c2pa --manifest-out link.jpg", P), 2);
    output_has("not a regular file");
    assert_int_equal(sh("test -L link.jpg && grep -qx keep target.txt && test ! -e r4.jpg"), 0);
    tu_sh("kill $(cat %s/http.pid) 2>/dev/null", D);
}

static long rd_only(void *u, void *buf, size_t len)
{
    FILE *f = u;
    return (long)fread(buf, 1, len, f);
}

/* Without seek (a pipe), the formats that need one say so. */
static void test_needs_seek(void **state)
{
    (void)state;
    assert_int_equal(sh(FF SINE "p.wav"), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/p.wav", D);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    prov_stream s;
    memset(&s, 0, sizeof s);
    s.read = rd_only;
    s.user = f;
    prov_ctx *ctx;
    assert_int_equal(prov_ctx_new(&ctx), 0);
    prov_report *r = NULL;
    assert_int_equal(prov_verify(ctx, NULL, &s, &r), PROV_EUNSUPPORTED);
    assert_non_null(strstr(prov_errmsg(ctx), "seekable"));
    prov_report_free(r);
    prov_ctx_free(ctx);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_verify_each_format),
        cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_hostile_riff),
        cmocka_unit_test(test_hostile_gif),
        cmocka_unit_test(test_tiff_forms),
        cmocka_unit_test(test_hostile_tiff),
        cmocka_unit_test(test_hostile_id3),
        cmocka_unit_test(test_id3v22_refused),
        cmocka_unit_test(test_sidecar),
        cmocka_unit_test(test_remote),
        cmocka_unit_test(test_needs_seek),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
