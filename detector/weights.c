/* weights.c - read a PROVNPR1 weights file (detector/README.md) into an
 * npr_net, folding each batch norm into the convolution before it.
 *
 * The file is hostile input: it is read from memory with every offset,
 * count and size checked against the bytes that are there, the CRC-32
 * trailer is checked before anything else, and every tensor the network
 * needs must be present exactly once with exactly its shape. */
#include "detector.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static float f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static float half_to_float(uint16_t h)
{
    uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31u, m = h & 1023u;
    if (e == 0) {
        float v = ldexpf((float)m, -24); /* zero or subnormal */
        return s ? -v : v;
    }
    if (e == 31) return f32_from_bits(s | 0x7f800000u | m << 13); /* inf or NaN */
    return f32_from_bits(s | (e + 112) << 23 | m << 13);
}

/* One tensor record of the file. */
typedef struct tdir {
    const uint8_t *name;
    size_t name_len;
    unsigned dtype, ndim;
    uint32_t dims[NPR_MAX_NDIM];
    size_t numel;
    const uint8_t *data;
    int used;
} tdir;

typedef struct loader {
    prov_ctx *ctx;
    tdir *dir;
    size_t ndir;
    float *tmp; /* raw (unfolded) conv weights */
} loader;

static int name_ok(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int has_suffix(const uint8_t *s, size_t n, const char *suf)
{
    size_t k = strlen(suf);
    return n >= k && !memcmp(s + n - k, suf, k);
}

static tdir *find(loader *L, const char *name)
{
    size_t k = strlen(name);
    for (size_t i = 0; i < L->ndir; i++)
        if (L->dir[i].name_len == k && !memcmp(L->dir[i].name, name, k)) return &L->dir[i];
    return NULL;
}

/* Copy the tensor called name, of shape dims[0..ndim), into dst as floats;
 * every value must be finite. */
static int fetch(loader *L, const char *name, unsigned ndim, const uint32_t *dims, float *dst)
{
    tdir *t = find(L, name);
    if (!t) return prov_seterr(L->ctx, PROV_EFORMAT, "detector weights: tensor %s missing", name);
    int same = t->ndim == ndim;
    for (unsigned i = 0; same && i < ndim; i++) same = t->dims[i] == dims[i];
    if (!same) {
        char got[64] = "", want[64] = "";
        for (unsigned i = 0; i < t->ndim; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%u", i ? "x" : "",
                     (unsigned)t->dims[i]);
        for (unsigned i = 0; i < ndim; i++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%u", i ? "x" : "",
                     (unsigned)dims[i]);
        return prov_seterr(L->ctx, PROV_EFORMAT,
                           "detector weights: tensor %s has shape [%s], expected [%s]", name, got,
                           want);
    }
    t->used = 1;
    for (size_t i = 0; i < t->numel; i++) {
        float v = t->dtype == NPR_DTYPE_F32 ? f32_from_bits(le32(t->data + 4 * i))
                                            : half_to_float(le16(t->data + 2 * i));
        if (!isfinite(v))
            return prov_seterr(L->ctx, PROV_EFORMAT,
                               "detector weights: tensor %s holds a value that is not finite",
                               name);
        dst[i] = v;
    }
    return 0;
}

/* The conv weight `wname` [cout][cin][k][k] and the batch norm `bn`
 * (bn.weight, .bias, .running_mean, .running_var), folded into c. */
static int load_conv(loader *L, const char *wname, const char *bn, npr_conv *c)
{
    uint32_t wd[4] = {(uint32_t)c->cout, (uint32_t)c->cin, (uint32_t)c->k, (uint32_t)c->k};
    uint32_t bd[1] = {(uint32_t)c->cout};
    int kk = c->k * c->k, cin = c->cin, cout = c->cout;
    float *raw = L->tmp, *g = raw + (size_t)cout * cin * kk, *be = g + cout, *mu = be + cout,
          *var = mu + cout;
    static const char *const part[4] = {"weight", "bias", "running_mean", "running_var"};
    float *dst[4] = {g, be, mu, var};
    char name[160];
    int rc = fetch(L, wname, 4, wd, raw);
    for (int i = 0; !rc && i < 4; i++) {
        snprintf(name, sizeof name, "%s.%s", bn, part[i]);
        rc = fetch(L, name, 1, bd, dst[i]);
    }
    if (rc) return rc;
    float *w = (float *)c->w, *b = (float *)c->b;
    for (int o = 0; o < cout; o++) {
        if (!(var[o] >= 0))
            return prov_seterr(L->ctx, PROV_EFORMAT,
                               "detector weights: %s.running_var is negative", bn);
        double s = (double)g[o] / sqrt((double)var[o] + NPR_BN_EPS);
        b[o] = (float)((double)be[o] - (double)mu[o] * s);
        for (int i = 0; i < cin; i++)
            for (int t = 0; t < kk; t++) /* [o][i][t] -> [o][t][i] */
                w[((size_t)o * kk + t) * cin + i] =
                    (float)(raw[((size_t)o * cin + i) * kk + t] * s);
        if (!isfinite(b[o]))
            return prov_seterr(L->ctx, PROV_EFORMAT, "detector weights: %s folds to infinity",
                               bn);
    }
    for (size_t i = 0; i < (size_t)cout * cin * kk; i++)
        if (!isfinite(w[i]))
            return prov_seterr(L->ctx, PROV_EFORMAT, "detector weights: %s folds to infinity",
                               wname);
    return 0;
}

static void set_conv(npr_conv *c, int cin, int cout, int k, int stride)
{
    c->cin = cin;
    c->cout = cout;
    c->k = k;
    c->stride = stride;
    c->pad = k / 2;
}

/* The architecture: shapes of every conv (no weights yet). */
static void arch(npr_net *net)
{
    static const int planes[2] = {64, 128}, nblk[2] = {3, 4};
    set_conv(&net->conv1, 3, 64, 3, 2);
    int cin = 64, b = 0;
    for (int l = 0; l < 2; l++)
        for (int i = 0; i < nblk[l]; i++, b++) {
            npr_block *k = &net->blk[b];
            int w = planes[l], stride = (l == 1 && i == 0) ? 2 : 1;
            k->stride = stride;
            set_conv(&k->c1, cin, w, 1, 1);
            set_conv(&k->c2, w, w, 3, stride);
            set_conv(&k->c3, w, 4 * w, 1, 1);
            if (i == 0) set_conv(&k->ds, cin, 4 * w, 1, stride);
            cin = 4 * w;
        }
}

static size_t conv_floats(const npr_conv *c)
{
    return c->cout ? (size_t)c->cout * c->k * c->k * c->cin + (size_t)c->cout : 0;
}

/* Give c its slice of the arena (each slice 64-byte aligned). */
static void place(npr_conv *c, float *arena, size_t *off)
{
    if (!c->cout) return;
    c->w = arena + *off;
    *off += ((size_t)c->cout * c->k * c->k * c->cin + 15) & ~(size_t)15;
    c->b = arena + *off;
    *off += ((size_t)c->cout + 15) & ~(size_t)15;
}

/* Parse the records into L->dir; all bounds checked against n. */
static int parse(loader *L, const uint8_t *p, size_t n, const char **meta, size_t *meta_len)
{
    prov_ctx *ctx = L->ctx;
    if (n < 28 || memcmp(p, NPR_MAGIC, 8))
        return prov_seterr(ctx, PROV_EFORMAT, "detector weights: not a PROVNPR1 file");
    if (n > NPR_MAX_FILE)
        return prov_seterr(ctx, PROV_ELIMIT, "detector weights: file over %u bytes",
                           NPR_MAX_FILE);
    uint32_t version = le32(p + 8), mlen = le32(p + 12), count = le32(p + 16),
             flags = le32(p + 20);
    if (version != NPR_FORMAT_VERSION || flags)
        return prov_seterr(ctx, PROV_EUNSUPPORTED,
                           "detector weights: format version %u flags %u not supported",
                           (unsigned)version, (unsigned)flags);
    size_t end = n - 4; /* the CRC trailer */
    uint32_t crc = (uint32_t)crc32(0L, p, (uInt)end);
    if (crc != le32(p + end))
        return prov_seterr(ctx, PROV_EFORMAT, "detector weights: CRC-32 mismatch (damaged file)");
    if (mlen > NPR_MAX_META || count > NPR_MAX_TENSORS)
        return prov_seterr(ctx, PROV_ELIMIT, "detector weights: %u metadata bytes, %u tensors",
                           (unsigned)mlen, (unsigned)count);
    if (mlen > end - 24)
        return prov_seterr(ctx, PROV_EFORMAT, "detector weights: metadata runs past the end");
    *meta = (const char *)p + 24;
    *meta_len = mlen;
    size_t pos = 24 + (size_t)mlen;
    L->dir = calloc(count ? count : 1, sizeof *L->dir);
    if (!L->dir) return prov_seterr(ctx, PROV_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < count; i++) {
        tdir *t = &L->dir[i];
        if (end - pos < 2) goto trunc;
        t->name_len = le16(p + pos);
        pos += 2;
        if (!t->name_len || t->name_len > NPR_MAX_NAME)
            return prov_seterr(ctx, PROV_EFORMAT, "detector weights: tensor %u: name length %zu",
                               (unsigned)i, t->name_len);
        if (end - pos < t->name_len + 2) goto trunc;
        t->name = p + pos;
        pos += t->name_len;
        if (!name_ok(t->name, t->name_len))
            return prov_seterr(ctx, PROV_EFORMAT, "detector weights: tensor %u: bad name",
                               (unsigned)i);
        t->dtype = p[pos];
        t->ndim = p[pos + 1];
        pos += 2;
        if (t->dtype != NPR_DTYPE_F32 && t->dtype != NPR_DTYPE_F16)
            return prov_seterr(ctx, PROV_EUNSUPPORTED, "detector weights: %.*s: dtype %u",
                               (int)t->name_len, t->name, t->dtype);
        if (t->ndim > NPR_MAX_NDIM)
            return prov_seterr(ctx, PROV_EFORMAT, "detector weights: %.*s: %u dimensions",
                               (int)t->name_len, t->name, t->ndim);
        if (end - pos < 4 * (size_t)t->ndim) goto trunc;
        t->numel = 1;
        for (unsigned d = 0; d < t->ndim; d++) {
            t->dims[d] = le32(p + pos);
            pos += 4;
            /* every dim <= 2^24 and the product <= 2^26: no overflow */
            if (!t->dims[d] || t->dims[d] > (1u << 24) || (uint64_t)t->numel * t->dims[d] > (1u << 26))
                return prov_seterr(ctx, PROV_EFORMAT, "detector weights: %.*s: bad dimensions",
                                   (int)t->name_len, t->name);
            t->numel *= t->dims[d];
        }
        size_t pad = (NPR_ALIGN - pos % NPR_ALIGN) % NPR_ALIGN;
        if (end - pos < pad) goto trunc;
        for (size_t k = 0; k < pad; k++)
            if (p[pos + k])
                return prov_seterr(ctx, PROV_EFORMAT, "detector weights: %.*s: padding not zero",
                                   (int)t->name_len, t->name);
        pos += pad;
        size_t bytes = t->numel * (t->dtype == NPR_DTYPE_F32 ? 4 : 2);
        if (end - pos < bytes) goto trunc;
        t->data = p + pos;
        pos += bytes;
        for (uint32_t j = 0; j < i; j++)
            if (L->dir[j].name_len == t->name_len &&
                !memcmp(L->dir[j].name, t->name, t->name_len))
                return prov_seterr(ctx, PROV_EFORMAT, "detector weights: tensor %.*s twice",
                                   (int)t->name_len, t->name);
        L->ndir++;
    }
    if (pos != end)
        return prov_seterr(ctx, PROV_EFORMAT, "detector weights: %zu stray bytes after the tensors",
                           end - pos);
    return 0;
trunc:
    return prov_seterr(ctx, PROV_EFORMAT, "detector weights: truncated (tensor %zu)",
                       L->ndir);
}

static int check_meta(prov_ctx *ctx, const char *m, size_t n, char **out)
{
    size_t i = 0;
    while (i < n && (m[i] == ' ' || m[i] == '\n' || m[i] == '\r' || m[i] == '\t')) i++;
    if (i == n || m[i] != '{')
        return prov_seterr(ctx, PROV_EFORMAT, "detector weights: metadata is not a JSON object");
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)m[i];
        if (c < 0x20 && c != '\n' && c != '\r' && c != '\t')
            return prov_seterr(ctx, PROV_EFORMAT,
                               "detector weights: control byte in the metadata");
    }
    *out = malloc(n + 1);
    if (!*out) return prov_seterr(ctx, PROV_ENOMEM, "out of memory");
    memcpy(*out, m, n);
    (*out)[n] = 0;
    return 0;
}

static int load_all(loader *L, npr_net *net)
{
    char wn[96], bn[96];
    int rc = load_conv(L, "conv1.weight", "bn1", &net->conv1);
    for (int b = 0; !rc && b < NPR_BLOCKS; b++) {
        npr_block *k = &net->blk[b];
        int l = b < 3 ? 1 : 2, i = b < 3 ? b : b - 3;
        npr_conv *cv[3] = {&k->c1, &k->c2, &k->c3};
        for (int j = 0; !rc && j < 3; j++) {
            snprintf(wn, sizeof wn, "layer%d.%d.conv%d.weight", l, i, j + 1);
            snprintf(bn, sizeof bn, "layer%d.%d.bn%d", l, i, j + 1);
            rc = load_conv(L, wn, bn, cv[j]);
        }
        if (!rc && k->ds.cout) {
            snprintf(wn, sizeof wn, "layer%d.%d.downsample.0.weight", l, i);
            snprintf(bn, sizeof bn, "layer%d.%d.downsample.1", l, i);
            rc = load_conv(L, wn, bn, &k->ds);
        }
    }
    if (rc) return rc;
    uint32_t fcw[2] = {1, NPR_FEATURES}, one[1] = {1}, three[1] = {3};
    float fcb, t;
    if ((rc = fetch(L, "fc1.weight", 2, fcw, (float *)net->fc_w)) ||
        (rc = fetch(L, "fc1.bias", 1, one, &fcb)) ||
        (rc = fetch(L, "input.mean", 1, three, net->mean)) ||
        (rc = fetch(L, "input.std", 1, three, net->std)) ||
        (rc = fetch(L, "calib.temperature", 1, one, &t)))
        return rc;
    net->fc_b = fcb;
    net->temperature = t;
    if (!(t > 0))
        return prov_seterr(L->ctx, PROV_EFORMAT, "detector weights: temperature must be > 0");
    for (int c = 0; c < 3; c++) {
        if (!(net->std[c] > 0))
            return prov_seterr(L->ctx, PROV_EFORMAT, "detector weights: input.std must be > 0");
        for (int v = 0; v < 256; v++) /* the float32 steps PyTorch takes */
            net->lut[c][v] = ((float)v / 255.0f - net->mean[c]) / net->std[c];
    }
    /* anything else must be a tensor we know to ignore */
    for (size_t i = 0; i < L->ndir; i++) {
        tdir *d = &L->dir[i];
        if (d->used || has_suffix(d->name, d->name_len, ".num_batches_tracked") ||
            (d->name_len > 6 && !memcmp(d->name, "extra.", 6)))
            continue;
        return prov_seterr(L->ctx, PROV_EFORMAT, "detector weights: unknown tensor %.*s",
                           (int)d->name_len, d->name);
    }
    return 0;
}

int npr_load(prov_ctx *ctx, const uint8_t *p, size_t n, npr_net *net)
{
    if (net) memset(net, 0, sizeof *net);
    if (!p || !net) return prov_seterr(ctx, PROV_EINVAL, "detector weights: bad argument");
    loader L = {.ctx = ctx};
    const char *meta = NULL;
    size_t meta_len = 0;
    int rc = parse(&L, p, n, &meta, &meta_len);
    if (!rc) rc = check_meta(ctx, meta, meta_len, &net->meta);
    if (!rc) {
        arch(net);
        size_t total = 0, tmpn = 0;
        npr_conv *all[1 + 4 * NPR_BLOCKS];
        int nc = 0;
        all[nc++] = &net->conv1;
        for (int b = 0; b < NPR_BLOCKS; b++) {
            all[nc++] = &net->blk[b].c1;
            all[nc++] = &net->blk[b].c2;
            all[nc++] = &net->blk[b].c3;
            all[nc++] = &net->blk[b].ds;
        }
        for (int i = 0; i < nc; i++) {
            total += conv_floats(all[i]) + 32;
            size_t raw = conv_floats(all[i]) + 4 * (size_t)all[i]->cout;
            if (raw > tmpn) tmpn = raw;
        }
        total += NPR_FEATURES;
        net->arena = aligned_alloc(64, (total * sizeof(float) + 63) & ~(size_t)63);
        L.tmp = malloc(tmpn * sizeof(float));
        if (!net->arena || !L.tmp) {
            rc = prov_seterr(ctx, PROV_ENOMEM, "out of memory");
        } else {
            size_t off = 0;
            for (int i = 0; i < nc; i++) place(all[i], net->arena, &off);
            net->fc_w = net->arena + off;
            rc = load_all(&L, net);
        }
    }
    free(L.dir);
    free(L.tmp);
    if (rc) npr_free(net);
    return rc;
}

void npr_free(npr_net *net)
{
    if (!net) return;
    free(net->arena);
    free(net->meta);
    memset(net, 0, sizeof *net);
}
