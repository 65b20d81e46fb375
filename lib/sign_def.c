/* sign_def.c - a manifest definition (the JSON c2patool takes with -m) read
 * into the signing context: title, claim_generator_info, actions and other
 * assertions.  docs/manifest-definition.md says what is taken and how.
 *
 * What prov writes itself (the hard binding, ingredients, thumbnails, the
 * soft binding, its registration) cannot be given: a definition that tries
 * is refused rather than silently changed. */
#include "cbor.h"
#include "json.h"
#include "sign.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEF_MAX_TEXT (1u << 20)

static const char *const RESERVED[] = {"c2pa.hash.", "c2pa.ingredient", "c2pa.thumbnail", "c2pa.soft-binding",
                                       "c2pa.signature", "c2pa.claim", "c2pa.assertions", "prov.registration",
                                       "c2pa.cloud-data", "c2pa.depthmap"};

static int label_ok(const char *l, size_t n)
{
    if (n < 1 || n > 64) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = l[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return 0;
    }
    return l[0] != '.' && l[n - 1] != '.';
}

/* JSON value as CBOR: integers stay integers, other numbers become the
 * shortest exact float. */
void def_json_to_cbor(pbuf *b, const json_node *n)
{
    switch (n->type) {
    case JSON_NULL: cbor_put_null(b); break;
    case JSON_FALSE: cbor_put_bool(b, false); break;
    case JSON_TRUE: cbor_put_bool(b, true); break;
    case JSON_NUMBER:
        if (n->num == floor(n->num) && fabs(n->num) < 9007199254740992.0) cbor_put_int(b, (int64_t)n->num);
        else cbor_put_double(b, n->num);
        break;
    case JSON_STRING: cbor_put_textn(b, n->str, n->len); break;
    case JSON_ARRAY:
        cbor_put_array(b, n->len);
        for (const json_node *c = n->child; c; c = c->next) def_json_to_cbor(b, c);
        break;
    case JSON_OBJECT:
        cbor_put_map(b, n->len);
        for (const json_node *c = n->child; c; c = c->next) {
            cbor_put_textn(b, c->key, c->key_len);
            def_json_to_cbor(b, c);
        }
        break;
    }
}

static void json_str_out(pbuf *b, const char *s, size_t n)
{
    pbuf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            pbuf_putc(b, '\\');
            pbuf_putc(b, (char)c);
        } else if (c < 0x20) {
            char e[8];
            snprintf(e, sizeof e, "\\u%04x", c);
            pbuf_put(b, e, 6);
        } else {
            pbuf_putc(b, (char)c);
        }
    }
    pbuf_putc(b, '"');
}

/* JSON value as compact JSON text (for JSON-kind assertions). */
static void json_out(pbuf *b, const json_node *n)
{
    char num[40];
    switch (n->type) {
    case JSON_NULL: pbuf_put(b, "null", 4); break;
    case JSON_FALSE: pbuf_put(b, "false", 5); break;
    case JSON_TRUE: pbuf_put(b, "true", 4); break;
    case JSON_NUMBER:
        if (n->num == floor(n->num) && fabs(n->num) < 9007199254740992.0)
            snprintf(num, sizeof num, "%lld", (long long)n->num);
        else
            snprintf(num, sizeof num, "%.17g", n->num);
        pbuf_put(b, num, strlen(num));
        break;
    case JSON_STRING: json_str_out(b, n->str, n->len); break;
    case JSON_ARRAY:
        pbuf_putc(b, '[');
        for (const json_node *c = n->child; c; c = c->next) {
            if (c != n->child) pbuf_putc(b, ',');
            json_out(b, c);
        }
        pbuf_putc(b, ']');
        break;
    case JSON_OBJECT:
        pbuf_putc(b, '{');
        for (const json_node *c = n->child; c; c = c->next) {
            if (c != n->child) pbuf_putc(b, ',');
            json_str_out(b, c->key, c->key_len);
            pbuf_putc(b, ':');
            json_out(b, c);
        }
        pbuf_putc(b, '}');
        break;
    }
}

/* Nesting depth of a value (a scalar is 1). */
static int depth_of(const json_node *n)
{
    int d = 0;
    for (const json_node *c = n->child; c; c = c->next) {
        int x = depth_of(c);
        if (x > d) d = x;
    }
    return d + 1;
}

/* Readers bound the nesting of what they parse (prov: PROV_MAX_CBOR_DEPTH
 * for a whole assertion); an action sits two levels down. */
#define DEF_MAX_DEPTH 16

static const char *str_of(const json_node *o, const char *key)
{
    const json_node *n = json_get(o, key);
    return n && n->type == JSON_STRING ? n->str : NULL;
}

static int bad(sctx *s, const char *fmt, const char *what)
{
    return prov_seterr(s->ctx, PROV_EINVAL, fmt, what);
}

static int take_actions(sctx *s, const json_node *data)
{
    const json_node *a = json_get(data, "actions");
    if (!a || a->type != JSON_ARRAY) return bad(s, "manifest definition: %s needs an \"actions\" array", "c2pa.actions");
    if (a->len > DEF_MAX_ACTIONS) return bad(s, "manifest definition: more than %s actions", "64");
    for (const json_node *c = a->child; c; c = c->next) {
        const char *name = c->type == JSON_OBJECT ? str_of(c, "action") : NULL;
        if (!name || !*name) return bad(s, "manifest definition: %s", "every action needs an \"action\" name");
        if (!strcmp(name, "c2pa.opened"))
            return bad(s, "manifest definition: %s is recorded by prov for the parent (--parent)", name);
        if (s->ndef_actions == DEF_MAX_ACTIONS) return bad(s, "manifest definition: more than %s actions", "64");
        s->def_actions[s->ndef_actions++] = c;
    }
    return 0;
}

/* The definition's "ingredient_paths": checked, counted, and copied into
 * out when given. */
static int paths_of(prov_ctx *ctx, const json_node *root, char **out, size_t *n)
{
    *n = 0;
    const json_node *ip = json_get(root, "ingredient_paths");
    if (!ip) return 0;
    if (ip->type != JSON_ARRAY)
        return prov_seterr(ctx, PROV_EINVAL, "manifest definition: \"ingredient_paths\" must be an array of paths");
    for (const json_node *e = ip->child; e; e = e->next) {
        if (e->type != JSON_STRING || !e->len || e->len > 4096 || memchr(e->str, 0, e->len))
            return prov_seterr(ctx, PROV_EINVAL, "manifest definition: each ingredient path must be a string of 1 to 4096 bytes");
        if (*n == SIGN_MAX_INGREDIENTS)
            return prov_seterr(ctx, PROV_ELIMIT, "manifest definition: more than %d ingredient paths", SIGN_MAX_INGREDIENTS);
        if (out && !(out[*n] = strdup(e->str))) return PROV_ENOMEM;
        (*n)++;
    }
    return 0;
}

int prov_definition_ingredient_paths(prov_ctx *ctx, const char *definition, size_t len, char ***paths, size_t *n)
{
    if (!definition || !paths || !n) return prov_seterr(ctx, PROV_EINVAL, "NULL argument");
    *paths = NULL;
    *n = 0;
    if (!len) len = strlen(definition);
    if (len > DEF_MAX_TEXT) return prov_seterr(ctx, PROV_EINVAL, "manifest definition: larger than 1 MiB");
    json_doc d;
    const char *why = NULL;
    int rc = json_parse(definition, len, &d, &why);
    if (rc) return prov_seterr(ctx, rc == PROV_EFORMAT ? PROV_EINVAL : rc, "manifest definition: not JSON (%s)",
                               why ? why : prov_strerror(rc));
    char **out = calloc(SIGN_MAX_INGREDIENTS, sizeof *out);
    if (!out) rc = PROV_ENOMEM;
    else if (!d.root || d.root->type != JSON_OBJECT)
        rc = prov_seterr(ctx, PROV_EINVAL, "manifest definition: not a JSON object");
    else
        rc = paths_of(ctx, d.root, out, n);
    json_free(&d);
    if (rc || !*n) {
        prov_definition_paths_free(out, SIGN_MAX_INGREDIENTS);
        *n = 0;
        return rc;
    }
    *paths = out;
    return 0;
}

void prov_definition_paths_free(char **paths, size_t n)
{
    if (!paths) return;
    for (size_t i = 0; i < n; i++) free(paths[i]);
    free(paths);
}

/* The definition's "ingredients" without files: each an object of title,
 * format, relationship (componentOf, the default, or inputTo: a parent is
 * a file, --parent) and optionally instance_id, description and
 * informational_uri, written as c2pa.ingredient.v3.  Fields that need the
 * file (a thumbnail, a hash, its manifest) are refused by name. */
static int take_ingredients(sctx *s, const json_node *arr)
{
    if (arr->type != JSON_ARRAY) return bad(s, "manifest definition: %s must be an array", "\"ingredients\"");
    for (const json_node *g = arr->child; g; g = g->next) {
        if (g->type != JSON_OBJECT) return bad(s, "manifest definition: %s", "each ingredient must be an object");
        static const char *const fields[] = {"title", "format", "relationship", "instance_id", "description",
                                             "informational_uri"};
        for (const json_node *k = g->child; k; k = k->next) {
            int ok = 0;
            for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
                if (k->key_len == strlen(fields[i]) && !memcmp(k->key, fields[i], k->key_len)) ok = 1;
            if (!ok) {
                char name[80];
                snprintf(name, sizeof name, "%.*s", (int)(k->key_len < 64 ? k->key_len : 64), k->key);
                return prov_seterr(s->ctx, PROV_EINVAL,
                                   "manifest definition: ingredient field \"%s\" is not taken (an ingredient "
                                   "without a file has title, format, relationship, instance_id, description, "
                                   "informational_uri; name a file in \"ingredient_paths\" to record more)",
                                   name);
            }
        }
        const char *title = str_of(g, "title"), *format = str_of(g, "format"), *rel = str_of(g, "relationship");
        if (!title || !*title || strlen(title) > 256 || !format || !*format || strlen(format) > 128)
            return bad(s, "manifest definition: %s", "each ingredient needs a \"title\" (1 to 256 bytes) and a "
                                                     "\"format\" (a media type, 1 to 128 bytes)");
        if (!rel) rel = "componentOf";
        if (!strcmp(rel, "parentOf"))
            return bad(s, "manifest definition: %s", "a parentOf ingredient is the file edited: give it with --parent");
        if (strcmp(rel, "componentOf") && strcmp(rel, "inputTo"))
            return bad(s, "manifest definition: ingredient relationship \"%s\" (componentOf or inputTo)", rel);
        static const char *const opt[][2] = {
            {"instance_id", "instanceID"}, {"description", "description"}, {"informational_uri", "informationalURI"}};
        size_t nopt = 0;
        for (size_t i = 0; i < 3; i++) {
            const json_node *v = json_get(g, opt[i][0]);
            if (!v) continue;
            if (v->type != JSON_STRING || !v->len || v->len > 1024)
                return bad(s, "manifest definition: ingredient \"%s\" must be a string of 1 to 1024 bytes", opt[i][0]);
            nopt++;
        }
        if (s->nmeta + s->o->ningredients >= SIGN_MAX_INGREDIENTS)
            return bad(s, "manifest definition: more than %s ingredients", "16");
        meta_ing *m = &s->meta[s->nmeta++];
        pbuf_init(&m->ing);
        m->placed = !strcmp(rel, "componentOf");
        cbor_put_map(&m->ing, 3 + nopt);
        cbor_put_text(&m->ing, "dc:title");
        cbor_put_text(&m->ing, title);
        cbor_put_text(&m->ing, "dc:format");
        cbor_put_text(&m->ing, format);
        cbor_put_text(&m->ing, "relationship");
        cbor_put_text(&m->ing, rel);
        for (size_t i = 0; i < 3; i++) {
            const char *v = str_of(g, opt[i][0]);
            if (!v) continue;
            cbor_put_text(&m->ing, opt[i][1]);
            cbor_put_text(&m->ing, v);
        }
        if (m->ing.err) return m->ing.err;
    }
    return 0;
}

int def_load(sctx *s)
{
    const prov_sign_opts *o = s->o;
    if (!o->definition) return 0;
    size_t n = o->definition_len ? o->definition_len : strlen(o->definition);
    if (n > DEF_MAX_TEXT) return bad(s, "manifest definition: larger than %s", "1 MiB");
    const char *why = NULL;
    int rc = json_parse(o->definition, n, &s->def, &why);
    if (rc) return prov_seterr(s->ctx, rc == PROV_EFORMAT ? PROV_EINVAL : rc, "manifest definition: not JSON (%s)",
                               why ? why : prov_strerror(rc));
    s->has_def = 1;
    const json_node *root = s->def.root;
    if (!root || root->type != JSON_OBJECT) return bad(s, "manifest definition: %s", "not a JSON object");
    if (depth_of(root) > DEF_MAX_DEPTH + 3)
        return bad(s, "manifest definition: nested deeper than %s levels", "16");
    const json_node *t = json_get(root, "title");
    if (t && (t->type != JSON_STRING || !t->len || t->len > 1024))
        return bad(s, "manifest definition: %s", "\"title\" must be a string of 1 to 1024 bytes");
    s->def_title = t ? t->str : NULL;
    const json_node *g = json_get(root, "claim_generator_info");
    if (g) {
        const json_node *g0 = g->type == JSON_ARRAY ? g->child : g;
        const char *name = g0 && g0->type == JSON_OBJECT ? str_of(g0, "name") : NULL;
        if (!name || !*name || strlen(name) > 256)
            return bad(s, "manifest definition: %s", "claim_generator_info needs a \"name\" (at most 256 bytes)");
        s->def_gen_name = name;
        s->def_gen_version = str_of(g0, "version");
    }
    const char *cg = str_of(root, "claim_generator"); /* the 1.x form: "name/version" */
    if (!s->def_gen_name && cg && *cg && strlen(cg) <= 256) s->def_gen_name = cg;
    for (const json_node *k = root->child; k; k = k->next) {
        static const char *const known[] = {"title",  "claim_generator_info", "claim_generator", "assertions",
                                            "format", "instance_id", "label", "vendor", "ingredient_paths",
                                            "ingredients"};
        int ok = 0;
        for (size_t i = 0; i < sizeof known / sizeof *known; i++)
            if (k->key_len == strlen(known[i]) && !memcmp(k->key, known[i], k->key_len)) ok = 1;
        if (!ok) {
            char name[80];
            snprintf(name, sizeof name, "%.*s", (int)(k->key_len < 64 ? k->key_len : 64), k->key);
            return bad(s, "manifest definition: unknown field \"%s\"", name);
        }
    }
    size_t np = 0;
    if ((rc = paths_of(s->ctx, root, NULL, &np))) return rc;
    if (np && np != o->ningredients)
        return bad(s, "manifest definition: \"ingredient_paths\" names %s; open them and pass them as "
                      "prov_sign_opts.ingredients, in order",
                   np == 1 ? "one file" : "files");
    s->def_npaths = np;
    const json_node *ings = json_get(root, "ingredients");
    if (ings && (rc = take_ingredients(s, ings))) return rc;
    const json_node *as = json_get(root, "assertions");
    if (as && as->type != JSON_ARRAY) return bad(s, "manifest definition: %s", "\"assertions\" must be an array");
    for (const json_node *a = as ? as->child : NULL; a; a = a->next) {
        const json_node *l = a->type == JSON_OBJECT ? json_get(a, "label") : NULL;
        const json_node *data = a->type == JSON_OBJECT ? json_get(a, "data") : NULL;
        if (!l || l->type != JSON_STRING || !data)
            return bad(s, "manifest definition: %s", "each assertion needs a \"label\" and \"data\"");
        if (!label_ok(l->str, l->len))
            return bad(s, "manifest definition: assertion label \"%s\" (letters, digits, '.', '_', '-'; 1 to 64)",
                       l->str);
        if (!strcmp(l->str, "c2pa.actions") || !strcmp(l->str, "c2pa.actions.v2")) {
            if ((rc = take_actions(s, data))) return rc;
            continue;
        }
        for (size_t i = 0; i < sizeof RESERVED / sizeof *RESERVED; i++)
            if (!strncmp(l->str, RESERVED[i], strlen(RESERVED[i])))
                return bad(s, "manifest definition: %s is written by prov itself", l->str);
        for (size_t i = 0; i < s->nextra; i++)
            if (!strcmp(s->extra[i].label, l->str)) return bad(s, "manifest definition: %s given twice", l->str);
        if (s->nextra == DEF_MAX_ASSERTIONS) return bad(s, "manifest definition: more than %s assertions", "16");
        const char *kind = str_of(a, "kind");
        int json = kind ? !strcasecmp(kind, "Json") : !strncmp(l->str, "stds.schema-org.", 16);
        if (kind && !json && strcasecmp(kind, "Cbor"))
            return bad(s, "manifest definition: assertion kind \"%s\" (Cbor or Json)", kind);
        def_extra *e = &s->extra[s->nextra++];
        e->label = l->str;
        e->json = json;
        pbuf_init(&e->body);
        if (json) json_out(&e->body, data);
        else def_json_to_cbor(&e->body, data);
        if (e->body.err) return e->body.err;
    }
    return 0;
}
