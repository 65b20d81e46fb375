/* verify_actions.c - the C2PA 2.x rules on a claim's actions and its
 * manifest label (C2PA 2.2, 15.10.4.x "Validate the actions"), with the
 * status codes readers (c2pa-rs) report: the first actions assertion
 * starts with c2pa.created or c2pa.opened and no other may; c2pa.opened
 * names a parentOf ingredient, c2pa.placed and c2pa.removed a componentOf
 * one; c2pa.created has a digitalSourceType; c2pa.translated its
 * languages; transcoding names a parentOf ingredient if it names one. */
#include "verify_actions.h"

#include <stdio.h>
#include <string.h>

#define MAX_ACTIONS 64 /* actions assertions looked at in one claim */

static int label_base(const char *label, const char *base)
{
    size_t n = strlen(base);
    if (strncmp(label, base, n)) return 0;
    return label[n] == 0 || (label[n] == '_' && label[n + 1] == '_');
}

static int is_actions(const char *l) { return label_base(l, "c2pa.actions") || label_base(l, "c2pa.actions.v2"); }

static int text_is(cval v, const char *s) { return cbor_type(v) == CBOR_TEXT && cbor_text_eq(v, s); }

/* The assertion label at the end of a hashed URI's url. */
static void url_tail(cval huri, const char **lab, size_t *n)
{
    cval u;
    const char *s;
    size_t k;
    *lab = NULL;
    *n = 0;
    if (cbor_map_get(huri, "url", &u) || cbor_get_text(u, &s, &k)) return;
    const char *t = s;
    for (size_t i = 0; i < k; i++)
        if (s[i] == '/') t = s + i + 1;
    *lab = t;
    *n = k - (size_t)(t - s);
}

/* Does the hashed URI name one of m's ingredient assertions with this
 * relationship? */
static int names_ingredient(c2pa_manifest *m, cval huri, const char *rel)
{
    const char *lab;
    size_t n;
    url_tail(huri, &lab, &n);
    if (!lab) return 0;
    if (n < 15 || memcmp(lab, "c2pa.ingredient", 15)) return 0;
    c2pa_assertion *a = manifest_assertion_n(m, lab, n);
    if (!a) return 0;
    jbox cb;
    cval ig, r;
    if (jsuper_first(&a->sb, &cb) || cb.type != BOX_CBOR || cbor_parse(cb.data, cb.data_len, 0, &ig)) return 0;
    return cbor_map_get(ig, "relationship", &r) == 0 && text_is(r, rel);
}

/* Some hashed URI of the action's parameters (ingredient or ingredients)
 * names an ingredient with rel.  -1 when it names none at all. */
static int params_name(c2pa_manifest *m, cval params, const char *rel)
{
    cval one, list, e;
    cbor_iter it;
    if (cbor_map_get(params, "ingredient", &one) == 0) return names_ingredient(m, one, rel);
    if (cbor_map_get(params, "ingredients", &list) == 0 && cbor_iter_init(list, &it) == 0) {
        int found = 0;
        while (cbor_iter_next(&it, &e)) found |= names_ingredient(m, e, rel);
        return found;
    }
    return -1;
}

/* The actions assertions in the claim's order, and which list each is in
 * (1 created, 2 gathered, 0 a v1 claim's). */
static size_t list_actions(c2pa_manifest *m, c2pa_assertion **out, int *from)
{
    static const char *const lists[] = {"created_assertions", "gathered_assertions", "assertions"};
    size_t n = 0;
    for (int li = 0; li < 3; li++) {
        cval list, e;
        cbor_iter it;
        if (cbor_map_get(m->claim, lists[li], &list) || cbor_iter_init(list, &it)) continue;
        while (cbor_iter_next(&it, &e) && n < MAX_ACTIONS) {
            const char *lab;
            size_t k;
            url_tail(e, &lab, &k);
            if (!lab) continue;
            c2pa_assertion *a = manifest_assertion_n(m, lab, k);
            if (a && is_actions(a->label)) {
                out[n] = a;
                from[n++] = li == 2 ? 0 : li + 1;
            }
        }
    }
    return n;
}

static int actions_of(c2pa_assertion *a, cval *list)
{
    jbox cb;
    cval am;
    return jsuper_first(&a->sb, &cb) || cb.type != BOX_CBOR || cbor_parse(cb.data, cb.data_len, 0, &am) ||
                   cbor_map_get(am, "actions", list) || cbor_type(*list) != CBOR_ARRAY
               ? -1
               : 0;
}

static int opens(cval action)
{
    cval a;
    return cbor_map_get(action, "action", &a) == 0 && (text_is(a, "c2pa.opened") || text_is(a, "c2pa.created"));
}

int manifest_label_ok(const char *label)
{
    /* split on ':' (at most 6 parts looked at) */
    const char *p[6];
    size_t n[6], k = 0;
    const char *s = label;
    for (;;) {
        const char *c = strchr(s, ':');
        if (k == 6) return 0;
        p[k] = s;
        n[k++] = c ? (size_t)(c - s) : strlen(s);
        if (!c) break;
        s = c + 1;
    }
#define IS(i, lit) (n[i] == sizeof lit - 1 && memcmp(p[i], lit, n[i]) == 0)
    if (k < 3) return 0;
    if (IS(0, "urn")) {
        if (IS(1, "uuid")) return 1; /* a 1.x label */
        if (!IS(1, "c2pa") || k > 5) return 0;
        if (k > 3 && n[3]) { /* claim generator: at most 32 printable ASCII, no spaces */
            if (n[3] > 32) return 0;
            for (size_t i = 0; i < n[3]; i++)
                if ((unsigned char)p[3][i] <= 0x20 || (unsigned char)p[3][i] >= 0x7F) return 0;
        }
        if (k > 4 && n[4]) { /* version[_reason], decimal */
            size_t i = 0, d = 0;
            while (i < n[4] && p[4][i] >= '0' && p[4][i] <= '9') i++, d++;
            if (!d || (i < n[4] && p[4][i] != '_')) return 0;
            if (i < n[4]) {
                i++;
                d = 0;
                while (i < n[4] && p[4][i] >= '0' && p[4][i] <= '9') i++, d++;
                if (!d || (i < n[4] && p[4][i] != '_')) return 0;
            }
        }
        return 1;
    }
    if (IS(1, "urn")) return k == 4 && IS(2, "uuid");
    return 0;
#undef IS
}

void actions_check(c2pa_manifest *m, actions_fail_fn fail, void *user)
{
    c2pa_assertion *acts[MAX_ACTIONS];
    int from[MAX_ACTIONS];
    size_t n = list_actions(m, acts, from);
    if (m->claim_version < 2) {
        if (n > 1) fail(user, "assertion.action.malformed", "a 1.x claim may have one actions assertion");
        return;
    }
    cval list, e;
    cbor_iter it;
    for (size_t i = 0; i < n; i++) {
        if (actions_of(acts[i], &list) == 0 && cbor_count(list) == 0) {
            fail(user, "assertion.action.malformed", "an actions assertion with no actions");
            return;
        }
    }
    /* the first actions assertion: of the created ones, else the gathered */
    c2pa_assertion *first = NULL;
    for (int want = 1; want <= 2; want++) {
        for (size_t i = 0; i < n; i++) {
            if (from[i] != want) continue;
            if (actions_of(acts[i], &list) == 0 && cbor_iter_init(list, &it) == 0 && cbor_iter_next(&it, &e) &&
                opens(e))
                first = acts[i];
            break;
        }
    }
    if (!first && !m->is_update)
        fail(user, "assertion.action.malformed", "the first action must be c2pa.created or c2pa.opened");
    for (size_t i = 0; i < n; i++) {
        if (actions_of(acts[i], &list) || cbor_iter_init(list, &it)) continue;
        while (cbor_iter_next(&it, &e)) {
            cval a, params, dst, sl, tl;
            const char *name;
            size_t nl;
            if (cbor_type(e) != CBOR_MAP || cbor_map_get(e, "action", &a) || cbor_get_text(a, &name, &nl) || !nl) {
                fail(user, "assertion.action.malformed", "an action without a name");
                continue;
            }
            int is_open = text_is(a, "c2pa.opened"), is_created = text_is(a, "c2pa.created");
            if ((is_open || is_created) && ((first && acts[i] != first) || i != 0))
                fail(user, "assertion.action.malformed", "only the first action may be c2pa.created or c2pa.opened");
            int has_params = cbor_map_get(e, "parameters", &params) == 0 && cbor_type(params) == CBOR_MAP;
            if (is_open || text_is(a, "c2pa.placed") || text_is(a, "c2pa.removed")) {
                const char *rel = is_open ? "parentOf" : "componentOf";
                cval ings;
                if (!has_params || params_name(m, params, rel) < 0) {
                    fail(user, "assertion.action.ingredientMismatch",
                         "opened, placed and removed actions must name their ingredients");
                    continue;
                }
                if (cbor_map_get(params, "ingredients", &ings) == 0 && cbor_count(ings) == 0)
                    fail(user, "assertion.action.ingredientMismatch", "an empty ingredients parameter");
                if (params_name(m, params, rel) != 1) {
                    char why[96];
                    snprintf(why, sizeof why, "%s does not name a %s ingredient", is_open ? "c2pa.opened" : "the action",
                             rel);
                    fail(user, "assertion.action.ingredientMismatch", why);
                }
            }
            if (is_created && cbor_map_get(e, "digitalSourceType", &dst))
                fail(user, "assertion.action.malformed", "c2pa.created action must have a digitalSourceType");
            if (text_is(a, "c2pa.translated")) {
                const char *s;
                size_t k;
                if (!has_params || cbor_map_get(params, "sourceLanguage", &sl) || cbor_get_text(sl, &s, &k) || !k ||
                    cbor_map_get(params, "targetLanguage", &tl) || cbor_get_text(tl, &s, &k) || !k)
                    fail(user, "assertion.action.malformed",
                         "c2pa.translated action must have sourceLanguage and targetLanguage parameters");
            }
            if ((text_is(a, "c2pa.transcoded") || text_is(a, "c2pa.repackaged")) && has_params &&
                params_name(m, params, "parentOf") == 0)
                fail(user, "assertion.action.ingredientMismatch", "a transcoding names an ingredient that is not parentOf");
        }
    }
}
