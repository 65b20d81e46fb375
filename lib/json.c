/* json.c - see json.h.  Two passes: the first counts nodes and string
 * bytes (and validates), the second fills one allocation, so a hostile
 * text costs at most a bounded multiple of its size. */
#include "json.h"

#include <stdlib.h>
#include <string.h>

typedef struct jp {
    const char *p, *end;
    const char *why;
    int depth;
    /* pass 2 */
    json_node *nodes;
    size_t nnodes, maxnodes;
    char *strs;
    size_t nstr, maxstr;
    int fill;
} jp;

static void ws(jp *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

static json_node *newnode(jp *s, int type)
{
    if (s->nnodes >= JSON_MAX_NODES) { s->why = "too many values"; return NULL; }
    json_node *n = s->fill ? &s->nodes[s->nnodes] : NULL;
    s->nnodes++;
    if (n) {
        memset(n, 0, sizeof *n);
        n->type = type;
    }
    return n ? n : (json_node *)1; /* pass 1: non-NULL marker */
}

static int hex4(const char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16;
        if (d == 16) return -1;
        *v = *v << 4 | d;
    }
    return 0;
}

static void put(jp *s, char c)
{
    if (s->fill) s->strs[s->nstr] = c;
    s->nstr++;
}

static void put_utf8(jp *s, unsigned cp)
{
    if (cp < 0x80) put(s, (char)cp);
    else if (cp < 0x800) { put(s, (char)(0xC0 | cp >> 6)); put(s, (char)(0x80 | (cp & 0x3F))); }
    else if (cp < 0x10000) {
        put(s, (char)(0xE0 | cp >> 12));
        put(s, (char)(0x80 | (cp >> 6 & 0x3F)));
        put(s, (char)(0x80 | (cp & 0x3F)));
    } else {
        put(s, (char)(0xF0 | cp >> 18));
        put(s, (char)(0x80 | (cp >> 12 & 0x3F)));
        put(s, (char)(0x80 | (cp >> 6 & 0x3F)));
        put(s, (char)(0x80 | (cp & 0x3F)));
    }
}

/* A string at s->p (the opening quote); returns its decoded start. */
static const char *string(jp *s, size_t *len)
{
    s->p++;
    size_t start = s->nstr;
    while (s->p < s->end && *s->p != '"') {
        unsigned char c = (unsigned char)*s->p;
        if (c < 0x20) { s->why = "control character in a string"; return NULL; }
        if (c != '\\') { put(s, (char)c); s->p++; continue; }
        if (s->end - s->p < 2) break;
        char e = s->p[1];
        s->p += 2;
        switch (e) {
        case '"': put(s, '"'); break;
        case '\\': put(s, '\\'); break;
        case '/': put(s, '/'); break;
        case 'b': put(s, '\b'); break;
        case 'f': put(s, '\f'); break;
        case 'n': put(s, '\n'); break;
        case 'r': put(s, '\r'); break;
        case 't': put(s, '\t'); break;
        case 'u': {
            unsigned cp, lo;
            if (s->end - s->p < 4 || hex4(s->p, &cp)) { s->why = "bad \\u escape"; return NULL; }
            s->p += 4;
            if (cp >= 0xD800 && cp < 0xDC00) {
                if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' || hex4(s->p + 2, &lo) || lo < 0xDC00 ||
                    lo > 0xDFFF) {
                    cp = 0xFFFD; /* a lone surrogate: replaced */
                } else {
                    s->p += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
            } else if (cp >= 0xDC00 && cp < 0xE000) {
                cp = 0xFFFD;
            }
            put_utf8(s, cp);
            break;
        }
        default: s->why = "bad escape"; return NULL;
        }
    }
    if (s->p >= s->end) { s->why = "unterminated string"; return NULL; }
    s->p++;
    *len = s->nstr - start;
    put(s, 0);
    return s->fill ? s->strs + start : "";
}

static json_node *value(jp *s);

static json_node *container(jp *s, int type)
{
    char close = type == JSON_ARRAY ? ']' : '}';
    json_node *n = newnode(s, type);
    if (!n) return NULL;
    if (++s->depth > JSON_MAX_DEPTH) { s->why = "nested too deeply"; return NULL; }
    s->p++;
    ws(s);
    json_node *last = NULL;
    size_t count = 0;
    if (s->p < s->end && *s->p == close) {
        s->p++;
        s->depth--;
        return n;
    }
    for (;;) {
        const char *key = NULL;
        size_t key_len = 0;
        ws(s);
        if (type == JSON_OBJECT) {
            if (s->p >= s->end || *s->p != '"') { s->why = "member name expected"; return NULL; }
            if (!(key = string(s, &key_len))) return NULL;
            ws(s);
            if (s->p >= s->end || *s->p != ':') { s->why = "':' expected"; return NULL; }
            s->p++;
        }
        json_node *c = value(s);
        if (!c) return NULL;
        if (s->fill) {
            c->key = key;
            c->key_len = key_len;
            if (last) last->next = c;
            else n->child = c;
            last = c;
        }
        count++;
        ws(s);
        if (s->p < s->end && *s->p == ',') { s->p++; continue; }
        if (s->p < s->end && *s->p == close) { s->p++; break; }
        s->why = type == JSON_ARRAY ? "',' or ']' expected" : "',' or '}' expected";
        return NULL;
    }
    if (s->fill) n->len = count;
    s->depth--;
    return n;
}

static json_node *number(jp *s)
{
    const char *b = s->p;
    if (s->p < s->end && *s->p == '-') s->p++;
    if (s->p >= s->end || *s->p < '0' || *s->p > '9') { s->why = "value expected"; return NULL; }
    if (*s->p == '0') s->p++;
    else while (s->p < s->end && *s->p >= '0' && *s->p <= '9') s->p++;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (s->p >= s->end || *s->p < '0' || *s->p > '9') { s->why = "digit expected"; return NULL; }
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9') s->p++;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-')) s->p++;
        if (s->p >= s->end || *s->p < '0' || *s->p > '9') { s->why = "digit expected"; return NULL; }
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9') s->p++;
    }
    json_node *n = newnode(s, JSON_NUMBER);
    if (n && s->fill) {
        char buf[64];
        size_t k = (size_t)(s->p - b);
        if (k >= sizeof buf) k = sizeof buf - 1;
        memcpy(buf, b, k);
        buf[k] = 0;
        n->num = strtod(buf, NULL);
    }
    return n;
}

static json_node *value(jp *s)
{
    ws(s);
    if (s->p >= s->end) { s->why = "value expected"; return NULL; }
    switch (*s->p) {
    case '{': return container(s, JSON_OBJECT);
    case '[': return container(s, JSON_ARRAY);
    case '"': {
        json_node *n = newnode(s, JSON_STRING);
        if (!n) return NULL;
        size_t len;
        const char *str = string(s, &len);
        if (!str) return NULL;
        if (s->fill) { n->str = str; n->len = len; }
        return n;
    }
    case 't':
        if (s->end - s->p >= 4 && !memcmp(s->p, "true", 4)) { s->p += 4; return newnode(s, JSON_TRUE); }
        break;
    case 'f':
        if (s->end - s->p >= 5 && !memcmp(s->p, "false", 5)) { s->p += 5; return newnode(s, JSON_FALSE); }
        break;
    case 'n':
        if (s->end - s->p >= 4 && !memcmp(s->p, "null", 4)) { s->p += 4; return newnode(s, JSON_NULL); }
        break;
    default: return number(s);
    }
    s->why = "value expected";
    return NULL;
}

static json_node *run(jp *s, const char *text, size_t n)
{
    s->p = text;
    s->end = text + n;
    s->depth = 0;
    s->nnodes = 0;
    s->nstr = 0;
    json_node *root = value(s);
    if (!root) return NULL;
    ws(s);
    if (s->p != s->end) { s->why = "text after the value"; return NULL; }
    return root;
}

int json_parse(const char *text, size_t n, json_doc *out, const char **why)
{
    memset(out, 0, sizeof *out);
    jp s;
    memset(&s, 0, sizeof s);
    if (!text || n > JSON_MAX_TEXT) {
        if (why) *why = "text too large";
        return PROV_ELIMIT;
    }
    if (!run(&s, text, n)) {
        if (why) *why = s.why ? s.why : "malformed";
        return s.nnodes >= JSON_MAX_NODES ? PROV_ELIMIT : PROV_EFORMAT;
    }
    size_t nodes = s.nnodes, strs = s.nstr;
    if (nodes > SIZE_MAX / sizeof(json_node) - 1) return PROV_ELIMIT;
    void *mem = malloc(nodes * sizeof(json_node) + strs + 1);
    if (!mem) return PROV_ENOMEM;
    s.fill = 1;
    s.nodes = mem;
    s.maxnodes = nodes;
    s.strs = (char *)mem + nodes * sizeof(json_node);
    s.maxstr = strs + 1;
    out->root = run(&s, text, n); /* cannot fail: the same text */
    out->mem = mem;
    return out->root ? 0 : PROV_EFORMAT;
}

void json_free(json_doc *d)
{
    free(d->mem);
    d->mem = NULL;
    d->root = NULL;
}

const json_node *json_get(const json_node *o, const char *key)
{
    if (!o || o->type != JSON_OBJECT) return NULL;
    size_t k = strlen(key);
    for (const json_node *c = o->child; c; c = c->next)
        if (c->key_len == k && memcmp(c->key, key, k) == 0) return c;
    return NULL;
}

int json_is_str(const json_node *n, const char *s)
{
    return n && n->type == JSON_STRING && n->len == strlen(s) && memcmp(n->str, s, n->len) == 0;
}
