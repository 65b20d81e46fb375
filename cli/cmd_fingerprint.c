/* cmd_fingerprint.c - prov fingerprint: the soft-binding fingerprint of a
 * file (PDQ for a picture, prov.chroma.1 for sound), or how near two files'
 * are, as the manifest repository would judge them. */
#include "audio.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: prov fingerprint FILE [FILE2] [--words]\n"
    "\n"
    "Prints, as one line of JSON, the fingerprint prov signs into a file and\n"
    "looks a stripped copy up by (docs/soft-binding.md): PDQ for a JPEG or PNG,\n"
    "prov.chroma.1 for sound (an audio file, decoded with FFmpeg).  With\n"
    "FILE2, how near the two are and whether the repository would call them\n"
    "a match.\n"
    "\n"
    "  --words   also print the audio fingerprint's words (hex, 8 a second)\n"
    "\n"
    "exit status: 0 done (two files: they match), 1 two files that do not\n"
    "match, 2 error.\n";

typedef struct fp {
    int audio; /* 1 sound, 0 picture */
    uint8_t pdq[PROV_PDQ_BYTES];
    int quality;
    uint32_t *w;
    size_t n;
} fp;

static int take(const char *path, fp *f)
{
    memset(f, 0, sizeof *f);
    prov_ctx *ctx = NULL;
    if (prov_ctx_new(&ctx)) return err("out of memory");
    int rc = prov_pdq_file(ctx, path, f->pdq, &f->quality);
    if (rc == 0) {
        prov_ctx_free(ctx);
        return 0;
    }
    char pmsg[300];
    snprintf(pmsg, sizeof pmsg, "%s", prov_errmsg(ctx));
    prov_ctx_free(ctx);
    if (rc != PROV_EUNSUPPORTED) return err("%s: %s", path, pmsg);
    char why[600];
    int a = audio_fingerprint(path, 0, &f->w, &f->n, why, sizeof why);
    if (a < 0) return err("%s: %s", path, why);
    if (a == 0) return err("%s: not a JPEG or PNG, and %s", path, why);
    f->audio = 1;
    return 0;
}

static double secs(double words) { return words * 1365.0 / PROV_AFP_RATE; }

int cmd_fingerprint(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        fputs(USAGE, stdout);
        return EXIT_OKAY;
    }
    const char *files[2] = {0};
    int nf = 0, words = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--words")) words = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return err("unknown option %s (see prov fingerprint --help)", argv[i]);
        else if (nf < 2) files[nf++] = argv[i];
        else return err("at most two files");
    }
    if (!nf) die_usage(USAGE);
    fp f[2];
    memset(f, 0, sizeof f);
    int rc = EXIT_OKAY;
    for (int i = 0; i < nf; i++)
        if ((rc = take(files[i], &f[i]))) goto out;
    char *q0 = json_quote(files[0]);
    if (!q0) { rc = err("out of memory"); goto out; }
    if (nf == 1 && !f[0].audio) {
        char hex[2 * PROV_PDQ_BYTES + 1];
        prov_pdq_hex(f[0].pdq, hex);
        printf("{\"file\":%s,\"kind\":\"picture\",\"alg\":\"prov.pdq.1\",\"pdq\":\"%s\",\"quality\":%d}\n", q0, hex,
               f[0].quality);
    } else if (nf == 1) {
        size_t quiet = 0;
        for (size_t i = 0; i < f[0].n; i++) quiet += !f[0].w[i];
        printf("{\"file\":%s,\"kind\":\"audio\",\"alg\":\"prov.chroma.1\",\"words\":%zu,\"seconds\":%.1f,"
               "\"quiet_words\":%zu,\"matchable\":%s",
               q0, f[0].n, secs((double)f[0].n + 11), quiet, f[0].n - quiet >= PROV_AFP_MIN_WORDS ? "true" : "false");
        if (words) {
            printf(",\"value\":\"");
            for (size_t i = 0; i < f[0].n; i++) printf("%08x", f[0].w[i]);
            printf("\"");
        }
        printf("}\n");
    } else if (f[0].audio != f[1].audio) {
        rc = err("one is a picture and the other sound: they cannot be compared");
    } else {
        char *q1 = json_quote(files[1]);
        if (!q1) { free(q0); rc = err("out of memory"); goto out; }
        if (!f[0].audio) {
            int d = prov_pdq_distance(f[0].pdq, f[1].pdq);
            printf("{\"a\":%s,\"b\":%s,\"alg\":\"prov.pdq.1\",\"distance\":%d,\"match\":%s}\n", q0, q1, d,
                   d <= PROV_PDQ_MATCH_DISTANCE ? "true" : "false");
            rc = d <= PROV_PDQ_MATCH_DISTANCE ? EXIT_OKAY : EXIT_INVALID;
        } else {
            prov_afp_match m;
            int c = prov_afp_compare(f[1].w, f[1].n, f[0].w, f[0].n, &m);
            int match = !c && m.overlap >= PROV_AFP_MIN_WORDS && m.ber <= PROV_AFP_MATCH_BER;
            if (c == 0)
                printf("{\"a\":%s,\"b\":%s,\"alg\":\"prov.chroma.1\",\"ber\":%.3f,\"offset_s\":%.2f,\"overlap_s\":%.1f,"
                       "\"match\":%s}\n",
                       q0, q1, m.ber, secs((double)m.offset), secs((double)m.overlap), match ? "true" : "false");
            else
                printf("{\"a\":%s,\"b\":%s,\"alg\":\"prov.chroma.1\",\"ber\":null,\"match\":false}\n", q0, q1);
            rc = match ? EXIT_OKAY : EXIT_INVALID;
        }
        free(q1);
    }
    free(q0);
out:
    free(f[0].w);
    free(f[1].w);
    return rc;
}
