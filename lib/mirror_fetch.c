/* mirror_fetch.c - a log's files from a folder or over http(s): libcurl's
 * multi interface (loaded through dl.h), many requests in flight over a few
 * kept-alive connections, every body bounded. */
#include "dl.h"
#include "mirror.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PARALLEL 32  /* requests in flight */
#define CONNS 8      /* connections to the host */

struct mfetch {
    char *base; /* URL without a trailing '/', or the folder */
    bool url;
    const struct prov_curl_api *c;
    CURLM *multi;
    CURL *easy[PARALLEL];
};

bool mfetch_is_url(const char *s) { return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8); }

int mfetch_new(mfetch **out, const char *source, prov_ctx *ctx)
{
    mfetch *f = calloc(1, sizeof *f);
    if (!f) return PROV_ENOMEM;
    f->url = mfetch_is_url(source);
    f->base = strdup(source);
    if (!f->base) { free(f); return PROV_ENOMEM; }
    size_t n = strlen(f->base);
    while (n > 1 && f->base[n - 1] == '/') f->base[--n] = 0;
    if (f->url) {
        char why[200];
        if (!(f->c = prov_curl(why, sizeof why))) {
            mfetch_free(f);
            return prov_seterr(ctx, PROV_EUNSUPPORTED, "%s", why);
        }
        f->multi = f->c->curl_multi_init();
        if (!f->multi) { mfetch_free(f); return PROV_ENOMEM; }
        f->c->curl_multi_setopt(f->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)CONNS);
        f->c->curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS, (long)CONNS);
        for (int i = 0; i < PARALLEL; i++)
            if (!(f->easy[i] = f->c->curl_easy_init())) { mfetch_free(f); return PROV_ENOMEM; }
    }
    *out = f;
    return 0;
}

void mfetch_free(mfetch *f)
{
    if (!f) return;
    for (int i = 0; i < PARALLEL; i++)
        if (f->easy[i]) f->c->curl_easy_cleanup(f->easy[i]);
    if (f->multi) f->c->curl_multi_cleanup(f->multi);
    free(f->base);
    free(f);
}

static int dir_get(const char *dir, const char *path, pbuf *out, size_t max)
{
    char full[4096];
    if ((size_t)snprintf(full, sizeof full, "%s/%s", dir, path) >= sizeof full) return PROV_ELIMIT;
    FILE *fp = fopen(full, "rb");
    if (!fp) return errno == ENOENT || errno == ENOTDIR ? PROV_ENOTFOUND : PROV_EIO;
    uint8_t buf[65536];
    size_t k, start = out->len;
    int rc = 0;
    while ((k = fread(buf, 1, sizeof buf, fp)) > 0) {
        if (out->len - start + k > max) { rc = PROV_ELIMIT; break; }
        pbuf_put(out, buf, k);
    }
    if (!rc && ferror(fp)) rc = PROV_EIO;
    fclose(fp);
    return rc ? rc : out->err;
}

typedef struct xfer {
    pbuf *out;
    size_t start, max;
    bool over;
} xfer;

static size_t on_data(char *p, size_t sz, size_t nm, void *user)
{
    xfer *x = user;
    size_t n = sz * nm;
    if (x->out->len - x->start + n > x->max) { x->over = true; return 0; }
    pbuf_put(x->out, p, n);
    return x->out->err ? 0 : n;
}

static void setup_easy(mfetch *f, CURL *e, const char *url, xfer *x)
{
    const struct prov_curl_api *c = f->c;
    c->curl_easy_reset(e);
    c->curl_easy_setopt(e, CURLOPT_URL, url);
    c->curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    c->curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    c->curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    c->curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
    c->curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    c->curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 30L);
    c->curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    c->curl_easy_setopt(e, CURLOPT_USERAGENT, "prov-mirror/1");
    c->curl_easy_setopt(e, CURLOPT_PRIVATE, x);
}

int mfetch_many(mfetch *f, size_t n, const char *const *paths, pbuf *out, int *rcs, size_t max,
                prov_ctx *ctx)
{
    if (!f->url) {
        for (size_t i = 0; i < n; i++) rcs[i] = dir_get(f->base, paths[i], &out[i], max);
        return 0;
    }
    const struct prov_curl_api *c = f->c;
    xfer xs[PARALLEL];
    size_t slot_of[PARALLEL];
    bool busy[PARALLEL] = {false};
    char url[4096 + 128];
    size_t next = 0, done = 0;
    int running = 0, rc = 0;
    while (done < n && !rc) {
        for (int s = 0; s < PARALLEL && next < n; s++) {
            if (busy[s]) continue;
            snprintf(url, sizeof url, "%s/%s", f->base, paths[next]);
            xs[s] = (xfer){&out[next], out[next].len, max, false};
            slot_of[s] = next++;
            setup_easy(f, f->easy[s], url, &xs[s]);
            if (c->curl_multi_add_handle(f->multi, f->easy[s])) { rc = PROV_EIO; break; }
            busy[s] = true;
        }
        if (rc) break;
        if (c->curl_multi_perform(f->multi, &running)) { rc = PROV_EIO; break; }
        CURLMsg *msg;
        int left;
        bool any = false;
        while ((msg = c->curl_multi_info_read(f->multi, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            int s = 0;
            while (s < PARALLEL && f->easy[s] != msg->easy_handle) s++;
            if (s == PARALLEL) continue;
            size_t i = slot_of[s];
            long code = 0;
            c->curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            if (xs[s].over) rcs[i] = PROV_ELIMIT;
            else if (msg->data.result != CURLE_OK) rcs[i] = PROV_EIO;
            else if (code == 404 || code == 410) rcs[i] = PROV_ENOTFOUND;
            else if (code != 200) rcs[i] = PROV_EIO;
            else rcs[i] = 0;
            if (rcs[i] == PROV_EIO && msg->data.result != CURLE_OK)
                prov_seterr(ctx, PROV_EIO, "%s/%s: %s", f->base, paths[i], c->curl_easy_strerror(msg->data.result));
            else if (rcs[i] == PROV_EIO)
                prov_seterr(ctx, PROV_EIO, "%s/%s: HTTP status %ld", f->base, paths[i], code);
            if (rcs[i]) out[i].len = xs[s].start;
            c->curl_multi_remove_handle(f->multi, f->easy[s]);
            busy[s] = false;
            done++;
            any = true;
        }
        if (!any && running) c->curl_multi_poll(f->multi, NULL, 0, 1000, NULL);
    }
    for (int s = 0; s < PARALLEL; s++)
        if (busy[s]) c->curl_multi_remove_handle(f->multi, f->easy[s]);
    return rc ? prov_seterr(ctx, rc, "%s: transfer failed", f->base) : 0;
}

int mfetch_read(void *user, const char *path, uint8_t *buf, size_t cap, size_t *len)
{
    mfetch *f = user;
    pbuf b;
    pbuf_init(&b);
    int one = 0;
    int rc = mfetch_many(f, 1, &path, &b, &one, cap, NULL);
    if (!rc) rc = one;
    if (!rc) memcpy(buf, b.p, b.len), *len = b.len;
    pbuf_free(&b);
    return rc;
}

int mfetch_post(const char *url, const void *body, size_t len, long *status, pbuf *out, size_t max,
                prov_ctx *ctx)
{
    return mfetch_post_t(url, body, len, 30000, status, out, max, ctx);
}

int mfetch_post_t(const char *url, const void *body, size_t len, long timeout_ms, long *status, pbuf *out,
                  size_t max, prov_ctx *ctx)
{
    char why[200];
    const struct prov_curl_api *c = prov_curl(why, sizeof why);
    if (!c) return prov_seterr(ctx, PROV_EUNSUPPORTED, "%s", why);
    CURL *e = c->curl_easy_init();
    if (!e) return PROV_ENOMEM;
    xfer x = {out, out->len, max, false};
    mfetch f = {.c = c};
    setup_easy(&f, e, url, &x);
    struct curl_slist *h = c->curl_slist_append(NULL, "Content-Type: text/plain");
    c->curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    c->curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    c->curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len);
    c->curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    c->curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    CURLcode r = c->curl_easy_perform(e);
    int rc = 0;
    if (x.over) rc = prov_seterr(ctx, PROV_ELIMIT, "%s: reply too long", url);
    else if (r != CURLE_OK) rc = prov_seterr(ctx, PROV_EIO, "%s: %s", url, c->curl_easy_strerror(r));
    else c->curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    c->curl_slist_free_all(h);
    c->curl_easy_cleanup(e);
    return rc;
}
