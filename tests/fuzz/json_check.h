/* json_check.h - check_json(s, n): the fuzz harnesses' JSON checker
 * (structure; valid UTF-8 too with FUZZ_STRICT_UTF8). */
#ifndef PROV_FUZZ_JSON_CHECK_H
#define PROV_FUZZ_JSON_CHECK_H

#include <string.h>

#include "fuzz_check.h"

static const char *js_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

static const char *js_string(const char *p, const char *e)
{
    if (p >= e || *p++ != '"') return NULL;
    while (p < e) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') return p + 1;
        if (c < 0x20) return NULL;
        if (c == '\\') {
            if (++p >= e) return NULL;
            if (*p == 'u') {
                if (e - p < 5) return NULL;
                for (int i = 1; i <= 4; i++)
                    if (!p[i] || !strchr("0123456789abcdefABCDEF", p[i])) return NULL;
                p += 5;
            } else if (*p && strchr("\"\\/bfnrt", *p)) {
                p++;
            } else {
                return NULL;
            }
            continue;
        }
#ifdef FUZZ_STRICT_UTF8
        if (c >= 0x80) {
            size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
            if (c < 0xc2 || c > 0xf4 || (size_t)(e - p) < n) return NULL;
            for (size_t i = 1; i < n; i++)
                if (((unsigned char)p[i] & 0xc0) != 0x80) return NULL;
            p += n;
            continue;
        }
#endif
        p++;
    }
    return NULL;
}

static const char *js_value(const char *p, const char *e, int depth)
{
    if (depth > 200) return NULL;
    p = js_ws(p, e);
    if (p >= e) return NULL;
    if (*p == '"') return js_string(p, e);
    if (*p == '[' || *p == '{') {
        char close = *p == '[' ? ']' : '}';
        int obj = *p == '{';
        p = js_ws(p + 1, e);
        if (p < e && *p == close) return p + 1;
        for (;;) {
            if (obj) {
                if (!(p = js_string(js_ws(p, e), e))) return NULL;
                p = js_ws(p, e);
                if (p >= e || *p++ != ':') return NULL;
            }
            if (!(p = js_value(p, e, depth + 1))) return NULL;
            p = js_ws(p, e);
            if (p >= e) return NULL;
            if (*p == close) return p + 1;
            if (*p++ != ',') return NULL;
        }
    }
    static const char *const words[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if ((size_t)(e - p) >= n && !memcmp(p, words[i], n)) return p + n;
    }
    const char *s = p;
    if (p < e && *p == '-') p++;
    while (p < e && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' || *p == '-'))
        p++;
    return p > s ? p : NULL;
}

static void check_json(const char *s, size_t n)
{
    CHECK(s && n && strlen(s) == n);
    const char *e = s + n, *p = js_value(s, e, 0);
    CHECK(p && js_ws(p, e) == e);
}

#endif
