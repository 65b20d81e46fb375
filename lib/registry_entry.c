/* registry_entry.c - registry entries (signed notes), policy, state.
 * Formats: registry.h and docs/registry.md. */
#include "registry.h"

#include <ctype.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *reg_kind_name(reg_kind k)
{
    switch (k) {
    case REG_REGISTER: return "register";
    case REG_ROTATE: return "rotate";
    case REG_REVOKE: return "revoke";
    case REG_FLAG: return "flag";
    }
    return "?";
}

/* ---- field table ------------------------------------------------------ */

enum { T_KEY, T_TEXT, T_U64, T_SHA, T_SHAN };
enum { F_KEY, F_NEWKEY, F_NAME, F_ORG, F_CONTACT, F_CHECKED, F_REGISTRAR, F_TIME, F_REASON,
       F_EFFECTIVE, F_MEDIA, F_MANIFEST, F_FLAGGER, F_LOG };

typedef struct field {
    const char *name;
    int id, type, optional;
} field;

/* every kind starts with the log it is for (its origin), so that an entry
 * of one log is refused by another */
static const field F_REG[] = {{"log", F_LOG, T_TEXT, 0},         {"key", F_KEY, T_KEY, 0},          {"name", F_NAME, T_TEXT, 0},
                              {"org", F_ORG, T_TEXT, 1},         {"contact", F_CONTACT, T_TEXT, 1},
                              {"checked-by", F_CHECKED, T_TEXT, 1}, {"registrar", F_REGISTRAR, T_KEY, 0},
                              {"time", F_TIME, T_U64, 0},        {NULL, 0, 0, 0}};
static const field F_ROT[] = {{"log", F_LOG, T_TEXT, 0}, {"key", F_KEY, T_KEY, 0}, {"new-key", F_NEWKEY, T_KEY, 0},
                              {"time", F_TIME, T_U64, 0}, {NULL, 0, 0, 0}};
static const field F_REV[] = {{"log", F_LOG, T_TEXT, 0}, {"key", F_KEY, T_KEY, 0}, {"reason", F_REASON, T_TEXT, 0},
                              {"effective", F_EFFECTIVE, T_U64, 0}, {"time", F_TIME, T_U64, 0},
                              {NULL, 0, 0, 0}};
static const field F_FLG[] = {{"log", F_LOG, T_TEXT, 0},         {"key", F_KEY, T_KEY, 0},         {"media", F_MEDIA, T_SHA, 0},
                              {"manifest", F_MANIFEST, T_SHAN, 0}, {"reason", F_REASON, T_TEXT, 0},
                              {"flagger", F_FLAGGER, T_KEY, 0},  {"time", F_TIME, T_U64, 0},
                              {NULL, 0, 0, 0}};

static const field *fields_of(reg_kind k)
{
    switch (k) {
    case REG_REGISTER: return F_REG;
    case REG_ROTATE: return F_ROT;
    case REG_REVOKE: return F_REV;
    case REG_FLAG: return F_FLG;
    }
    return NULL;
}

static uint8_t *key_slot(reg_entry *e, int id)
{
    switch (id) {
    case F_KEY: return e->key;
    case F_NEWKEY: return e->new_key;
    case F_REGISTRAR: return e->registrar;
    case F_FLAGGER: return e->flagger;
    case F_MEDIA: return e->media;
    case F_MANIFEST: return e->manifest;
    }
    return NULL;
}

static reg_pub *pub_slot(reg_entry *e, int id)
{
    return id == F_KEY ? &e->key_pub : id == F_NEWKEY ? &e->new_key_pub : NULL;
}

static reg_str *str_slot(reg_entry *e, int id)
{
    switch (id) {
    case F_NAME: return &e->name;
    case F_ORG: return &e->org;
    case F_CONTACT: return &e->contact;
    case F_CHECKED: return &e->checked_by;
    case F_REASON: return &e->reason;
    case F_LOG: return &e->log;
    }
    return NULL;
}

static uint64_t *u64_slot(reg_entry *e, int id)
{
    return id == F_TIME ? &e->time : &e->effective;
}

static bool text_ok(const char *p, size_t n)
{
    return n >= 1 && n <= REG_FIELD_MAX && p[0] != ' ' && p[n - 1] != ' ' &&
           tlog_text_valid(p, n) && !memchr(p, '\n', n);
}

/* ---- parse ------------------------------------------------------------ */

typedef struct sigkeys {
    tlog_verifier v[2];
    size_t n;
    const reg_entry *e; /* ECDSA signers are the keys the entry holds */
} sigkeys;

static int lookup_named(void *user, const char *name, size_t nl, uint32_t id,
                        const tlog_verifier **out)
{
    sigkeys *sk = user;
    uint8_t pk[32];
    bool ec = nl == 70 && !memcmp(name, "ecdsa:", 6);
    if (ec ? reg_hex32(name + 6, 64, pk) : (nl != 72 || memcmp(name, "ed25519:", 8) || reg_hex32(name + 8, 64, pk)))
        return PROV_ENOTFOUND;
    for (size_t i = 0; i < sk->n; i++)
        if (!memcmp(sk->v[i].pub, pk, 32) && (sk->v[i].alg == TLOG_ALG_ECDSA) == ec) {
            *out = &sk->v[i];
            return sk->v[i].id == id ? 0 : PROV_ENOTFOUND;
        }
    if (sk->n == 2) return PROV_ENOTFOUND;
    tlog_verifier *v = &sk->v[sk->n];
    const reg_pub *kp = NULL;
    if (ec && sk->e) {
        const reg_pub *c[2] = {&sk->e->key_pub, &sk->e->new_key_pub};
        for (int i = 0; i < 2 && !kp; i++)
            if (reg_pub_is_ecdsa(c[i]) && !memcmp(c[i]->id, pk, 32)) kp = c[i];
    }
    char nm[REG_SIGNAME_MAX];
    reg_pub ed;
    reg_pub_ed25519(&ed, pk);
    reg_sig_name(nm, kp ? kp : &ed);
    if (ec ? !kp || tlog_verifier_init_ecdsa(v, nm, kp->spki, kp->spki_len)
           : tlog_verifier_init(v, nm, TLOG_ALG_ED25519, pk))
        return PROV_ENOTFOUND;
    if (v->id != id) return PROV_ENOTFOUND;
    sk->n++;
    *out = v;
    return 0;
}

bool reg_entry_signed_by(const reg_entry *e, const uint8_t pk[32])
{
    for (size_t i = 0; i < e->nsigners; i++)
        if (!memcmp(e->signers[i], pk, 32)) return true;
    return false;
}

static int parse_text(const char *t, size_t len, reg_entry *e, prov_ctx *ctx)
{
    const char *end = t + len, *p = t;
    const char *nl = memchr(p, '\n', len);
    if (!nl) return prov_seterr(ctx, PROV_EFORMAT, "entry: no first line");
    size_t ml = sizeof REG_MAGIC - 1;
    if ((size_t)(nl - p) <= ml + 1 || memcmp(p, REG_MAGIC " ", ml + 1))
        return prov_seterr(ctx, PROV_EFORMAT, "entry: first line is not \"" REG_MAGIC " KIND\"");
    const char *k = p + ml + 1;
    size_t kl = (size_t)(nl - k);
    reg_kind kinds[] = {REG_REGISTER, REG_ROTATE, REG_REVOKE, REG_FLAG};
    e->kind = 0;
    for (int i = 0; i < 4; i++)
        if (strlen(reg_kind_name(kinds[i])) == kl && !memcmp(k, reg_kind_name(kinds[i]), kl))
            e->kind = kinds[i];
    if (!e->kind) return prov_seterr(ctx, PROV_EFORMAT, "entry: unknown kind \"%.*s\"", (int)(kl > 32 ? 32 : kl), k);
    const field *f = fields_of(e->kind);
    p = nl + 1;
    int line = 2;
    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) return prov_seterr(ctx, PROV_EFORMAT, "entry line %d: no newline", line);
        const char *sp = memchr(p, ' ', (size_t)(nl - p));
        if (!sp) return prov_seterr(ctx, PROV_EFORMAT, "entry line %d: expected \"FIELD VALUE\"", line);
        size_t fl = (size_t)(sp - p);
        const char *v = sp + 1;
        size_t vl = (size_t)(nl - v);
        /* next field of the table, skipping optional ones */
        while (f->name && !(strlen(f->name) == fl && !memcmp(f->name, p, fl))) {
            if (!f->optional)
                return prov_seterr(ctx, PROV_EFORMAT, "entry line %d: expected \"%s\", got \"%.*s\"", line,
                                   f->name, (int)(fl > 32 ? 32 : fl), p);
            f++;
        }
        if (!f->name)
            return prov_seterr(ctx, PROV_EFORMAT, "entry line %d: unexpected field \"%.*s\" in a %s entry", line,
                               (int)(fl > 32 ? 32 : fl), p, reg_kind_name(e->kind));
        int bad = 0;
        switch (f->type) {
        case T_KEY: {
            reg_pub *kp = pub_slot(e, f->id);
            if (kp) { /* a media-signing key: Ed25519 or ECDSA */
                bad = reg_pub_parse(v, vl, kp) || memchr(v, ' ', vl) || (vl > 5 && !memcmp(v, "-----", 5));
                if (!bad) memcpy(key_slot(e, f->id), kp->id, 32);
            } else { /* registrar, flagger: Ed25519 */
                bad = vl != 52 || memcmp(v, "ed25519:", 8) || reg_b64key(v + 8, 44, key_slot(e, f->id));
            }
            break;
        }
        case T_TEXT:
            bad = !text_ok(v, vl) || (f->id == F_LOG && (vl > TLOG_NAME_MAX || memchr(v, ' ', vl)));
            if (!bad) *str_slot(e, f->id) = (reg_str){v, vl};
            break;
        case T_U64:
            bad = tlog_parse_u64(v, vl, u64_slot(e, f->id)) || *u64_slot(e, f->id) > INT64_MAX;
            break;
        case T_SHAN:
            if (vl == 4 && !memcmp(v, "none", 4)) break;
            e->has_manifest = true;
            /* fall through */
        case T_SHA:
            bad = vl != 71 || memcmp(v, "sha256:", 7) || reg_hex32(v + 7, 64, key_slot(e, f->id));
            break;
        }
        if (bad) return prov_seterr(ctx, PROV_EFORMAT, "entry line %d: bad value for \"%s\"", line, f->name);
        f++;
        p = nl + 1;
        line++;
    }
    for (; f->name; f++)
        if (!f->optional) return prov_seterr(ctx, PROV_EFORMAT, "entry: missing field \"%s\"", f->name);
    return 0;
}

static int parse_entry(const uint8_t *msg, size_t len, bool verify, bool trust, reg_entry *e, prov_ctx *ctx);

int reg_entry_parse(const uint8_t *msg, size_t len, bool verify, reg_entry *e, prov_ctx *ctx)
{
    return parse_entry(msg, len, verify, false, e, ctx);
}

int reg_entry_parse_trusted(const uint8_t *msg, size_t len, reg_entry *e, prov_ctx *ctx)
{
    return parse_entry(msg, len, true, true, e, ctx);
}

static int parse_entry(const uint8_t *msg, size_t len, bool verify, bool trust, reg_entry *e, prov_ctx *ctx)
{
    memset(e, 0, sizeof *e);
    if (len > REG_ENTRY_MAX) return prov_seterr(ctx, PROV_ELIMIT, "entry: %zu bytes (at most %d)", len, REG_ENTRY_MAX);
    tlog_note *n = malloc(sizeof *n);
    if (!n) return PROV_ENOMEM;
    /* the text first (no key known yet: nothing verified), then, knowing
     * the ECDSA keys the entry names, every signature once */
    tlog_verifiers none = {0};
    int rc = tlog_note_open(msg, len, &none, n, ctx);
    if (rc == PROV_ENOTFOUND && n->text) rc = 0;
    if (rc) goto out;
    if (n->nsigs > 2) {
        rc = prov_seterr(ctx, PROV_EFORMAT, "entry: %zu signatures (at most 2)", n->nsigs);
        goto out;
    }
    e->text = n->text;
    e->text_len = n->text_len;
    if ((rc = parse_text(n->text, n->text_len, e, ctx))) goto out;
    if (!verify) goto out;
    sigkeys sk = {.n = 0, .e = e};
    tlog_verifiers vs = {.lookup = lookup_named, .user = &sk};
    rc = trust ? tlog_note_open_unchecked(msg, len, &vs, n, ctx) : tlog_note_open(msg, len, &vs, n, ctx);
    if (rc && rc != PROV_ENOTFOUND) goto out;
    rc = 0;
    if (!n->nverified) {
        rc = prov_seterr(ctx, TLOG_EVERIFY, "entry: no signature by a key it names");
        goto out;
    }
    if (n->nverified != n->nsigs) {
        rc = prov_seterr(ctx, TLOG_EVERIFY, "entry: a signature line is not by a key the entry names");
        goto out;
    }
    for (size_t i = 0; i < n->nsigs; i++) memcpy(e->signers[e->nsigners++], n->sigs[i].by->pub, 32);
    /* required and allowed signers */
    const uint8_t *need[2] = {NULL, NULL};
    switch (e->kind) {
    case REG_REGISTER: need[0] = e->key, need[1] = e->registrar; break;
    case REG_ROTATE:
        if (!memcmp(e->key, e->new_key, 32)) {
            rc = prov_seterr(ctx, PROV_EFORMAT, "entry: rotate to the same key");
            goto out;
        }
        need[0] = e->key, need[1] = e->new_key;
        break;
    case REG_FLAG: need[0] = e->flagger; break;
    case REG_REVOKE: break; /* the key or its registrar: reg_state_check */
    }
    for (int i = 0; i < 2; i++)
        if (need[i] && !reg_entry_signed_by(e, need[i])) {
            char id[17];
            reg_key_id(id, need[i]);
            rc = prov_seterr(ctx, TLOG_EVERIFY, "entry: %s entry lacks the signature of key %s",
                             reg_kind_name(e->kind), id);
            goto out;
        }
    if (e->kind != REG_REVOKE)
        for (size_t i = 0; i < e->nsigners; i++)
            if (!(need[0] && !memcmp(e->signers[i], need[0], 32)) &&
                !(need[1] && !memcmp(e->signers[i], need[1], 32))) {
                rc = prov_seterr(ctx, TLOG_EVERIFY, "entry: signed by a key with no role in it");
                goto out;
            }
out:
    free(n);
    if (rc) memset(e, 0, sizeof *e);
    return rc;
}

int reg_entry_fresh(const reg_entry *e, uint64_t now, prov_ctx *ctx)
{
    if (e->time > now + REG_TIME_FUTURE)
        return prov_seterr(ctx, PROV_EINVAL, "%s: time %llu is in the future (the log's clock says %llu)",
                           reg_kind_name(e->kind), (unsigned long long)e->time, (unsigned long long)now);
    if (e->time + REG_TIME_PAST < now)
        return prov_seterr(ctx, PROV_EINVAL, "%s: time %llu is more than %d hours old (the log's clock says %llu)",
                           reg_kind_name(e->kind), (unsigned long long)e->time, REG_TIME_PAST / 3600,
                           (unsigned long long)now);
    if (e->kind == REG_REVOKE && e->effective > e->time)
        return prov_seterr(ctx, PROV_EINVAL, "revoke: effective after the entry's own time");
    if (e->kind == REG_REGISTER && (e->name.n > REG_CERT_FIELD_MAX || e->org.n > REG_CERT_FIELD_MAX))
        return prov_seterr(ctx, PROV_EINVAL, "register: %s is %zu bytes; a certificate holds at most %d",
                           e->name.n > REG_CERT_FIELD_MAX ? "the name" : "the org",
                           e->name.n > REG_CERT_FIELD_MAX ? e->name.n : e->org.n, REG_CERT_FIELD_MAX);
    return 0;
}

/* ---- build ------------------------------------------------------------ */

int reg_entry_build(pbuf *out, const reg_entry *e0, const tlog_signer *signers, size_t nsigners,
                    prov_ctx *ctx)
{
    reg_entry e = *e0;
    const field *f = fields_of(e.kind);
    if (!f) return prov_seterr(ctx, PROV_EINVAL, "entry: unknown kind");
    pbuf t;
    pbuf_init(&t);
    pbuf_printf(&t, "%s %s\n", REG_MAGIC, reg_kind_name(e.kind));
    int rc = 0;
    for (; f->name && !rc; f++) {
        char buf[80];
        switch (f->type) {
        case T_KEY: {
            char kt[REG_KEYTEXT_MAX];
            const reg_pub *kp = pub_slot(&e, f->id);
            if (kp && reg_pub_is_ecdsa(kp)) {
                if (memcmp(kp->id, key_slot(&e, f->id), 32))
                    rc = prov_seterr(ctx, PROV_EINVAL, "%s: the key and its handle differ", f->name);
                reg_pub_text(kt, kp);
            } else {
                reg_key_text(kt, key_slot(&e, f->id));
            }
            pbuf_printf(&t, "%s %s\n", f->name, kt);
            break;
        }
        case T_TEXT: {
            reg_str *s = str_slot(&e, f->id);
            if (!s->p && f->optional) break;
            if (f->id == F_LOG && (!s->p || s->n > TLOG_NAME_MAX || memchr(s->p, ' ', s->n) || !text_ok(s->p, s->n)))
                rc = prov_seterr(ctx, PROV_EINVAL, "log: the log's origin (from its policy or log.pub) is needed");
            else if (!s->p || !text_ok(s->p, s->n))
                rc = prov_seterr(ctx, PROV_EINVAL,
                                 "%s: 1 to %d characters of text, no control characters, no leading or trailing space",
                                 f->name, REG_FIELD_MAX);
            else
                pbuf_printf(&t, "%s %.*s\n", f->name, (int)s->n, s->p);
            break;
        }
        case T_U64: {
            uint64_t v = *u64_slot(&e, f->id);
            if (v > INT64_MAX) rc = prov_seterr(ctx, PROV_EINVAL, "%s: out of range", f->name);
            pbuf_printf(&t, "%s %llu\n", f->name, (unsigned long long)v);
            break;
        }
        case T_SHAN:
            if (!e.has_manifest) {
                pbuf_printf(&t, "%s none\n", f->name);
                break;
            }
            /* fall through */
        case T_SHA:
            sodium_bin2hex(buf, 65, key_slot(&e, f->id), 32);
            pbuf_printf(&t, "%s sha256:%s\n", f->name, buf);
            break;
        }
    }
    if (!rc && t.err) rc = t.err;
    if (!rc) rc = tlog_note_sign(out, (const char *)t.p, t.len, NULL, 0, signers, nsigners, 0, ctx);
    if (!rc && out->len > REG_ENTRY_MAX) rc = prov_seterr(ctx, PROV_ELIMIT, "entry too large");
    pbuf_free(&t);
    return rc;
}

/* ---- policy ----------------------------------------------------------- */

static int push_key(uint8_t (**arr)[32], size_t *n, const uint8_t pk[32])
{
    uint8_t(*a)[32] = realloc(*arr, (*n + 1) * 32);
    if (!a) return PROV_ENOMEM;
    memcpy(a[*n], pk, 32);
    *arr = a;
    (*n)++;
    return 0;
}

int reg_policy_parse(const char *text, size_t len, reg_policy *p, prov_ctx *ctx)
{
    memset(p, 0, sizeof *p);
    const char *s = text, *end = text + len;
    int line = 0, rc = 0, seen_magic = 0;
    while (s < end && !rc) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *le = nl ? nl : end;
        line++;
        size_t n = (size_t)(le - s);
        if (n && s[0] != '#') {
            if (!seen_magic) {
                if (n != sizeof REG_MAGIC " policy" - 1 || memcmp(s, REG_MAGIC " policy", n))
                    rc = prov_seterr(ctx, PROV_EFORMAT, "policy: first line is not \"" REG_MAGIC " policy\"");
                seen_magic = 1;
            } else if (n > 7 && !memcmp(s, "origin ", 7)) {
                if (n - 7 > TLOG_NAME_MAX) rc = prov_seterr(ctx, PROV_EFORMAT, "policy line %d: origin too long", line);
                else memcpy(p->origin, s + 7, n - 7), p->origin[n - 7] = 0;
            } else if ((n >= 10 + 52 && !memcmp(s, "registrar ", 10)) || (n >= 8 + 52 && !memcmp(s, "flagger ", 8))) {
                int reg = s[0] == 'r';
                const char *k = s + (reg ? 10 : 8);
                uint8_t pk[32];
                if (memcmp(k, "ed25519:", 8) || reg_b64key(k + 8, 44, pk))
                    rc = prov_seterr(ctx, PROV_EFORMAT, "policy line %d: bad key", line);
                else
                    rc = reg ? push_key(&p->registrars, &p->nregistrars, pk)
                             : push_key(&p->flaggers, &p->nflaggers, pk);
            } else {
                rc = prov_seterr(ctx, PROV_EFORMAT, "policy line %d: unknown item", line);
            }
        }
        s = nl ? nl + 1 : end;
    }
    if (!rc && !seen_magic) rc = prov_seterr(ctx, PROV_EFORMAT, "policy: empty");
    if (rc) reg_policy_free(p);
    return rc;
}

int reg_policy_load(const char *dir, reg_policy *p, prov_ctx *ctx)
{
    uint8_t *buf = malloc(1 << 20);
    size_t n;
    if (!buf) return PROV_ENOMEM;
    int rc = tlog_dir_read((void *)dir, "policy", buf, 1 << 20, &n);
    if (rc) rc = prov_seterr(ctx, rc, "%s/policy: cannot read (%s)", dir, prov_strerror(rc));
    else rc = reg_policy_parse((char *)buf, n, p, ctx);
    free(buf);
    return rc;
}

void reg_policy_free(reg_policy *p)
{
    free(p->registrars);
    free(p->flaggers);
    memset(p, 0, sizeof *p);
}

static bool in_list(uint8_t (*a)[32], size_t n, const uint8_t pk[32])
{
    for (size_t i = 0; i < n; i++)
        if (!memcmp(a[i], pk, 32)) return true;
    return false;
}
bool reg_policy_registrar(const reg_policy *p, const uint8_t pk[32]) { return in_list(p->registrars, p->nregistrars, pk); }
bool reg_policy_flagger(const reg_policy *p, const uint8_t pk[32]) { return in_list(p->flaggers, p->nflaggers, pk); }

/* ---- state ------------------------------------------------------------ */

struct reg_state {
    reg_ident **slots; /* open addressing on the key's first 8 bytes */
    size_t cap, n;
    reg_ident **all; /* in order of registration */
    size_t nall, capall;
};

int reg_state_new(reg_state **out)
{
    reg_state *s = calloc(1, sizeof *s);
    if (!s) return PROV_ENOMEM;
    s->cap = 1024;
    s->slots = calloc(s->cap, sizeof *s->slots);
    if (!s->slots) { free(s); return PROV_ENOMEM; }
    *out = s;
    return 0;
}

/* An identity and its four strings are one allocation (new_ident): a
 * mirror's cold sync holds a million of them. */
static void ident_free(reg_ident *d)
{
    free(d->revoked_reason);
    for (size_t i = 0; i < d->nflags; i++) free(d->flags[i].reason);
    free(d->flags);
    free(d);
}

void reg_state_free(reg_state *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->nall; i++) ident_free(s->all[i]);
    free(s->all);
    free(s->slots);
    free(s);
}

static size_t slot_of(const reg_state *s, const uint8_t pk[32])
{
    uint64_t h = rd64(pk);
    size_t i = (size_t)(h & (s->cap - 1));
    while (s->slots[i] && memcmp(s->slots[i]->key, pk, 32)) i = (i + 1) & (s->cap - 1);
    return i;
}

const reg_ident *reg_state_find(const reg_state *s, const uint8_t pk[32])
{
    return s->slots[slot_of(s, pk)];
}

size_t reg_state_count(const reg_state *s) { return s->nall; }

void reg_ident_pub(const reg_ident *d, reg_pub *k)
{
    if (d->spki_len && d->spki && !reg_pub_from_spki(k, d->spki, d->spki_len) && !memcmp(k->id, d->key, 32)) return;
    reg_pub_ed25519(k, d->key);
}

static int insert(reg_state *s, reg_ident *d)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t nc = s->cap * 2;
        reg_ident **ns = calloc(nc, sizeof *ns);
        if (!ns) return PROV_ENOMEM;
        reg_ident **old = s->slots;
        size_t oc = s->cap;
        s->slots = ns, s->cap = nc;
        for (size_t i = 0; i < oc; i++)
            if (old[i]) s->slots[slot_of(s, old[i]->key)] = old[i];
        free(old);
    }
    if (s->nall == s->capall) {
        size_t nc = s->capall ? s->capall * 2 : 64;
        reg_ident **na = realloc(s->all, nc * sizeof *na);
        if (!na) return PROV_ENOMEM;
        s->all = na, s->capall = nc;
    }
    s->slots[slot_of(s, d->key)] = d;
    s->all[s->nall++] = d;
    s->n++;
    return 0;
}

static char *dupstr(reg_str r)
{
    if (!r.p) return NULL;
    char *c = malloc(r.n + 1);
    if (c) memcpy(c, r.p, r.n), c[r.n] = 0;
    return c;
}

static reg_str cstr_of(const char *c) { return (reg_str){c, c ? strlen(c) : 0}; }

/* A zeroed identity with copies of its key and the four strings after it. */
static reg_ident *new_ident(const reg_pub *k, reg_str name, reg_str org, reg_str contact, reg_str checked_by)
{
    reg_str in[4] = {name, org, contact, checked_by};
    size_t extra = k->spki_len;
    for (int i = 0; i < 4; i++) extra += in[i].p ? in[i].n + 1 : 0;
    reg_ident *d = calloc(1, sizeof *d + extra);
    if (!d) return NULL;
    memcpy(d->key, k->id, 32);
    char *p = (char *)(d + 1), **out[4] = {&d->name, &d->org, &d->contact, &d->checked_by};
    if (k->spki_len) {
        d->spki = (uint8_t *)p, d->spki_len = k->spki_len;
        memcpy(p, k->spki, k->spki_len);
        p += k->spki_len;
    }
    for (int i = 0; i < 4; i++) {
        if (!in[i].p) continue;
        memcpy(p, in[i].p, in[i].n), p[in[i].n] = 0;
        *out[i] = p, p += in[i].n + 1;
    }
    return d;
}

int reg_state_check(const reg_state *s, const reg_policy *p, const reg_entry *e, prov_ctx *ctx)
{
    const reg_ident *d = reg_state_find(s, e->key);
    char id[17];
    reg_key_id(id, e->key);
    size_t ol = strlen(p->origin);
    if (ol && (e->log.n != ol || memcmp(e->log.p, p->origin, ol)))
        return prov_seterr(ctx, PROV_EINVAL, "%s entry for log \"%.*s\", not this log (\"%s\")", reg_kind_name(e->kind),
                           (int)(e->log.n > 64 ? 64 : e->log.n), e->log.p ? e->log.p : "", p->origin);
    switch (e->kind) {
    case REG_REGISTER:
        if (d) return prov_seterr(ctx, PROV_EINVAL, "key %s is already in the registry", id);
        if (!reg_policy_registrar(p, e->registrar))
            return prov_seterr(ctx, PROV_EINVAL, "register: the registrar is not accredited by the policy");
        return 0;
    case REG_ROTATE:
        if (!d) return prov_seterr(ctx, PROV_EINVAL, "rotate: key %s is not registered", id);
        if (d->status != REG_ACTIVE)
            return prov_seterr(ctx, PROV_EINVAL, "rotate: key %s is %s", id,
                               d->status == REG_ROTATED ? "already rotated" : "revoked");
        if (reg_state_find(s, e->new_key)) return prov_seterr(ctx, PROV_EINVAL, "rotate: the new key is already in the registry");
        return 0;
    case REG_REVOKE:
        if (!d) return prov_seterr(ctx, PROV_EINVAL, "revoke: key %s is not registered", id);
        if (d->status == REG_REVOKED) return prov_seterr(ctx, PROV_EINVAL, "revoke: key %s is already revoked", id);
        if (!e->nsigners) return prov_seterr(ctx, TLOG_EVERIFY, "revoke: not signed");
        for (size_t i = 0; i < e->nsigners; i++)
            if (memcmp(e->signers[i], e->key, 32) && memcmp(e->signers[i], d->registrar, 32))
                return prov_seterr(ctx, TLOG_EVERIFY, "revoke: signed by neither key %s nor its registrar", id);
        return 0;
    case REG_FLAG:
        if (!d) return prov_seterr(ctx, PROV_EINVAL, "flag: key %s is not registered", id);
        if (!reg_policy_flagger(p, e->flagger))
            return prov_seterr(ctx, PROV_EINVAL, "flag: the flagger is not accredited by the policy");
        /* a copy of a published flag, sent again, is not a new finding */
        for (size_t i = 0; i < d->nflags; i++) {
            const reg_flag *f = &d->flags[i];
            if (f->time == e->time && !memcmp(f->flagger, e->flagger, 32) && !memcmp(f->media, e->media, 32) &&
                f->has_manifest == e->has_manifest && (!f->has_manifest || !memcmp(f->manifest, e->manifest, 32)) &&
                f->reason && strlen(f->reason) == e->reason.n && !memcmp(f->reason, e->reason.p, e->reason.n))
                return prov_seterr(ctx, PROV_EINVAL, "flag: the same flag is already entry %llu",
                                   (unsigned long long)f->index);
        }
        return 0;
    }
    return PROV_EINVAL;
}

int reg_state_apply(reg_state *s, const reg_entry *e, uint64_t index)
{
    reg_ident *d = (reg_ident *)reg_state_find(s, e->key);
    switch (e->kind) {
    case REG_REGISTER:
        if (d) return PROV_EINVAL;
        reg_pub kp = e->key_pub;
        if (!reg_pub_is_ecdsa(&kp)) reg_pub_ed25519(&kp, e->key);
        if (!(d = new_ident(&kp, e->name, e->org, e->contact, e->checked_by))) return PROV_ENOMEM;
        memcpy(d->registrar, e->registrar, 32);
        d->index = index, d->time = e->time;
        if (insert(s, d)) { ident_free(d); return PROV_ENOMEM; }
        return 0;
    case REG_ROTATE: {
        if (!d || reg_state_find(s, e->new_key)) return PROV_EINVAL;
        reg_pub nk = e->new_key_pub;
        if (!reg_pub_is_ecdsa(&nk)) reg_pub_ed25519(&nk, e->new_key);
        reg_ident *n = new_ident(&nk, cstr_of(d->name), cstr_of(d->org), cstr_of(d->contact), cstr_of(d->checked_by));
        if (!n) return PROV_ENOMEM;
        memcpy(n->registrar, d->registrar, 32);
        n->index = index, n->time = e->time;
        memcpy(n->rotated_from, e->key, 32);
        n->has_from = true;
        if (insert(s, n)) { ident_free(n); return PROV_ENOMEM; }
        d->status = REG_ROTATED;
        memcpy(d->rotated_to, e->new_key, 32);
        d->rotated_time = e->time;
        return 0;
    }
    case REG_REVOKE:
        if (!d) return PROV_EINVAL;
        d->status = REG_REVOKED;
        d->revoked_index = index, d->revoked_time = e->time, d->revoked_effective = e->effective;
        free(d->revoked_reason);
        d->revoked_reason = dupstr(e->reason);
        return 0;
    case REG_FLAG: {
        if (!d) return PROV_EINVAL;
        reg_flag *nf = realloc(d->flags, (d->nflags + 1) * sizeof *nf);
        if (!nf) return PROV_ENOMEM;
        d->flags = nf;
        reg_flag *f = &nf[d->nflags++];
        memset(f, 0, sizeof *f);
        f->index = index, f->time = e->time;
        memcpy(f->flagger, e->flagger, 32);
        memcpy(f->media, e->media, 32);
        memcpy(f->manifest, e->manifest, 32);
        f->has_manifest = e->has_manifest;
        f->reason = dupstr(e->reason);
        return 0;
    }
    }
    return PROV_EINVAL;
}

size_t reg_state_search(const reg_state *s, const char *q, const reg_ident **out, size_t max)
{
    size_t n = 0, ql = strlen(q);
    bool hex = ql >= 4 && ql <= 16;
    for (size_t i = 0; i < ql && hex; i++) hex = isxdigit((unsigned char)q[i]) != 0;
    for (size_t i = 0; i < s->nall && n < max; i++) {
        const reg_ident *d = s->all[i];
        bool hit = d->name && !strcasecmp(d->name, q);
        if (!hit && hex) {
            char id[17];
            reg_key_id(id, d->key);
            hit = !strncasecmp(id, q, ql);
        }
        if (hit) out[n++] = d;
    }
    return n;
}
