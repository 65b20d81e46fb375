/* test_audio.c - soft binding for sound through the prov command: a speech
 * clip (tests/vectors/audio/jfk.mp3, public domain) is signed and
 * published; copies re-encoded by ffmpeg (AAC, Opus, 8 kHz, a cut) and
 * stripped of the manifest find it by their audio fingerprint in prov
 * verify; synthetic sound does not; prov fingerprint; what is not
 * fingerprinted (video, --no-soft-binding) and hostile audio. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *P; /* the prov binary (absolute) */
static char D[512];   /* the test folder */
static char R[512];   /* the repository (the tests run from it) */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[3000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return tu_sh("cd %s && export PROV_PASSPHRASE='test pass' && %s >out.txt 2>&1", D, cmd);
}

static char *output(void)
{
    char p[600];
    snprintf(p, sizeof p, "%s/out.txt", D);
    return (char *)tu_read(p, NULL);
}

/* The exit status a command must have; its output shown when not. */
#define expect(want, rc)                                                                                     \
    do {                                                                                                    \
        int got_ = (rc);                                                                                    \
        if (got_ != (want)) {                                                                               \
            char *o_ = output();                                                                            \
            fail_msg("exit %d, not %d:\n%s", got_, (want), o_);                                             \
        }                                                                                                   \
    } while (0)

static void output_has(const char *s)
{
    char *o = output();
    if (!strstr(o, s)) fail_msg("output lacks \"%s\":\n%s", s, o);
    free(o);
}

static void output_lacks(const char *s)
{
    char *o = output();
    if (strstr(o, s)) fail_msg("output has \"%s\":\n%s", s, o);
    free(o);
}

/* A number after key in the output. */
static double output_num(const char *key)
{
    char *o = output(), *p = strstr(o, key);
    if (!p) fail_msg("output lacks %s:\n%s", key, o);
    double v = atof(p + strlen(key));
    free(o);
    return v;
}

#define FF "ffmpeg -nostdin -loglevel error -y "
#define MUSIC                                                                                                  \
    "-f lavfi -i \"aevalsrc='st(0,floor(t*2));st(1,98*pow(2,floor(12*abs(sin(ld(0)*7.1+2)))/12));"         \
    "0.3*exp(-3*(t*2-ld(0)))*(sin(2*PI*ld(1)*t)+0.4*sin(2*PI*ld(1)*pow(2,4/12)*t)+0.3*sin(2*PI*ld(1)*1.5*t))'" \
    ":s=44100:d=15\" "

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
    if (sh("cp %s/tests/vectors/audio/jfk.mp3 .", R)) return -1;
    if (sh("%s registry init reg --origin example.org/prov-audio-test", P)) return -1;
    if (sh("%s keygen -o k --subject 'Ann Voice'", P)) return -1;
    if (sh("%s register --registry reg --key k --name 'Ann Voice' --org 'Radio One'", P)) return -1;
    if (sh(FF MUSIC "music.wav")) return -1;
    return 0;
}

static void test_sign_publish_lookup(void **state)
{
    (void)state;
    expect(0, sh("%s sign jfk.mp3 -o s.mp3 --key k --publish reg", P));
    output_has("published its manifest to reg/manifests");
    expect(0, sh("%s inspect --json s.mp3", P));
    output_has("\"alg\":\"prov.chroma.1\"");
    /* the signed file itself: valid, its own manifest, no lookup */
    expect(0, sh("%s verify --json s.mp3 --registry reg", P));
    output_has("\"state\":\"trusted\"");
    output_lacks("derived_from");
    /* copies: re-encoded (which drops the ID3 tag and its manifest) */
    const char *copies[][2] = {
        {"-c:a aac -b:a 64k", "c.m4a"},
        {"-c:a libopus -b:a 24k", "c.opus"},
        {"-ar 8000 -c:a pcm_s16le", "c8k.wav"},
        {"-c:a libmp3lame -b:a 32k -map_metadata -1 -id3v2_version 0", "c.mp3"},
    };
    for (size_t i = 0; i < sizeof copies / sizeof copies[0]; i++) {
        expect(0, sh(FF "-i s.mp3 %s %s", copies[i][0], copies[i][1]));
        expect(1, sh("%s verify --json %s --registry reg", P, copies[i][1]));
        output_has("\"state\":\"unsigned\"");
        output_has("\"derived_from\":[{\"ber\":");
        output_has("\"fingerprint\":\"prov.chroma.1\"");
        output_has("\"manifest_state\":\"trusted\"");
        output_has("\"name\":\"Ann Voice\",\"org\":\"Radio One\"");
        assert_true(output_num("\"ber\":") < 0.1);
    }
    /* Ogg Opus (voice notes) can carry no manifest: unsigned, and said why */
    expect(1, sh("%s verify --json c.opus --registry reg", P));
    output_has("\"informational\":[\"prov.format.noManifestPlace\"]");
    /* ... and without a registry it is a file prov cannot read */
    expect(2, sh("%s verify --json c.opus", P));
    output_has("not a format prov reads");
    /* the text form says it is a likeness, not a signature */
    expect(1, sh("%s verify c.m4a --registry reg", P));
    output_has("unsigned");
    output_has("like:     \"s.mp3\" signed by Ann Voice (sound fingerprint");
    output_has("this file is not signed");
    /* a 6 s clip from 3 s in: found, and where */
    expect(0, sh(FF "-ss 3 -t 6 -i s.mp3 -c:a aac clip.m4a"));
    expect(1, sh("%s verify --json clip.m4a --registry reg", P));
    output_has("\"fingerprint\":\"prov.chroma.1\"");
    double off = output_num("\"offset_s\":");
    assert_true(off > 2.7 && off < 3.3);
    /* other sound: nothing */
    expect(1, sh("%s verify --json music.wav --registry reg", P));
    output_has("\"derived_from\":[]");
    /* too little sound to look up: said so */
    expect(0, sh(FF "-t 2.2 -i s.mp3 -c:a aac short.m4a"));
    expect(1, sh("%s verify --json short.m4a --registry reg", P));
    output_has("\"lookup_error\":\"too little sound to look up");
    /* without a registry, no lookup */
    expect(1, sh("%s verify --json c.m4a", P));
    output_lacks("derived_from");
}

/* prov serve: an uploaded voice note is looked up as prov verify does */
static void test_serve_lookup(void **state)
{
    (void)state;
    expect(0, sh("(%s serve --listen 127.0.0.1:0 --registry reg 2>serve.log & echo $! >serve.pid); "
                 "for i in $(seq 100); do grep -q 'listening on' serve.log && break; sleep 0.05; done; "
                 "sed -n 's|.*listening on http://127.0.0.1:\\([0-9]*\\)/.*|\\1|p' serve.log >port.txt; test -s port.txt",
                 P));
    expect(0, sh("curl -s --max-time 30 --data-binary @c.opus \"http://127.0.0.1:$(cat port.txt)/v1/verify?name=c.opus\""));
    output_has("\"state\":\"unsigned\"");
    output_has("\"derived_from\":[{\"ber\":");
    output_has("\"name\":\"Ann Voice\",\"org\":\"Radio One\"");
    expect(0, sh("curl -s --max-time 30 --data-binary @music.wav \"http://127.0.0.1:$(cat port.txt)/v1/verify?name=m.wav\""));
    output_has("\"derived_from\":[]");
    tu_sh("kill $(cat %s/serve.pid) 2>/dev/null", D);
}

static void test_batch_publish(void **state)
{
    (void)state;
    expect(0, sh("cp music.wav two.wav && mkdir -p outd"));
    expect(0, sh("%s sign jfk.mp3 two.wav -d outd --key k --publish reg --jobs 2", P));
    expect(0, sh(FF "-i outd/two.wav -c:a libopus -b:a 32k two.opus"));
    expect(1, sh("%s verify --json two.opus --registry reg", P));
    output_has("\"fingerprint\":\"prov.chroma.1\"");
    output_has("\"title\":\"two.wav\"");
    output_lacks("\"title\":\"jfk.mp3\"");
    /* the speech, signed twice (s.mp3, then outd/jfk.mp3): both found */
    expect(0, sh(FF "-i outd/jfk.mp3 -c:a aac j.m4a"));
    expect(1, sh("%s verify --json j.m4a --registry reg", P));
    output_has("\"title\":\"jfk.mp3\"");
    output_has("\"title\":\"s.mp3\"");
    output_lacks("\"title\":\"two.wav\"");
}

static void test_fingerprint_command(void **state)
{
    (void)state;
    expect(0, sh("%s fingerprint jfk.mp3", P));
    output_has("\"kind\":\"audio\",\"alg\":\"prov.chroma.1\"");
    output_has("\"matchable\":true");
    expect(0, sh("%s fingerprint jfk.mp3 c.m4a", P));
    output_has("\"match\":true");
    expect(1, sh("%s fingerprint jfk.mp3 music.wav", P));
    output_has("\"match\":false");
    expect(0, sh("%s fingerprint --words music.wav", P));
    output_has("\"value\":\"");
    expect(0, sh(FF "-f lavfi -i testsrc=size=64x64 -frames:v 1 pic.png"));
    expect(0, sh("%s fingerprint pic.png", P));
    output_has("\"alg\":\"prov.pdq.1\"");
    expect(2, sh("%s fingerprint jfk.mp3 pic.png", P));
    output_has("cannot be compared");
    expect(2, sh("head -c 5000 /dev/urandom > junk.bin && %s fingerprint junk.bin", P));
    output_has("junk.bin: ");
    expect(2, sh("%s fingerprint", P));
    expect(0, sh("%s fingerprint --help", P));
    output_has("usage: prov fingerprint");
}

static void test_not_fingerprinted(void **state)
{
    (void)state;
    expect(0, sh("%s sign jfk.mp3 -o n.mp3 --key k --no-soft-binding", P));
    expect(0, sh("%s inspect --json n.mp3", P));
    output_lacks("prov.chroma.1");
    /* a video's sound is not fingerprinted (video has no soft binding) */
    expect(0, sh(FF "-f lavfi -i testsrc=size=64x48:rate=10 -i jfk.mp3 -t 4 -c:v mpeg4 -c:a aac v.mp4"));
    expect(0, sh("%s sign v.mp4 -o vs.mp4 --key k", P));
    expect(0, sh("%s inspect --json vs.mp4", P));
    output_lacks("prov.chroma.1");
    expect(2, sh("%s sign v.mp4 -o vp.mp4 --key k --publish reg", P));
    output_has("publishing needs a fingerprint");
}

/* Sound FFmpeg cannot fingerprint: signed without (a warning), never
 * published without a fingerprint; no crash either way. */
static void test_hostile_audio(void **state)
{
    (void)state;
    /* a WAV that says 1 sample a second */
    static const unsigned char wav[44 + 8] = {
        'R', 'I', 'F', 'F', 44, 0, 0, 0, 'W', 'A', 'V', 'E', 'f', 'm', 't', ' ', 16, 0, 0, 0, 1, 0, 1, 0,
        1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 16, 0, 'd', 'a', 't', 'a', 8, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};
    char p[600];
    snprintf(p, sizeof p, "%s/slow.wav", D);
    tu_write(p, wav, sizeof wav);
    expect(0, sh("%s sign slow.wav -o slow.s.wav --key k", P));
    output_has("signed without an audio fingerprint");
    expect(2, sh("%s sign slow.wav -o slow.p.wav --key k --publish reg", P));
    output_has("cannot publish without a fingerprint");
    expect(0, sh("test ! -e slow.p.wav"));
    /* a truncated MP3: what decodes is fingerprinted */
    expect(0, sh("head -c 30000 jfk.mp3 > cut.mp3 && %s sign cut.mp3 -o cut.s.mp3 --key k", P));
    expect(0, sh("%s fingerprint cut.mp3", P));
    output_has("\"kind\":\"audio\"");
    /* an MP3 with its frames overwritten by noise past the header */
    expect(0, sh("cp jfk.mp3 noisy.mp3 && head -c 20000 /dev/urandom | "
                        "dd of=noisy.mp3 bs=1 seek=4000 conv=notrunc status=none && %s sign noisy.mp3 -o noisy.s.mp3 --key k",
                        P));
    expect(0, sh("%s verify --json noisy.s.mp3", P));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_publish_lookup),
        cmocka_unit_test(test_serve_lookup),
        cmocka_unit_test(test_batch_publish),
        cmocka_unit_test(test_fingerprint_command),
        cmocka_unit_test(test_not_fingerprinted),
        cmocka_unit_test(test_hostile_audio),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
