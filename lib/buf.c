/* buf.c - growable byte buffer with sticky errors. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pbuf_init(pbuf *b) { memset(b, 0, sizeof *b); }

void pbuf_free(pbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

int pbuf_reserve(pbuf *b, size_t extra)
{
    if (b->err) return b->err;
    if (extra > SIZE_MAX / 2 - b->len) return b->err = PROV_ENOMEM;
    size_t need = b->len + extra + 1; /* +1 keeps room for a NUL */
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) return b->err = PROV_ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

void pbuf_put(pbuf *b, const void *p, size_t n)
{
    if (n == 0 || pbuf_reserve(b, n)) return;
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
}

void pbuf_putc(pbuf *b, uint8_t c) { pbuf_put(b, &c, 1); }
void pbuf_puts(pbuf *b, const char *s) { pbuf_put(b, s, strlen(s)); }

void pbuf_printf(pbuf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) { b->err = PROV_EINVAL; return; }
    if ((size_t)n < sizeof tmp) { pbuf_put(b, tmp, (size_t)n); return; }
    if (pbuf_reserve(b, (size_t)n + 1)) return;
    va_start(ap, fmt);
    vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void pbuf_be16(pbuf *b, uint16_t v)
{
    uint8_t t[2] = {v >> 8, v & 0xff};
    pbuf_put(b, t, 2);
}

void pbuf_be32(pbuf *b, uint32_t v)
{
    uint8_t t[4];
    wr32(t, v);
    pbuf_put(b, t, 4);
}

/* Length of a valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t k;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) { k = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { k = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { k = 4; cp = c & 0x07; }
    else return 0;
    if (k > n) return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if ((k == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0; /* overlong, surrogate or out of range */
    return k;
}

void pbuf_json_str(pbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    pbuf_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        if (c >= 0x80) { /* text from files: invalid UTF-8 becomes U+FFFD */
            size_t k = utf8_len(u + i, n - i);
            if (k) { i += k; continue; }
            pbuf_put(b, s + run, i - run);
            pbuf_puts(b, "\\ufffd");
            run = ++i;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) { i++; continue; }
        pbuf_put(b, s + run, i - run);
        run = ++i;
        switch (c) {
        case '"': pbuf_puts(b, "\\\""); break;
        case '\\': pbuf_puts(b, "\\\\"); break;
        case '\n': pbuf_puts(b, "\\n"); break;
        case '\r': pbuf_puts(b, "\\r"); break;
        case '\t': pbuf_puts(b, "\\t"); break;
        default: {
            char e[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
            pbuf_puts(b, e);
        }
        }
    }
    pbuf_put(b, s + run, n - run);
    pbuf_putc(b, '"');
}

uint8_t *pbuf_take(pbuf *b, size_t *len)
{
    if (b->err) { pbuf_free(b); return NULL; }
    if (!b->p && pbuf_reserve(b, 0)) return NULL;
    uint8_t *p = b->p;
    p[b->len] = 0;
    if (len) *len = b->len;
    memset(b, 0, sizeof *b);
    return p;
}
