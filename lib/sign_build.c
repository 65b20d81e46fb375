/* sign_build.c - build a C2PA v2 manifest: actions, ingredient, the hard
 * binding, the claim and its signature, laid out as a JUMBF store. */
#include "bmff.h"
#include "cose.h"
#include "hash.h"
#include "sign.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define GENERATOR_NAME "prov"

void md_update(void *md, const uint8_t *p, size_t n) { EVP_DigestUpdate(md, p, n); }

static void uuid4(char out[37])
{
    uint8_t u[16];
    randombytes_buf(u, sizeof u);
    u[6] = (u[6] & 0x0f) | 0x40;
    u[8] = (u[8] & 0x3f) | 0x80;
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
             u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static void put_huri(pbuf *b, const char *url, const uint8_t hash[32], int with_alg)
{
    cbor_put_map(b, with_alg ? 3 : 2);
    cbor_put_text(b, "url");
    cbor_put_text(b, url);
    cbor_put_text(b, "hash");
    cbor_put_bytes(b, hash, 32);
    if (with_alg) {
        cbor_put_text(b, "alg");
        cbor_put_text(b, "sha256");
    }
}

static void put_generator(pbuf *b, const sctx *s)
{
    const prov_sign_opts *o = s->o;
    const char *name = o->generator && *o->generator ? o->generator : s->def_gen_name;
    const char *ver = o->generator && *o->generator ? o->generator_version
                      : s->def_gen_name                  ? s->def_gen_version
                                                         : PROV_VERSION_STRING;
    cbor_put_map(b, ver ? 2 : 1);
    cbor_put_text(b, "name");
    cbor_put_text(b, name ? name : GENERATOR_NAME);
    if (ver) {
        cbor_put_text(b, "version");
        cbor_put_text(b, ver);
    }
}

/* An action from the definition; a c2pa.created one gets the source type
 * when it has none (claim v2 requires it). */
static void put_def_action(pbuf *b, const sctx *s, const json_node *a)
{
    int created = json_is_str(json_get(a, "action"), "c2pa.created");
    int add_dst = created && !json_get(a, "digitalSourceType");
    cbor_put_map(b, a->len + (size_t)add_dst);
    for (const json_node *c = a->child; c; c = c->next) {
        cbor_put_textn(b, c->key, c->key_len);
        def_json_to_cbor(b, c);
    }
    if (add_dst) {
        cbor_put_text(b, "digitalSourceType");
        cbor_put_text(b, s->o->source_type && *s->o->source_type ? s->o->source_type : PROV_SOURCE_DIGITAL_CAPTURE);
    }
}

/* One assertion superbox holding body in a content box: CBOR, or JSON
 * (schema.org and other JSON-LD from a manifest definition). */
static void put_box(pbuf *b, const char *label, const pbuf *body, int json)
{
    size_t s = jumbf_open_super(b, json ? C2PA_JSON : C2PA_CBOR, label);
    size_t c = jumbf_open(b, json ? BOX_JSON : BOX_CBOR);
    pbuf_put(b, body->p, body->len);
    jumbf_close(b, c);
    jumbf_close(b, s);
}

static void put_assertion(pbuf *b, const char *label, const pbuf *cbor) { put_box(b, label, cbor, 0); }

/* An embedded-file assertion: the JPEG bytes with their media type. */
static void put_thumbnail(pbuf *b, const char *label, const pbuf *jpeg)
{
    size_t sb = jumbf_open(b, BOX_JUMB);
    jumbf_desc(b, JUMBF_UUID_EMBEDDED_FILE, label);
    size_t d = jumbf_open(b, BOX_BFDB);
    pbuf_putc(b, 0x00); /* toggles: media type only */
    pbuf_put(b, "image/jpeg", 11);
    jumbf_close(b, d);
    d = jumbf_open(b, BOX_BIDB);
    pbuf_put(b, jpeg->p, jpeg->len);
    jumbf_close(b, d);
    jumbf_close(b, sb);
}

/* The parent's validation results as its reader saw them, each status
 * with the URL of what it is about when known (the parent's signature for
 * signature and credential codes), so that later readers report only what
 * changed since (C2PA 2.x 15.11: deltas). */
static void put_codes(pbuf *b, const prov_report *r, int kind, const char *active)
{
    size_t n = 0;
    for (size_t i = 0; i < r->ncodes; i++) n += r->codes[i].kind == kind;
    if (n > 4096) n = 4096; /* bounded: a hostile parent's report */
    cbor_put_array(b, n);
    size_t k = 0;
    for (size_t i = 0; i < r->ncodes && k < n; i++) {
        const rcode *c = &r->codes[i];
        if (c->kind != kind) continue;
        k++;
        const char *m = c->manifest[0] ? c->manifest : active;
        int sig = !strncmp(c->code, "signingCredential.", 18) || !strncmp(c->code, "claimSignature.", 15) ||
                  !strncmp(c->code, "timeStamp.", 10);
        cbor_put_map(b, sig && m ? 2 : 1);
        cbor_put_text(b, "code");
        cbor_put_text(b, c->code);
        if (sig && m) {
            char url[512];
            snprintf(url, sizeof url, "self#jumbf=/c2pa/%s/c2pa.signature", m);
            cbor_put_text(b, "url");
            cbor_put_text(b, url);
        }
    }
}

/* Tests only (tests/unit/test_world.c): write the parent's ingredient as
 * C2PA 1.0-1.2 writers did, to check that verification accepts it. */
int prov_test_legacy_ingredient;

/* c2pa.ingredient.v3 of a file read as rep says: its title, format,
 * relationship, its active manifest (the last of st) and claim signature
 * when it has one, and its validation results. */
static int put_ingredient(pbuf *g, const char *title, const char *mime, const char *rel, const c2pa_store *st,
                          const prov_report *rep)
{
    const c2pa_manifest *pm = st->n ? &st->m[st->n - 1] : NULL;
    cbor_put_map(g, pm ? 6 : 4);
    cbor_put_text(g, "dc:title");
    cbor_put_text(g, title);
    cbor_put_text(g, "dc:format");
    cbor_put_text(g, mime);
    cbor_put_text(g, "relationship");
    cbor_put_text(g, rel);
    if (pm) {
        char url[512];
        uint8_t h[32];
        snprintf(url, sizeof url, "self#jumbf=/c2pa/%s", pm->label);
        jsuper_hash(&pm->sb, h);
        if (prov_test_legacy_ingredient) { /* a 1.x writer: c2pa_manifest hashed over the claim */
            sha256(pm->claim_bytes, pm->claim_len, h);
            cbor_put_text(g, "c2pa_manifest");
        } else {
            cbor_put_text(g, "activeManifest");
        }
        put_huri(g, url, h, 1);
        if (pm->sig_bytes) {
            snprintf(url, sizeof url, "self#jumbf=/c2pa/%s/c2pa.signature", pm->label);
            jsuper_hash(&pm->sig_sb, h);
        }
        cbor_put_text(g, "claimSignature");
        put_huri(g, url, h, 1);
    }
    cbor_put_text(g, "validationResults");
    cbor_put_map(g, 1);
    cbor_put_text(g, "activeManifest");
    cbor_put_map(g, 3);
    cbor_put_text(g, "success");
    put_codes(g, rep, PROV_CODE_SUCCESS, pm ? pm->label : NULL);
    cbor_put_text(g, "informational");
    put_codes(g, rep, PROV_CODE_INFO, pm ? pm->label : NULL);
    cbor_put_text(g, "failure");
    put_codes(g, rep, PROV_CODE_FAILURE, pm ? pm->label : NULL);
    return g->err;
}

/* The hashed URI of an assertion as it will be written. */
static int assertion_huri(pbuf *b, const char *label, const pbuf *body)
{
    uint8_t h[32];
    pbuf box;
    pbuf_init(&box);
    put_assertion(&box, label, body);
    if (box.err) {
        int e = box.err;
        pbuf_free(&box);
        return e;
    }
    sha256(box.p + 8, box.len - 8, h);
    pbuf_free(&box);
    char url[128];
    snprintf(url, sizeof url, "self#jumbf=c2pa.assertions/%s", label);
    put_huri(b, url, h, 0);
    return 0;
}

/* An action that names one ingredient assertion (c2pa.opened, c2pa.placed). */
static int put_ingredient_action(pbuf *b, sctx *s, const char *action, const char *label, const pbuf *body)
{
    cbor_put_map(b, 3);
    cbor_put_text(b, "action");
    cbor_put_text(b, action);
    cbor_put_text(b, "softwareAgent");
    put_generator(b, s);
    cbor_put_text(b, "parameters");
    cbor_put_map(b, 1);
    cbor_put_text(b, "ingredients");
    cbor_put_array(b, 1);
    return assertion_huri(b, label, body);
}

/* c2pa.ingredient.v3 for the parent, and c2pa.actions.v2. */
int build_fixed(sctx *s)
{
    const prov_sign_opts *o = s->o;
    int rc = def_load(s);
    if (rc) return rc;
    /* a c2pa.created of the definition takes the place of prov's own */
    const json_node *def_created = NULL;
    size_t ndef = s->ndef_actions;
    for (size_t i = 0; i < s->ndef_actions; i++)
        if (json_is_str(json_get(s->def_actions[i], "action"), "c2pa.created")) {
            if (s->has_parent || def_created)
                return prov_seterr(s->ctx, PROV_EINVAL, "manifest definition: %s",
                                   s->has_parent ? "c2pa.created on a file that has a parent (it was opened)"
                                                 : "two c2pa.created actions");
            def_created = s->def_actions[i];
            ndef--;
        }
    const char *action = o->action && *o->action ? o->action : (s->has_parent ? "c2pa.edited" : "c2pa.created");
    pbuf *b = &s->actions;
    if (s->has_parent) {
        int rc2 = put_ingredient(&s->ingredient, o->parent_title && *o->parent_title ? o->parent_title : "parent",
                                 s->parent.mime, "parentOf", &s->pstore, s->preport);
        if (rc2) return rc2;
    }
    for (size_t i = 0; i < s->ncomp; i++) {
        comp_ing *c = &s->comp[i];
        const char *t = o->ingredients[i].title;
        size_t k = i + (size_t)s->has_parent;
        if (k) snprintf(c->label, sizeof c->label, "c2pa.ingredient.v3__%zu", k);
        else snprintf(c->label, sizeof c->label, "c2pa.ingredient.v3");
        int rc2 = put_ingredient(&c->ing, t && *t ? t : "ingredient", c->a.mime, "componentOf", &c->st, c->rep);
        if (rc2) return rc2;
    }
    size_t nplaced = 0;
    for (size_t i = 0; i < s->nmeta; i++) { /* numbered after the files */
        size_t k = i + s->ncomp + (size_t)s->has_parent;
        if (k) snprintf(s->meta[i].label, sizeof s->meta[i].label, "c2pa.ingredient.v3__%zu", k);
        else snprintf(s->meta[i].label, sizeof s->meta[i].label, "c2pa.ingredient.v3");
        nplaced += (size_t)s->meta[i].placed;
    }
    int opened = s->has_parent;
    int extra = strcmp(action, opened ? "c2pa.opened" : "c2pa.created") != 0;
    cbor_put_map(b, 1);
    cbor_put_text(b, "actions");
    cbor_put_array(b, 1 + extra + ndef + s->ncomp + nplaced);
    if (opened) {
        if ((rc = put_ingredient_action(b, s, "c2pa.opened", "c2pa.ingredient.v3", &s->ingredient))) return rc;
    } else if (def_created) {
        put_def_action(b, s, def_created);
    } else {
        cbor_put_map(b, 3);
        cbor_put_text(b, "action");
        cbor_put_text(b, "c2pa.created");
        cbor_put_text(b, "softwareAgent");
        put_generator(b, s);
        cbor_put_text(b, "digitalSourceType");
        cbor_put_text(b, o->source_type && *o->source_type ? o->source_type : PROV_SOURCE_DIGITAL_CAPTURE);
    }
    if (extra) {
        cbor_put_map(b, 2);
        cbor_put_text(b, "action");
        cbor_put_text(b, action);
        cbor_put_text(b, "softwareAgent");
        put_generator(b, s);
    }
    for (size_t i = 0; i < s->ncomp; i++) /* after the creation: each ingredient placed */
        if ((rc = put_ingredient_action(b, s, "c2pa.placed", s->comp[i].label, &s->comp[i].ing))) return rc;
    for (size_t i = 0; i < s->nmeta; i++) /* inputTo: an input, not a placed part */
        if (s->meta[i].placed && (rc = put_ingredient_action(b, s, "c2pa.placed", s->meta[i].label, &s->meta[i].ing)))
            return rc;
    for (size_t i = 0; i < s->ndef_actions; i++)
        if (s->def_actions[i] != def_created) put_def_action(b, s, s->def_actions[i]);
    return b->err;
}

static void sign_error(prov_ctx *ctx, int rc)
{
    if (rc == PROV_ECERT)
        prov_seterr(ctx, rc, "the signature does not verify with the chain's first certificate: the chain is for "
                             "another key (or the signer answered wrongly)");
    else
        prov_seterr(ctx, rc, "signing failed: %s", prov_strerror(rc));
}

/* Is the manifest labelled label already in the store: the parent's, or
 * an ingredient's before ingredient c? */
static int manifest_written(const sctx *s, size_t c, const char *label)
{
    for (size_t i = 0; i < s->pstore.n; i++)
        if (!strcmp(s->pstore.m[i].label, label)) return 1;
    for (size_t k = 0; k < c; k++)
        for (size_t i = 0; i < s->comp[k].st.n; i++)
            if (!strcmp(s->comp[k].st.m[i].label, label)) return 1;
    return 0;
}

/* A manifest carried over from another store.  A box whose length field
 * is 0 ran to the end of its old store; here others follow it, so its
 * length is written out. */
static void put_manifest_box(pbuf *out, const jbox *box)
{
    if (box->len >= 8 && box->len <= 0xFFFFFFFFu && rd32(box->p) == 0) {
        pbuf_be32(out, (uint32_t)box->len);
        pbuf_put(out, box->p + 4, box->len - 4);
    } else {
        pbuf_put(out, box->p, box->len);
    }
}

int build_store(sctx *s, const uint8_t hash[32], uint64_t start, uint64_t len, int sign, pbuf *out)
{
    pbuf hd, claim, asrt, sig;
    pbuf_init(&hd);
    pbuf_init(&claim);
    pbuf_init(&asrt);
    pbuf_init(&sig);
    int rc = 0;

    const char *hard_label = "c2pa.hash.data";
    if (s->format == FMT_BMFF) {
        /* c2pa.hash.bmff.v3, flat: the three exclusions every reader expects */
        hard_label = "c2pa.hash.bmff.v3";
        cbor_put_map(&hd, 4);
        cbor_put_text(&hd, "exclusions");
        cbor_put_array(&hd, 3);
        cbor_put_map(&hd, 2);
        cbor_put_text(&hd, "xpath");
        cbor_put_text(&hd, "/uuid");
        cbor_put_text(&hd, "data");
        cbor_put_array(&hd, 1);
        cbor_put_map(&hd, 2);
        cbor_put_text(&hd, "offset");
        cbor_put_uint(&hd, 8);
        cbor_put_text(&hd, "value");
        cbor_put_bytes(&hd, BMFF_C2PA_UUID, 16);
        cbor_put_map(&hd, 1);
        cbor_put_text(&hd, "xpath");
        cbor_put_text(&hd, "/ftyp");
        cbor_put_map(&hd, 1);
        cbor_put_text(&hd, "xpath");
        cbor_put_text(&hd, "/mfra");
        cbor_put_text(&hd, "alg");
        cbor_put_text(&hd, "sha256");
        if (s->nleaves) {
            /* an init segment: its own hash and the fragments' leaves, no
             * flat hash (each fragment is checked on its own) */
            cbor_put_text(&hd, "merkle");
            cbor_put_array(&hd, 1);
            cbor_put_map(&hd, 6);
            cbor_put_text(&hd, "uniqueId");
            cbor_put_uint(&hd, 1);
            cbor_put_text(&hd, "localId");
            cbor_put_uint(&hd, 1);
            cbor_put_text(&hd, "count");
            cbor_put_uint(&hd, s->nleaves);
            cbor_put_text(&hd, "alg");
            cbor_put_text(&hd, "sha256");
            cbor_put_text(&hd, "initHash");
            cbor_put_bytes(&hd, hash, 32);
            cbor_put_text(&hd, "hashes");
            cbor_put_array(&hd, s->nleaves);
            for (size_t i = 0; i < s->nleaves; i++) cbor_put_bytes(&hd, s->leaves[i], 32);
        } else {
            cbor_put_text(&hd, "hash");
            cbor_put_bytes(&hd, hash, 32);
        }
        cbor_put_text(&hd, "name");
        cbor_put_text(&hd, "jumbf manifest");
    } else {
        /* c2pa.hash.data; a sidecar's binds the whole file: no exclusion */
        int whole = s->o->sidecar || s->o->remote_url; /* the store is outside the file */
        cbor_put_map(&hd, whole ? 4 : 5);
        if (!whole) {
            cbor_put_text(&hd, "exclusions");
            cbor_put_array(&hd, 1);
            cbor_put_map(&hd, 2);
            cbor_put_text(&hd, "start");
            cbor_put_uint(&hd, start);
            cbor_put_text(&hd, "length");
            cbor_put_uint(&hd, len);
        }
        cbor_put_text(&hd, "name");
        cbor_put_text(&hd, "jumbf manifest");
        cbor_put_text(&hd, "alg");
        cbor_put_text(&hd, "sha256");
        cbor_put_text(&hd, "hash");
        cbor_put_bytes(&hd, hash, 32);
        cbor_put_text(&hd, "pad"); /* c2pa-rs requires the field */
        cbor_put_bytes(&hd, "", 0);
    }

    /* assertion store, remembering each assertion's hash */
    pbuf reg;
    pbuf_init(&reg);
    if (s->o->registration_len) {
        /* prov.registration: the signer's registry entry with its proof */
        cbor_put_map(&reg, 1);
        cbor_put_text(&reg, "tlog_proof");
        cbor_put_textn(&reg, (const char *)s->o->registration, s->o->registration_len);
    }
    struct item { const char *label; const pbuf *cbor; int json; } list[6 + DEF_MAX_ASSERTIONS + SIGN_MAX_INGREDIENTS];
    size_t n = 0;
    if (reg.len) list[n++] = (struct item){"prov.registration", &reg, 0};
    if (s->thumb.len) list[n++] = (struct item){"c2pa.thumbnail.claim", &s->thumb, 0};
    if (s->soft.len) list[n++] = (struct item){"c2pa.soft-binding", &s->soft, 0};
    if (s->has_parent) list[n++] = (struct item){"c2pa.ingredient.v3", &s->ingredient, 0};
    for (size_t i = 0; i < s->ncomp; i++) list[n++] = (struct item){s->comp[i].label, &s->comp[i].ing, 0};
    for (size_t i = 0; i < s->nmeta; i++) list[n++] = (struct item){s->meta[i].label, &s->meta[i].ing, 0};
    list[n++] = (struct item){"c2pa.actions.v2", &s->actions, 0};
    for (size_t i = 0; i < s->nextra; i++) list[n++] = (struct item){s->extra[i].label, &s->extra[i].body, s->extra[i].json};
    list[n++] = (struct item){hard_label, &hd, 0};
    uint8_t ah[6 + DEF_MAX_ASSERTIONS + SIGN_MAX_INGREDIENTS][32];
    size_t as = jumbf_open_super(&asrt, C2PA_ASSERTIONS, "c2pa.assertions");
    for (size_t i = 0; i < n; i++) {
        size_t at = asrt.len;
        if (list[i].cbor == &s->thumb) put_thumbnail(&asrt, list[i].label, &s->thumb);
        else put_box(&asrt, list[i].label, list[i].cbor, list[i].json);
        if (!asrt.err) sha256(asrt.p + at + 8, asrt.len - at - 8, ah[i]);
    }
    jumbf_close(&asrt, as);

    /* claim v2 */
    const char *title = s->o->title && *s->o->title ? s->o->title : s->def_title;
    char url[256];
    cbor_put_map(&claim, title && *title ? 6 : 5);
    cbor_put_text(&claim, "instanceID");
    cbor_put_text(&claim, s->instance);
    cbor_put_text(&claim, "claim_generator_info");
    put_generator(&claim, s);
    cbor_put_text(&claim, "signature");
    snprintf(url, sizeof url, "self#jumbf=/c2pa/%s/c2pa.signature", s->label);
    cbor_put_text(&claim, url);
    cbor_put_text(&claim, "created_assertions");
    cbor_put_array(&claim, n);
    for (size_t i = 0; i < n; i++) {
        snprintf(url, sizeof url, "self#jumbf=c2pa.assertions/%s", list[i].label);
        put_huri(&claim, url, ah[i], 0);
    }
    if (title && *title) {
        cbor_put_text(&claim, "dc:title");
        cbor_put_text(&claim, title);
    }
    cbor_put_text(&claim, "alg");
    cbor_put_text(&claim, "sha256");
    if ((rc = hd.err ? hd.err : asrt.err ? asrt.err : claim.err)) goto out;

    /* signature */
    size_t reserve = s->o && s->o->timestamp ? (s->o->timestamp_reserve ? s->o->timestamp_reserve : 16384) : 0;
    if (sign && reserve) {
        size_t tl = 0;
        rc = cose_sign_ts(s->signer, s->chain, claim.p, claim.len, s->o->timestamp, s->o->timestamp_user, reserve,
                          &sig, &tl);
        if (rc == PROV_ELIMIT) {
            prov_seterr(s->ctx, rc, "time-stamp token of %zu bytes does not fit the %zu bytes reserved (timestamp_reserve)",
                        tl, reserve);
            goto out;
        }
        if (rc) { sign_error(s->ctx, rc); goto out; }
    } else if (sign) {
        rc = cose_sign(s->signer, s->chain, claim.p, claim.len, &sig);
        if (rc) { sign_error(s->ctx, rc); goto out; }
    } else {
        size_t k = reserve ? cose_sign_ts_len(s->signer, s->chain, reserve) : cose_sign_len(s->signer, s->chain);
        if (pbuf_reserve(&sig, k)) { rc = PROV_ENOMEM; goto out; }
        memset(sig.p, 0, k);
        sig.len = k;
    }

    size_t st = jumbf_open_super(out, C2PA_STORE, "c2pa");
    for (size_t i = 0; i < s->pstore.n; i++) put_manifest_box(out, &s->pstore.m[i].sb.box);
    for (size_t c = 0; c < s->ncomp; c++) /* the ingredients' manifests, each once */
        for (size_t i = 0; i < s->comp[c].st.n; i++)
            if (!manifest_written(s, c, s->comp[c].st.m[i].label)) put_manifest_box(out, &s->comp[c].st.m[i].sb.box);
    size_t ms = jumbf_open_super(out, C2PA_MANIFEST, s->label);
    pbuf_put(out, asrt.p, asrt.len);
    size_t cs = jumbf_open_super(out, C2PA_CLAIM, "c2pa.claim.v2");
    size_t cb = jumbf_open(out, BOX_CBOR);
    pbuf_put(out, claim.p, claim.len);
    jumbf_close(out, cb);
    jumbf_close(out, cs);
    size_t ss = jumbf_open_super(out, C2PA_SIGNATURE, "c2pa.signature");
    cb = jumbf_open(out, BOX_CBOR);
    pbuf_put(out, sig.p, sig.len);
    jumbf_close(out, cb);
    jumbf_close(out, ss);
    jumbf_close(out, ms);
    jumbf_close(out, st);
    rc = out->err;
    if (!rc && sign && s->o->publish) { /* kept for the repository */
        s->final.len = 0;
        pbuf_put(&s->final, out->p, out->len);
        rc = s->final.err ? PROV_ENOMEM : 0;
    }
out:
    pbuf_free(&reg);
    pbuf_free(&hd);
    pbuf_free(&claim);
    pbuf_free(&asrt);
    pbuf_free(&sig);
    return rc;
}

int load_parent(sctx *s, prov_stream *ps)
{
    s->preport = report_new();
    if (!s->preport) return PROV_ENOMEM;
    int rc = verify_stream(s->ctx, NULL, ps, s->preport, &s->parent, NULL);
    if (rc) return prov_seterr(s->ctx, rc, "parent: %s", s->ctx ? s->ctx->msg : prov_strerror(rc));
    s->has_parent = 1;
    if (s->parent.has_store) {
        rc = store_parse(s->ctx, s->parent.store.p, s->parent.store.len, &s->pstore);
        if (rc) return prov_seterr(s->ctx, rc, "parent's manifest store is malformed");
    }
    return 0;
}


int load_components(sctx *s)
{
    const prov_sign_opts *o = s->o;
    if (!o->ningredients) return 0;
    if (!o->ingredients || o->ningredients > SIGN_MAX_INGREDIENTS)
        return prov_seterr(s->ctx, o->ingredients ? PROV_ELIMIT : PROV_EINVAL, "ingredients: %s",
                           o->ingredients ? "at most 16" : "NULL list");
    uint64_t total = s->has_parent ? s->parent.store.len : 0;
    for (size_t i = 0; i < o->ningredients; i++) {
        comp_ing *c = &s->comp[i];
        const char *t = o->ingredients[i].title ? o->ingredients[i].title : "ingredient";
        pbuf_init(&c->ing);
        c->loaded = 1;
        s->ncomp = i + 1;
        if (!o->ingredients[i].stream) return prov_seterr(s->ctx, PROV_EINVAL, "ingredient %zu: no stream", i + 1);
        if (!(c->rep = report_new())) return PROV_ENOMEM;
        int rc = verify_stream(s->ctx, NULL, o->ingredients[i].stream, c->rep, &c->a, NULL);
        if (rc) return prov_seterr(s->ctx, rc, "ingredient %s: %s", t, s->ctx ? s->ctx->msg : prov_strerror(rc));
        if (c->a.has_store && (rc = store_parse(s->ctx, c->a.store.p, c->a.store.len, &c->st)))
            return prov_seterr(s->ctx, rc, "ingredient %s: its manifest store is malformed", t);
        total += c->a.store.len;
        if (total > PROV_MAX_STORE) /* the store carries them all: readers must still take it */
            return prov_seterr(s->ctx, PROV_ELIMIT, "ingredients: their manifests together exceed %u MiB",
                               PROV_MAX_STORE >> 20);
    }
    return 0;
}

void sctx_init(sctx *s, prov_ctx *ctx, const prov_sign_opts *o, const prov_signer *signer, const prov_chain *chain)
{
    memset(s, 0, sizeof *s);
    s->ctx = ctx;
    s->o = o;
    s->signer = signer;
    s->chain = chain;
    pbuf_init(&s->actions);
    pbuf_init(&s->ingredient);
    pbuf_init(&s->thumb);
    pbuf_init(&s->soft);
    pbuf_init(&s->final);
    char u[37];
    uuid4(u);
    snprintf(s->label, sizeof s->label, "urn:c2pa:%s", u);
    uuid4(u);
    snprintf(s->instance, sizeof s->instance, "xmp:iid:%s", u);
}

void sctx_free(sctx *s)
{
    pbuf_free(&s->actions);
    pbuf_free(&s->ingredient);
    pbuf_free(&s->thumb);
    pbuf_free(&s->soft);
    pbuf_free(&s->final);
    for (size_t i = 0; i < s->nextra; i++) pbuf_free(&s->extra[i].body);
    for (size_t i = 0; i < s->nmeta; i++) pbuf_free(&s->meta[i].ing);
    s->nmeta = 0;
    if (s->has_def) json_free(&s->def);
    store_free(&s->pstore);
    if (s->has_parent || s->parent.head.p || s->parent.store.p) asset_free(&s->parent);
    prov_report_free(s->preport);
    s->preport = NULL;
    for (size_t i = 0; i < s->ncomp; i++) {
        comp_ing *c = &s->comp[i];
        pbuf_free(&c->ing);
        store_free(&c->st);
        asset_free(&c->a);
        prov_report_free(c->rep);
    }
    s->ncomp = 0;
}
