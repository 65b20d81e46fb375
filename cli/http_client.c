/* http_client.c - HTTP calls with libcurl (loaded when first needed) and
 * a reader for the registry server's JSON answers. */
#include "http_client.h"
#include "cli.h"
#include "dl.h"

#include <stdlib.h>
#include <string.h>

typedef struct sink {
    pbuf *b;
    size_t max;
    int over;
} sink;

static size_t on_data(char *p, size_t sz, size_t nm, void *user)
{
    sink *s = user;
    size_t n = sz * nm;
    if (s->b->len + n > s->max) {
        s->over = 1;
        return 0; /* stops the transfer */
    }
    pbuf_put(s->b, p, n);
    return s->b->err ? 0 : n;
}

void http_url(char *out, size_t cap, const char *base, const char *path)
{
    size_t n = strlen(base);
    while (n && base[n - 1] == '/') n--;
    snprintf(out, cap, "%.*s/%s", (int)n, base, path[0] == '/' ? path + 1 : path);
}

int http_call(const char *method, const char *url, const void *body, size_t len, long *status,
              pbuf *out, size_t max)
{
    return http_call_h(method, url, body, len, NULL, status, out, max);
}

int http_call_h(const char *method, const char *url, const void *body, size_t len, const char *header,
                long *status, pbuf *out, size_t max)
{
    char why[200];
    const struct prov_curl_api *c = prov_curl(why, sizeof why);
    if (!c) return err("%s", why);
    CURL *h = c->curl_easy_init();
    if (!h) return err("curl: cannot start");
    sink s = {out, max, 0};
    struct curl_slist *hd = NULL;
    c->curl_easy_setopt(h, CURLOPT_URL, url);
    c->curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    c->curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    c->curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    c->curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    c->curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    c->curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (header) hd = c->curl_slist_append(hd, header);
    if (!strcmp(method, "POST")) hd = c->curl_slist_append(hd, "Content-Type: text/plain; charset=utf-8");
    if (hd) c->curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    if (!strcmp(method, "POST")) {
        c->curl_easy_setopt(h, CURLOPT_POST, 1L);
        c->curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        c->curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    CURLcode rc = c->curl_easy_perform(h);
    int ret = 0;
    if (rc == CURLE_WRITE_ERROR && s.over) ret = err("%s: the answer is larger than %zu bytes", url, max);
    else if (rc != CURLE_OK) ret = err("%s: %s", url, c->curl_easy_strerror(rc));
    else c->curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    if (hd) c->curl_slist_free_all(hd);
    c->curl_easy_cleanup(h);
    return ret;
}

/* ---- JSON ----------------------------------------------------------- */

/* Where the value of "key" starts, or NULL.  A key's opening quote is
 * never escaped; a quote inside a string always is. */
static const char *find_key(const char *j, size_t n, const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i + kl + 3 <= n; i++) {
        if (j[i] != '"' || (i && j[i - 1] == '\\')) continue;
        if (memcmp(j + i + 1, key, kl) || j[i + 1 + kl] != '"') continue;
        size_t k = i + kl + 2;
        while (k < n && (j[k] == ' ')) k++;
        if (k < n && j[k] == ':') {
            k++;
            while (k < n && j[k] == ' ') k++;
            return j + k;
        }
    }
    return NULL;
}

static int hexv(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

char *json_str(const char *j, size_t n, const char *key)
{
    const char *v = find_key(j, n, key), *end = j + n;
    if (!v || v >= end || *v != '"') return NULL;
    pbuf b;
    pbuf_init(&b);
    for (v++; v < end && *v != '"'; v++) {
        if (*v != '\\') { pbuf_putc(&b, (uint8_t)*v); continue; }
        if (++v >= end) break;
        switch (*v) {
        case 'n': pbuf_putc(&b, '\n'); break;
        case 'r': pbuf_putc(&b, '\r'); break;
        case 't': pbuf_putc(&b, '\t'); break;
        case 'b': pbuf_putc(&b, '\b'); break;
        case 'f': pbuf_putc(&b, '\f'); break;
        case 'u': {
            unsigned u = 0;
            for (int k = 0; k < 4; k++) {
                int h = v + 1 < end ? hexv(v[1]) : -1;
                if (h < 0) { pbuf_free(&b); return NULL; }
                u = u << 4 | (unsigned)h, v++;
            }
            if (u < 0x80) pbuf_putc(&b, (uint8_t)u);
            else if (u < 0x800) pbuf_putc(&b, (uint8_t)(0xc0 | u >> 6)), pbuf_putc(&b, (uint8_t)(0x80 | (u & 63)));
            else pbuf_putc(&b, (uint8_t)(0xe0 | u >> 12)), pbuf_putc(&b, (uint8_t)(0x80 | (u >> 6 & 63))),
                 pbuf_putc(&b, (uint8_t)(0x80 | (u & 63)));
            break;
        }
        default: pbuf_putc(&b, (uint8_t)*v); /* \" \\ \/ */
        }
    }
    if (v >= end) { pbuf_free(&b); return NULL; }
    return (char *)pbuf_take(&b, NULL);
}

int json_u64(const char *j, size_t n, const char *key, uint64_t *out)
{
    const char *v = find_key(j, n, key), *end = j + n;
    if (!v || v >= end || *v < '0' || *v > '9') return -1;
    uint64_t x = 0;
    for (; v < end && *v >= '0' && *v <= '9'; v++) {
        if (x > (UINT64_MAX - 9) / 10) return -1;
        x = x * 10 + (uint64_t)(*v - '0');
    }
    *out = x;
    return 0;
}
