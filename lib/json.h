/* json.h - a small, bounded JSON reader (RFC 8259) for what files carry:
 * W3C verifiable credentials in CAWG identity assertions, JWKs.  The whole
 * text is parsed into one allocation of nodes; strings are decoded
 * (escapes, surrogate pairs) into it.  Not installed. */
#ifndef PROV_JSON_H
#define PROV_JSON_H

#include "internal.h"

#define JSON_MAX_DEPTH 64
#define JSON_MAX_NODES 100000
#define JSON_MAX_TEXT (4u << 20)

enum { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

typedef struct json_node {
    int type;
    const char *key; /* the member name when inside an object, else NULL */
    size_t key_len;
    const char *str; /* JSON_STRING: decoded UTF-8 (NUL-terminated) */
    size_t len;      /* string bytes, or child count */
    double num;
    struct json_node *child, *next; /* first child; next sibling */
} json_node;

typedef struct json_doc {
    json_node *root;
    void *mem; /* one block: nodes and decoded strings */
} json_doc;

/* Parse text (at most JSON_MAX_TEXT bytes).  0, PROV_EFORMAT (why says
 * where), PROV_ELIMIT or PROV_ENOMEM.  Free with json_free. */
PROV_HIDDEN int json_parse(const char *text, size_t n, json_doc *out, const char **why);
PROV_HIDDEN void json_free(json_doc *d);
/* Member of an object by name; NULL when absent or o is no object. */
PROV_HIDDEN const json_node *json_get(const json_node *o, const char *key);
/* 1 when n is a string equal to s. */
PROV_HIDDEN int json_is_str(const json_node *n, const char *s);

#endif
