/* cmd_scan.c - prov scan: how likely each file is AI-made, by the
 * detector (detector/, through cli/detect.c). */
#include "cli.h"
#include "detect.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: prov scan FILE... [--json] [--device cpu|cuda|auto] [--threshold P]\n"
    "                 [--model FILE] [--threads N] [--frames N]\n"
    "\n"
    "Score how likely each JPEG, PNG or video is AI-made or AI-altered, with the\n"
    "NPR detector (a probability with a measured error rate, not proof).\n"
    "Images are never resized: 256x256 crops (up to 16) are scored and their\n"
    "logits averaged.  Videos: N evenly spaced frames are scored and the video's\n"
    "logit is the mean of the top quarter of the frame logits; those frames are\n"
    "reported (index, time).\n"
    "  --json         one JSON object per file per line: file, kind, probability,\n"
    "                 logit, crops, frames (video), device, backend, model,\n"
    "                 model_version, threshold, verdict (likely-ai-made|no-finding),\n"
    "                 false_positive_rate (at the model's own threshold); or file, error\n"
    "  --device D     cpu, cuda (an error without a GPU) or auto (default: cuda\n"
    "                 when a GPU and libprov_cuda.so are there, else cpu)\n"
    "  --threshold P  verdict threshold on the probability (default: the model's\n"
    "                 operating point, chosen so that at most 5% of held-out real\n"
    "                 photos are flagged; 0.5 for a model without one)\n"
    "  --model FILE   weights (PROVNPR1); default $PROV_MODEL, then the model\n"
    "                 beside the program (build tree or install)\n"
    "  --threads N    CPU worker threads (default: every CPU)\n"
    "  --frames N     video frames to sample (default 16, at most 256)\n"
    "A file at or above the threshold is \"likely AI-made\", below it \"no finding\"\n"
    "(which is not proof of a real photo either).  Exit 0 when every file scores\n"
    "below the threshold, 1 when any scores at or above it, 2 on an error (no\n"
    "model, a file that cannot be read).\n";

static int parse_num(const char *v, double lo, double hi, double *out)
{
    char *e;
    double d = strtod(v, &e);
    if (e == v || *e || !(d >= lo && d <= hi)) return -1;
    *out = d;
    return 0;
}

static void json_file(const char *file)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)file; *p; p++) {
        if (*p == '"' || *p == '\\') printf("\\%c", *p);
        else if (*p < 0x20) printf("\\u%04x", *p);
        else putchar(*p);
    }
    putchar('"');
}

int cmd_scan(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                          {"device", required_argument, 0, 'd'},
                                          {"threshold", required_argument, 0, 't'},
                                          {"model", required_argument, 0, 'm'},
                                          {"threads", required_argument, 0, 'T'},
                                          {"frames", required_argument, 0, 'f'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    if (wants_help(argc, argv)) {
        fputs(USAGE, stdout);
        return 0;
    }
    detect_cfg dc;
    detect_init(&dc);
    int json = 0, c;
    double v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
        if (c == 'j') json = 1;
        else if (c == 'd') {
            if (detect_parse_device(&dc, optarg)) return EXIT_ERROR;
        } else if (c == 't') {
            if (parse_num(optarg, 0, 1, &v)) return err("--threshold: '%s' is not a number from 0 to 1", optarg);
            dc.threshold = v;
            dc.threshold_set = 1;
        } else if (c == 'm') dc.model = optarg;
        else if (c == 'T') {
            if (parse_num(optarg, 0, 64, &v) || v != (unsigned)v) return err("--threads: '%s' is not 0 to 64", optarg);
            dc.threads = (unsigned)v;
        } else if (c == 'f') {
            if (parse_num(optarg, 1, DETECT_MAX_FRAMES, &v) || v != (unsigned)v)
                return err("--frames: '%s' is not 1 to %d", optarg, DETECT_MAX_FRAMES);
            dc.frames = (unsigned)v;
        } else die_usage(USAGE);
    }
    if (optind >= argc) die_usage(USAGE);
    if (detect_open(&dc)) {
        err("%s", dc.err);
        detect_free(&dc);
        return EXIT_ERROR;
    }
    detect_result *r = malloc(sizeof *r);
    if (!r) return err("out of memory");
    int worst = EXIT_OKAY;
    for (int k = optind; k < argc; k++) {
        const char *name = argv[k];
        int ex;
        if (detect_file(&dc, name, r)) {
            ex = EXIT_ERROR;
            if (json) {
                printf("{\"file\":");
                json_file(name);
                printf(",\"error\":");
                json_file(r->err);
                printf("}\n");
            }
            fprintf(stderr, "prov: %s: %s\n", name, r->err);
        } else {
            ex = r->probability >= dc.threshold ? EXIT_INVALID : EXIT_OKAY;
            if (json) {
                char *m = detect_json_members(&dc, r);
                if (!m) {
                    worst = err("out of memory");
                    break;
                }
                printf("{\"file\":");
                json_file(name);
                printf(",%s}\n", m);
                free(m);
            } else {
                detect_print(&dc, name, r);
            }
        }
        fflush(stdout);
        if (ex > worst) worst = ex;
    }
    free(r);
    detect_free(&dc);
    return worst;
}
