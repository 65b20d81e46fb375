/* harness.cpp - the CUDA back end's code (rewritten for the host shim by
 * to_host.py) against the CPU path, on crops of three sizes in one call;
 * prints the largest |difference| and exits 1 when it is over 1e-3. */
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "backend.h"
#include "prov.h"

extern "C" int npr_load(prov_ctx *ctx, const uint8_t *p, size_t n, npr_net *net);
extern "C" const npr_backend *prov_cuda_backend(int abi);

static uint32_t synth(uint32_t x, uint32_t y, uint32_t c, uint32_t seed)
{
    uint32_t h = (x * 73856093u) ^ (y * 19349663u) ^ ((c + seed) * 83492791u);
    h *= 2654435761u;
    uint32_t smooth = x * 3 + y * 5 + c * 60 + ((x * y) % 37) * 2;
    return (smooth + ((h >> 24) % 48)) & 255;
}

int main(int argc, char **argv)
{
    const char *model = argc > 1 ? argv[1] : "tests/vectors/detector/npr_random_f16.provnpr";
    prov_ctx *ctx;
    prov_detector *d;
    if (prov_ctx_new(&ctx) || prov_detector_open(ctx, model, &d)) {
        fprintf(stderr, "open: %s\n", prov_errmsg(ctx));
        return 2;
    }
    FILE *f = fopen(model, "rb");
    std::vector<uint8_t> buf(8 << 20);
    size_t n = fread(buf.data(), 1, buf.size(), f);
    fclose(f);
    npr_net net = {};
    if (npr_load(ctx, buf.data(), n, &net)) return 2;
    const uint32_t W = 300, H = 300;
    std::vector<uint8_t> img((size_t)W * H * 3);
    for (uint32_t y = 0; y < H; y++)
        for (uint32_t x = 0; x < W; x++)
            for (uint32_t c = 0; c < 3; c++) img[((size_t)y * W + x) * 3 + c] = (uint8_t)synth(x, y, c, 3);
    size_t stride = (size_t)W * 3;
    /* three sizes, the full one twice (grouping, order kept) */
    npr_crop crops[4] = {{&img[0], 256, 256, stride},
                         {&img[20 * stride + 3 * 10], 130, 100, stride},
                         {&img[44 * stride + 3 * 44], 256, 256, stride},
                         {&img[2 * stride + 3 * 250], 50, 38, stride}};
    const npr_backend *be = prov_cuda_backend(NPR_BACKEND_ABI);
    void *st = nullptr;
    char err[512] = "";
    if (!be || be->open(&net, &st, err, sizeof err)) {
        fprintf(stderr, "open (shim): %s\n", err);
        return 2;
    }
    printf("back end: %s (%s)\n", be->name, be->describe(st));
    float got[4];
    if (be->score(st, crops, 4, 1, got, err, sizeof err)) {
        fprintf(stderr, "score (shim): %s\n", err);
        return 2;
    }
    double worst = 0;
    for (int i = 0; i < 4; i++) {
        prov_detector_result r;
        if (prov_detector_score_rgb(ctx, d, crops[i].p, crops[i].cw, crops[i].ch, stride, &r)) return 2;
        double e = std::fabs((double)got[i] - r.logit);
        printf("crop %d %ux%u: CUDA code %.6f, CPU path %.6f, |diff| %.2g\n", i, crops[i].cw, crops[i].ch,
               got[i], r.logit, e);
        if (!(e <= worst)) worst = std::isnan(e) ? INFINITY : e;
    }
    be->close(st);
    printf("max |CUDA code (host shim) - CPU path| = %.3g\n", worst);
    prov_detector_free(d);
    prov_ctx_free(ctx);
    return worst <= 1e-3 ? 0 : 1;
}
