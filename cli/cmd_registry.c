/* cmd_registry.c - prov registry init|revoke|flag|rotate|lookup|verify and
 * prov register: the identity registry in a local folder (lib/registry.h,
 * docs/registry.md). */
#include "cli.h"
#include "mirror_cli.h"
#include "registry.h"
#include "registry_cli.h"

#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char REGISTRY_USAGE[] =
    "usage: prov registry COMMAND DIR [options]\n"
    "\n"
    "The identity registry: a transparency log (C2SP tlog-tiles) in folder DIR.\n"
    "  init DIR --origin NAME [--subject CA] [--days N] [--no-encrypt]\n"
    "        make a registry: log key, CA root DIR/root.pem, the operator's\n"
    "        registrar key, policy, empty log\n"
    "  revoke DIR (--key KEY.pub|KEY | --key-id ID) --reason R [--effective T]\n"
    "        revoke a key (signed by the registrar; by the key itself when KEY\n"
    "        is a private key file).  A penalty: --reason \"penalty: ...\"\n"
    "  flag DIR (--key KEY.pub | --key-id ID) --media FILE --reason R\n"
    "        record that the key signed FILE (fake media), as flagger\n"
    "  rotate DIR --key OLDKEY --new-key NEWKEY [--days N] [--out PREFIX]\n"
    "        move an identity to a new key (both sign); NEWKEY.chain.pem/.proof\n"
    "        (a key is a file, Ed25519, ES256 or ES384, or a pkcs11: URI; a\n"
    "        token's new key needs --out PREFIX)\n"
    "  lookup [DIR] KEY|ID|NAME [--registry DIR] [--json]\n"
    "        identity, status and flags of a key (.pub file, ed25519:<b64>,\n"
    "        ecdsa:<b64>, key ID prefix, or name); exit 1 when not found\n"
    "  verify DIR      check the whole log: checkpoint, tiles, entries\n"
    "  serve DIR --listen 127.0.0.1:PORT [--batch-ms N] [--threads N]\n"
    "        the write server (HTTP) for registrations and submissions\n"
    "  pending URL     registration requests waiting for a registrar\n"
    "  approve URL (REQUEST-ID... | --all) --registrar-key KEY\n"
    "        approve requests as a registrar\n"
    "revoke and flag also take a registry URL instead of DIR; then the entry\n"
    "is signed with --registrar-key KEY (or, revoking, by the key itself).\n"
    "  lookup KEY|ID|NAME (--registry URL|DIR | --mirror FILE) [--json]\n"
    "        the same from a SQLite mirror (a URL or --registry is synced first)\n"
    "  sync URL|DIR [--mirror FILE] [--log-key LOG.pub] [--witness K --quorum N]\n"
    "        mirror a registry into SQLite, verified (prov registry sync --help)\n"
    "  witness --listen ADDR:PORT --state DIR --key KEY --log ORIGIN=LOG.pub ...\n"
    "        run a tlog-witness that cosigns consistent checkpoints\n"
    "  witness-request DIR --witness URL --witness-key KEY [...]\n"
    "        gather witness cosignatures and publish DIR/checkpoint with them\n"
    "\n"
    "Operator keys (DIR/log.key, root.key, registrar.key) take their passphrase\n"
    "from PROV_REGISTRY_PASSPHRASE, else PROV_PASSPHRASE, else a prompt.\n"
    "Exit: 0 ok, 1 verification failed or not found, 2 usage or I/O error.\n";

static const char REGISTER_USAGE[] =
    "usage: prov register --registry DIR|URL --key KEY --name NAME [--org ORG]\n"
    "                     [--contact C] [--checked-by HOW] [--days N] [--out PREFIX]\n"
    "                     [--registrar ID] [--wait SECONDS | --no-wait] [--again]\n"
    "\n"
    "File a registration of KEY's public key with the registry in DIR.  KEY is\n"
    "a key file (Ed25519, ES256 or ES384: prov keygen --alg) or a token's key\n"
    "(pkcs11:token=...;object=..., RFC 7512; then --out PREFIX names where\n"
    "PREFIX.chain.pem and PREFIX.proof go).  On a\n"
    "local folder the operator's registrar accepts it at once (registering\n"
    "someone in person, --checked-by \"in-person\" by default).  Once accepted,\n"
    "KEY.chain.pem (the leaf certificate from the registry's CA, then its root)\n"
    "and KEY.proof (a c2sp.org/tlog-proof of the entry) sit beside the key;\n"
    "`prov sign --key KEY` uses the chain.\n"
    "On a URL (http://..., a registry behind `prov registry serve`) the\n"
    "request, signed by KEY, waits for a registrar (the policy's first, or\n"
    "--registrar KEY-ID): the command polls up to --wait seconds (default\n"
    "600); --no-wait files it and exits.  Running it again resumes; after a\n"
    "registrar's refusal (exit 1, with the reason) --again files a new request.\n"
    "Passphrases: PROV_PASSPHRASE for KEY; PROV_REGISTRY_PASSPHRASE (else\n"
    "PROV_PASSPHRASE) for the registry's keys.\n";

/* ---- helpers ------------------------------------------------------------ */


static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

prov_key *op_key(opkeys *o, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", o->dir, name);
    int enc = prov_key_file_encrypted(path);
    if (enc < 0) {
        err("%s: cannot read the key (is %s a registry?)", path, o->dir);
        return NULL;
    }
    if (enc && !o->asked) {
        o->asked = 1;
        o->pass = get_passphrase("Passphrase of the registry keys: ", 0, "PROV_REGISTRY_PASSPHRASE");
    }
    if (enc && !o->pass) return NULL;
    prov_key *k = NULL;
    if (prov_key_load(o->ctx, path, enc ? o->pass : NULL, &k)) {
        err("%s", prov_errmsg(o->ctx));
        return NULL;
    }
    if (prov_key_alg(k) != PROV_ALG_ED25519) {
        err("%s: the registry's keys are Ed25519 keys", path);
        prov_key_free(k);
        return NULL;
    }
    return k;
}

prov_key *user_key(prov_ctx *ctx, const char *path)
{
    int enc = prov_key_file_encrypted(path);
    if (enc < 0) {
        err("%s: not a key file", path);
        return NULL;
    }
    char *pass = NULL;
    if (enc) {
        char prompt[4200];
        snprintf(prompt, sizeof prompt, "Passphrase of %s: ", path);
        if (!(pass = get_passphrase(prompt, 0, NULL))) return NULL;
    }
    prov_key *k = NULL;
    if (prov_key_load(ctx, path, pass, &k)) err("%s", prov_errmsg(ctx));
    free_passphrase(pass);
    return k;
}

prov_key *registrar_key(prov_ctx *ctx, const char *path)
{
    prov_key *k = user_key(ctx, path);
    if (k && prov_key_alg(k) != PROV_ALG_ED25519) { /* policies and entries name registrars by Ed25519 keys */
        err("%s: an ECDSA key; a registrar's or flagger's key is an Ed25519 key (prov keygen)", path);
        prov_key_free(k);
        k = NULL;
    }
    return k;
}

int ukey_open(prov_ctx *ctx, const char *arg, ukey *k)
{
    memset(k, 0, sizeof *k);
    int rc;
    if (is_token_uri(arg)) {
        uint8_t *der = NULL;
        size_t n;
        if (token_open(ctx, arg, &k->tok)) return EXIT_ERROR;
        rc = prov_pkcs11_public_der(k->tok, &der, &n);
        if (!rc) rc = reg_pub_from_spki(&k->pub, der, n);
        prov_free(der);
        prov_signer_from_pkcs11(&k->ps, k->tok);
    } else {
        if (!(k->key = user_key(ctx, arg))) return EXIT_ERROR;
        rc = reg_pub_from_key(&k->pub, k->key);
        prov_signer_from_key(&k->ps, k->key);
    }
    if (rc) {
        ukey_close(k);
        return err("%s: not a key the registry takes (Ed25519, ECDSA P-256 or P-384)", arg);
    }
    return 0;
}

void ukey_close(ukey *k)
{
    prov_key_free(k->key);
    prov_pkcs11_close(k->tok);
    memset(k, 0, sizeof *k);
}

int ukey_signer(ukey *k, tlog_signer *s)
{
    if (reg_signer(s, &k->ps, &k->pub)) return err("cannot make a signer of the key");
    return 0;
}

int log_signer(oplog *L, opkeys *o)
{
    memset(L, 0, sizeof *L);
    tlog_verifier v;
    if (reg_log_verifier(o->dir, &v, o->ctx)) return err("%s", prov_errmsg(o->ctx));
    if (!(L->key = op_key(o, "log.key"))) return EXIT_ERROR;
    uint8_t pk[32];
    prov_key_public(L->key, pk);
    prov_signer_from_key(&L->ps, L->key);
    if (tlog_signer_external(&L->signer, v.name, TLOG_ALG_ED25519, pk, &L->ps))
        return err("%s/log.key: cannot make the log's signer", o->dir);
    return 0;
}

/* The origin of the log in DIR (its log.pub): every entry names it. */
static int dir_origin(prov_ctx *ctx, const char *dir, char out[TLOG_NAME_MAX + 1])
{
    tlog_verifier v;
    if (reg_log_verifier(dir, &v, ctx)) return err("%s: %s", dir, prov_errmsg(ctx));
    memcpy(out, v.name, sizeof v.name);
    return 0;
}

static int open_log(oplog *L, opkeys *o)
{
    int rc = log_signer(L, o);
    if (rc) return rc;
    if (reg_log_open(&L->log, o->dir, &L->signer, o->ctx)) return err("%s", prov_errmsg(o->ctx));
    return 0;
}

void close_log(oplog *L)
{
    reg_log_close(L->log);
    tlog_signer_wipe(&L->signer);
    prov_key_free(L->key);
}

static int append_one(oplog *L, const pbuf *entry, uint64_t *index, prov_ctx *ctx)
{
    const uint8_t *p = entry->p;
    size_t len = entry->len;
    if (reg_log_append(L->log, &p, &len, 1, index, NULL, ctx)) return err("not accepted: %s", prov_errmsg(ctx));
    return 0;
}

int write_pub(const char *keypath, const reg_pub *k)
{
    char pubp[4200], line[REG_KEYTEXT_MAX + 80];
    snprintf(pubp, sizeof pubp, "%s.pub", keypath);
    if (exists(pubp)) return 0;
    if (!reg_pub_is_ecdsa(k)) {
        sodium_bin2base64(line + 8, 45, k->id, 32, sodium_base64_VARIANT_ORIGINAL);
        memcpy(line, "ed25519 ", 8);
        strcat(line, "\n");
        return write_text(pubp, line, strlen(line), 0644);
    }
    /* an ECDSA key's .pub is PEM, as prov keygen writes it */
    char b64[REG_KEYTEXT_MAX];
    sodium_bin2base64(b64, sizeof b64, k->spki, k->spki_len, sodium_base64_VARIANT_ORIGINAL);
    pbuf t;
    pbuf_init(&t);
    pbuf_puts(&t, "-----BEGIN PUBLIC KEY-----\n");
    for (size_t i = 0, n = strlen(b64); i < n; i += 64) pbuf_printf(&t, "%.64s\n", b64 + i);
    pbuf_puts(&t, "-----END PUBLIC KEY-----\n");
    int rc = t.err ? err("out of memory") : write_text(pubp, (char *)t.p, t.len, 0644);
    pbuf_free(&t);
    return rc;
}

/* Proof and chain beside the key. */
static int write_proof_chain(oplog *L, const char *keypath, uint64_t index, const char *pem, prov_ctx *ctx)
{
    char path[4200];
    pbuf proof;
    pbuf_init(&proof);
    if (reg_log_proof(L->log, index, &proof, ctx)) {
        pbuf_free(&proof);
        return err("proof: %s", prov_errmsg(ctx));
    }
    snprintf(path, sizeof path, "%s.proof", keypath);
    int rc = write_text(path, (char *)proof.p, proof.len, 0644);
    pbuf_free(&proof);
    if (!rc && pem) {
        snprintf(path, sizeof path, "%s.chain.pem", keypath);
        rc = write_text(path, pem, strlen(pem), 0644);
    }
    return rc;
}

static uint64_t now_s(void) { return (uint64_t)time(NULL); }

/* ---- init --------------------------------------------------------------- */

static int save_key(prov_ctx *ctx, const char *dir, const char *name, const prov_key *k, const char *pass)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (prov_key_save(ctx, k, path, pass)) return err("%s", prov_errmsg(ctx));
    return 0;
}

static int reg_init(int argc, char **argv)
{
    static const struct option opts[] = {{"origin", required_argument, 0, 'o'},
                                          {"subject", required_argument, 0, 's'},
                                          {"days", required_argument, 0, 'd'},
                                          {"no-encrypt", no_argument, 0, 'n'},
                                          {0, 0, 0, 0}};
    const char *origin = NULL, *subject = NULL;
    int days = 3650, plain = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:s:d:n", opts, NULL)) != -1) {
        if (c == 'o') origin = optarg;
        else if (c == 's') subject = optarg;
        else if (c == 'd') days = atoi(optarg);
        else if (c == 'n') plain = 1;
        else die_usage(REGISTRY_USAGE);
    }
    if (argc - optind != 1 || !origin) die_usage(REGISTRY_USAGE);
    if (days <= 0) return err("--days must be positive");
    if (!tlog_name_valid(origin, strlen(origin)) || strlen(origin) > TLOG_NAME_MAX)
        return err("--origin: a log name like example.com/registry (no spaces, no '+')");
    const char *dir = argv[optind];
    char p[4096];
    if (mkdir(dir, 0755) && errno != EEXIST) return err("%s: cannot create: %s", dir, strerror(errno));
    const char *mine[] = {"log.pub", "log.key", "checkpoint", "journal", "root.key", "root.pem", "registrar.key", "policy"};
    for (size_t i = 0; i < sizeof mine / sizeof *mine; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, mine[i]);
        if (exists(p)) return err("%s: already holds a registry (%s)", dir, mine[i]);
    }
    char defsubj[300];
    if (!subject) {
        snprintf(defsubj, sizeof defsubj, "%.40s Root CA", origin);
        subject = defsubj;
    }
    prov_ctx *ctx;
    prov_key *lk = NULL, *ck = NULL, *rk = NULL;
    if (prov_ctx_new(&ctx)) return err("out of memory");
    int rc = EXIT_ERROR;
    char *pass = NULL, *pem = NULL;
    uint8_t *der = NULL;
    size_t der_len;
    prov_signer ps;
    tlog_signer ls;
    memset(&ls, 0, sizeof ls);
    pbuf pol;
    pbuf_init(&pol);
    if (prov_key_generate(&lk) || prov_key_generate(&ck) || prov_key_generate(&rk)) { err("out of memory"); goto out; }
    if (!plain && !(pass = get_passphrase("New passphrase for the registry keys: ", 1, "PROV_REGISTRY_PASSPHRASE")))
        goto out;
    if (prov_cert_make_root(ctx, ck, subject, days, &der, &der_len) || prov_cert_to_pem(der, der_len, &pem)) {
        err("cannot make the root certificate: %s", prov_errmsg(ctx));
        goto out;
    }
    uint8_t lpk[32], rpk[32];
    prov_key_public(lk, lpk);
    prov_key_public(rk, rpk);
    prov_signer_from_key(&ps, lk);
    if (tlog_signer_external(&ls, origin, TLOG_ALG_ED25519, lpk, &ps)) { err("bad origin"); goto out; }
    if (save_key(ctx, dir, "log.key", lk, pass) || save_key(ctx, dir, "root.key", ck, pass) ||
        save_key(ctx, dir, "registrar.key", rk, pass))
        goto out;
    snprintf(p, sizeof p, "%s/root.pem", dir);
    if (write_text(p, pem, strlen(pem), 0644)) goto out;
    snprintf(p, sizeof p, "%s/registrar.key", dir);
    reg_pub rp;
    reg_pub_ed25519(&rp, rpk);
    if (write_pub(p, &rp)) goto out;
    char kt[53];
    reg_key_text(kt, rpk);
    pbuf_printf(&pol, REG_MAGIC " policy\n# who may register and flag; see docs/registry.md\norigin %s\n"
                      "registrar %s operator\nflagger %s operator\n", origin, kt, kt);
    snprintf(p, sizeof p, "%s/policy", dir);
    if (pol.err || write_text(p, (char *)pol.p, pol.len, 0644)) goto out;
    if (reg_log_create(dir, &ls, ctx)) { err("%s", prov_errmsg(ctx)); goto out; }
    char id[17];
    reg_key_id(id, rpk);
    printf("registry made in %s (origin %s)\n  log key:   %s/log.pub\n  CA root:   %s/root.pem (verifiers: --trust)\n"
           "  registrar: %s/registrar.key (key ID %s)%s\n",
           dir, origin, dir, dir, dir, id, plain ? " (keys unencrypted)" : "");
    rc = 0;
out:
    tlog_signer_wipe(&ls);
    free_passphrase(pass);
    prov_free(der), prov_free(pem);
    pbuf_free(&pol);
    prov_key_free(lk), prov_key_free(ck), prov_key_free(rk);
    prov_ctx_free(ctx);
    return rc;
}

/* ---- register ----------------------------------------------------------- */

int cmd_register(int argc, char **argv)
{
    static const struct option opts[] = {{"registry", required_argument, 0, 'r'},
                                          {"key", required_argument, 0, 'k'},
                                          {"name", required_argument, 0, 'N'},
                                          {"org", required_argument, 0, 'O'},
                                          {"contact", required_argument, 0, 'C'},
                                          {"checked-by", required_argument, 0, 'B'},
                                          {"days", required_argument, 0, 'd'},
                                          {"registrar", required_argument, 0, 'R'},
                                          {"wait", required_argument, 0, 'w'},
                                          {"no-wait", no_argument, 0, 'W'},
                                          {"again", no_argument, 0, 'A'},
                                          {"out", required_argument, 0, 'o'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    if (wants_help(argc, argv)) { fputs(REGISTER_USAGE, stdout); return 0; }
    const char *registrar = NULL;
    int wait_s = 600, no_wait = 0, again = 0;
    const char *dir = getenv("PROV_REGISTRY"), *keyp = NULL, *name = NULL, *org = NULL, *contact = NULL;
    const char *checked = NULL; /* local folder: in-person; over a URL the registrar says */
    int days = 730, c;
    optind = 1;
    const char *outp = NULL;
    while ((c = getopt_long(argc, argv, "r:k:N:O:C:B:d:R:w:WAo:h", opts, NULL)) != -1) {
        if (c == 'r') dir = optarg;
        else if (c == 'o') outp = optarg;
        else if (c == 'R') registrar = optarg;
        else if (c == 'w') wait_s = atoi(optarg);
        else if (c == 'W') no_wait = 1;
        else if (c == 'A') again = 1;
        else if (c == 'k') keyp = optarg;
        else if (c == 'N') name = optarg;
        else if (c == 'O') org = optarg;
        else if (c == 'C') contact = optarg;
        else if (c == 'B') checked = optarg;
        else if (c == 'd') days = atoi(optarg);
        else die_usage(REGISTER_USAGE);
    }
    if (optind != argc || !dir || !keyp || !name) die_usage(REGISTER_USAGE);
    if (days <= 0) return err("--days must be positive");
    if (!outp && is_token_uri(keyp)) return err("a token's key: give --out PREFIX for PREFIX.chain.pem and PREFIX.proof");
    if (!outp) outp = keyp;
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return err("out of memory");
    opkeys o = {.dir = dir, .ctx = ctx};
    oplog L;
    memset(&L, 0, sizeof L);
    prov_key *rk = NULL, *ck = NULL;
    ukey uk;
    memset(&uk, 0, sizeof uk);
    char *pem = NULL;
    pbuf ent;
    pbuf_init(&ent);
    int rc = EXIT_ERROR;
    prov_signer rps;
    tlog_signer sig[2];
    memset(sig, 0, sizeof sig);
    reg_entry e;
    memset(&e, 0, sizeof e);
    if (ukey_open(ctx, keyp, &uk)) goto out;
    e.kind = REG_REGISTER;
    e.key_pub = uk.pub;
    memcpy(e.key, uk.pub.id, 32);
    e.name = (reg_str){name, strlen(name)};
    if (org && *org) e.org = (reg_str){org, strlen(org)};
    if (contact && *contact) e.contact = (reg_str){contact, strlen(contact)};
    if (reg_is_url(dir) && checked) {
        err("--checked-by is for the registrar to set when approving (prov registry approve --checked-by)");
        goto out;
    }
    if (!reg_is_url(dir) && !checked) checked = "in-person";
    if (checked && *checked) e.checked_by = (reg_str){checked, strlen(checked)};
    e.time = now_s();
    char origin[TLOG_NAME_MAX + 1];
    if (!reg_is_url(dir)) {
        if (dir_origin(ctx, dir, origin)) goto out;
        e.log = (reg_str){origin, strlen(origin)};
    }
    if (reg_is_url(dir)) {
        /* a request signed by the key alone; a registrar approves it */
        rc = reg_remote_register(dir, outp, &uk, &e, registrar, wait_s < 0 ? 0 : wait_s, no_wait, again);
        goto out;
    }
    if (!(rk = op_key(&o, "registrar.key")) || !(ck = op_key(&o, "root.key"))) goto out;
    prov_key_public(rk, e.registrar);
    if (ukey_signer(&uk, &sig[0]) || reg_signer_from_key(&sig[1], &rps, rk)) goto out;
    if (reg_entry_build(&ent, &e, sig, memcmp(e.key, e.registrar, 32) ? 2 : 1, ctx)) {
        err("%s", prov_errmsg(ctx));
        goto out;
    }
    if (reg_ca_issue(ctx, dir, ck, &e.key_pub, name, org, days, &pem)) {
        err("cannot issue the certificate: %s", prov_errmsg(ctx));
        goto out;
    }
    if (open_log(&L, &o)) goto out;
    uint64_t index;
    if (append_one(&L, &ent, &index, ctx)) goto out;
    if (write_pub(outp, &e.key_pub) || write_proof_chain(&L, outp, index, pem, ctx)) goto out;
    char id[17];
    reg_key_id(id, e.key);
    printf("registered %s (key ID %s) as entry %llu of %s\n  certificate chain: %s.chain.pem\n  proof: %s.proof\n",
           name, id, (unsigned long long)index, dir, outp, outp);
    rc = 0;
out:
    close_log(&L);
    tlog_signer_wipe(&sig[0]), tlog_signer_wipe(&sig[1]);
    pbuf_free(&ent);
    prov_free(pem);
    ukey_close(&uk);
    prov_key_free(rk), prov_key_free(ck);
    free_passphrase(o.pass);
    prov_ctx_free(ctx);
    return rc;
}

/* ---- which key ---------------------------------------------------------- */

/* Resolve --key FILE (a .pub file or a key text; or a private key file,
 * loaded into *priv when priv is not NULL) or --key-id against the state. */
int key_arg(prov_ctx *ctx, const char *keyarg, reg_pub *pk, prov_key **priv)
{
    if (!reg_pub_parse(keyarg, strlen(keyarg), pk)) return 0;
    FILE *f = fopen(keyarg, "rb");
    if (!f) return err("%s: %s", keyarg, strerror(errno));
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    if (!reg_pub_parse(buf, n, pk)) return 0;
    if (priv && prov_key_file_encrypted(keyarg) >= 0) {
        if (!(*priv = user_key(ctx, keyarg))) return EXIT_ERROR;
        if (reg_pub_from_key(pk, *priv)) return err("%s: not a key the registry takes", keyarg);
        return 0;
    }
    return err("%s: neither a public key (.pub) nor a key file", keyarg);
}

void revoke_flag_entry(reg_entry *e, reg_kind kind, const char *reason, long long eff)
{
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->reason = (reg_str){reason, strlen(reason)};
    e->time = now_s();
    e->effective = eff >= 0 ? (uint64_t)eff : e->time;
}

static int resolve_key(prov_ctx *ctx, const char *keyarg, const char *keyid, const reg_state *st,
                       reg_pub *pk, prov_key **priv)
{
    if (keyarg) return key_arg(ctx, keyarg, pk, priv);
    const reg_ident *hits[2];
    size_t n = reg_state_search(st, keyid, hits, 2);
    if (n == 0) return err("no registered key has ID %s", keyid);
    if (n > 1) return err("key ID %s is ambiguous: give more digits", keyid);
    reg_ident_pub(hits[0], pk);
    return 0;
}

/* revoke and flag share their shape */
static int reg_revoke_flag(int argc, char **argv, reg_kind kind)
{
    static const struct option opts[] = {{"key", required_argument, 0, 'k'},
                                          {"key-id", required_argument, 0, 'i'},
                                          {"reason", required_argument, 0, 'R'},
                                          {"effective", required_argument, 0, 'e'},
                                          {"media", required_argument, 0, 'm'},
                                          {"registrar-key", required_argument, 0, 'g'},
                                          {0, 0, 0, 0}};
    const char *keyarg = NULL, *keyid = NULL, *reason = NULL, *media = NULL, *signer = NULL;
    long long eff = -1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:i:R:e:m:g:", opts, NULL)) != -1) {
        if (c == 'k') keyarg = optarg;
        else if (c == 'g') signer = optarg;
        else if (c == 'i') keyid = optarg;
        else if (c == 'R') reason = optarg;
        else if (c == 'e') eff = atoll(optarg);
        else if (c == 'm' && kind == REG_FLAG) media = optarg;
        else die_usage(REGISTRY_USAGE);
    }
    if (argc - optind != 1 || !reason || !keyarg == !keyid || (kind == REG_FLAG && !media)) die_usage(REGISTRY_USAGE);
    const char *dir = argv[optind];
    if (reg_is_url(dir)) return reg_remote_revoke_flag(dir, kind, keyarg, keyid, reason, eff, media, signer);
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return err("out of memory");
    opkeys o = {.dir = dir, .ctx = ctx};
    oplog L;
    memset(&L, 0, sizeof L);
    prov_key *self = NULL, *rk = NULL;
    pbuf ent;
    pbuf_init(&ent);
    tlog_signer sig;
    memset(&sig, 0, sizeof sig);
    prov_signer ps;
    int rc = EXIT_ERROR;
    reg_entry e;
    revoke_flag_entry(&e, kind, reason, eff);
    char origin[TLOG_NAME_MAX + 1];
    if (dir_origin(ctx, dir, origin)) goto out;
    e.log = (reg_str){origin, strlen(origin)};
    if (open_log(&L, &o)) goto out;
    if (resolve_key(ctx, keyarg, keyid, reg_log_state(L.log), &e.key_pub, kind == REG_REVOKE ? &self : NULL)) goto out;
    memcpy(e.key, e.key_pub.id, 32);
    if (kind == REG_FLAG &&
        reg_media_hashes(ctx, media, e.media, e.manifest, &e.has_manifest)) {
        err("%s", prov_errmsg(ctx));
        goto out;
    }
    if (!self && !(rk = op_key(&o, "registrar.key"))) goto out;
    if (kind == REG_FLAG) prov_key_public(rk, e.flagger);
    if (reg_signer_from_key(&sig, &ps, self ? self : rk)) { err("signer"); goto out; }
    if (reg_entry_build(&ent, &e, &sig, 1, ctx)) { err("%s", prov_errmsg(ctx)); goto out; }
    uint64_t index;
    if (append_one(&L, &ent, &index, ctx)) goto out;
    char id[17];
    reg_key_id(id, e.key);
    printf("%s key %s: entry %llu\n", kind == REG_REVOKE ? "revoked" : "flagged", id, (unsigned long long)index);
    rc = 0;
out:
    close_log(&L);
    tlog_signer_wipe(&sig);
    pbuf_free(&ent);
    prov_key_free(self), prov_key_free(rk);
    free_passphrase(o.pass);
    prov_ctx_free(ctx);
    return rc;
}

static int reg_rotate(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, 0, 'k'},
                                          {"new-key", required_argument, 0, 'n'},
                                          {"days", required_argument, 0, 'd'},
                                          {"out", required_argument, 0, 'o'},
                                          {0, 0, 0, 0}};
    const char *oldp = NULL, *newp = NULL, *outp = NULL;
    int days = 730, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:n:d:o:", opts, NULL)) != -1) {
        if (c == 'k') oldp = optarg;
        else if (c == 'o') outp = optarg;
        else if (c == 'n') newp = optarg;
        else if (c == 'd') days = atoi(optarg);
        else die_usage(REGISTRY_USAGE);
    }
    if (argc - optind != 1 || !oldp || !newp || days <= 0) die_usage(REGISTRY_USAGE);
    if (!outp && is_token_uri(newp)) return err("a token's key: give --out PREFIX for PREFIX.chain.pem and PREFIX.proof");
    if (!outp) outp = newp;
    const char *dir = argv[optind];
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return err("out of memory");
    opkeys o = {.dir = dir, .ctx = ctx};
    oplog L;
    memset(&L, 0, sizeof L);
    prov_key *ck = NULL;
    ukey ok, nk;
    memset(&ok, 0, sizeof ok), memset(&nk, 0, sizeof nk);
    pbuf ent;
    pbuf_init(&ent);
    tlog_signer sig[2];
    memset(sig, 0, sizeof sig);
    char *pem = NULL;
    int rc = EXIT_ERROR;
    reg_entry e;
    memset(&e, 0, sizeof e);
    e.kind = REG_ROTATE;
    e.time = now_s();
    char origin[TLOG_NAME_MAX + 1];
    if (dir_origin(ctx, dir, origin)) goto out;
    e.log = (reg_str){origin, strlen(origin)};
    if (ukey_open(ctx, oldp, &ok) || ukey_open(ctx, newp, &nk)) goto out;
    e.key_pub = ok.pub, e.new_key_pub = nk.pub;
    memcpy(e.key, ok.pub.id, 32), memcpy(e.new_key, nk.pub.id, 32);
    if (open_log(&L, &o) || !(ck = op_key(&o, "root.key"))) goto out;
    const reg_ident *d = reg_state_find(reg_log_state(L.log), e.key);
    if (!d) { err("%s: not registered", oldp); goto out; }
    if (ukey_signer(&ok, &sig[0]) || ukey_signer(&nk, &sig[1])) goto out;
    if (reg_entry_build(&ent, &e, sig, 2, ctx) ||
        reg_ca_issue(ctx, dir, ck, &e.new_key_pub, d->name, d->org, days, &pem)) {
        err("%s", prov_errmsg(ctx));
        goto out;
    }
    uint64_t index;
    if (append_one(&L, &ent, &index, ctx)) goto out;
    if (write_pub(outp, &e.new_key_pub) || write_proof_chain(&L, outp, index, pem, ctx)) goto out;
    printf("rotated to %s: entry %llu\n  certificate chain: %s.chain.pem\n  proof: %s.proof\n", newp,
           (unsigned long long)index, outp, outp);
    rc = 0;
out:
    close_log(&L);
    tlog_signer_wipe(&sig[0]), tlog_signer_wipe(&sig[1]);
    pbuf_free(&ent);
    prov_free(pem);
    ukey_close(&ok), ukey_close(&nk);
    prov_key_free(ck);
    free_passphrase(o.pass);
    prov_ctx_free(ctx);
    return rc;
}

/* ---- lookup, verify ----------------------------------------------------- */

static const char *status_name(int s)
{
    return s == REG_ACTIVE ? "active" : s == REG_ROTATED ? "rotated" : "revoked";
}

static void hex(char *out, const uint8_t *p) { sodium_bin2hex(out, 65, p, 32); }

static void print_ident(const reg_ident *d, int json, int first)
{
    char kt[REG_KEYTEXT_MAX], id[17], h1[65], h2[65];
    reg_pub kp;
    reg_ident_pub(d, &kp);
    reg_pub_text(kt, &kp);
    reg_key_id(id, d->key);
    if (!json) {
        printf("%s\n  key ID:   %s\n  name:     %s\n", kt, id, d->name ? d->name : "");
        if (d->org) printf("  org:      %s\n", d->org);
        if (d->contact) printf("  contact:  %s\n", d->contact);
        if (d->checked_by) printf("  checked:  %s\n", d->checked_by);
        reg_key_id(id, d->registrar);
        printf("  registrar: %s\n  entry:    %llu (time %llu)\n", id, (unsigned long long)d->index,
               (unsigned long long)d->time);
        if (d->has_from) {
            reg_key_id(id, d->rotated_from);
            printf("  rotated from: %s\n", id);
        }
        if (d->status == REG_ROTATED) {
            reg_key_id(id, d->rotated_to);
            printf("  status:   rotated to %s at %llu\n", id, (unsigned long long)d->rotated_time);
        } else if (d->status == REG_REVOKED) {
            printf("  status:   revoked since %llu (reason: %s; entry %llu)\n", (unsigned long long)d->revoked_effective,
                   d->revoked_reason, (unsigned long long)d->revoked_index);
        } else {
            printf("  status:   active\n");
        }
        for (size_t i = 0; i < d->nflags; i++) {
            hex(h1, d->flags[i].media);
            printf("  flag:     entry %llu: %s (media sha256:%s)\n", (unsigned long long)d->flags[i].index,
                   d->flags[i].reason, h1);
        }
        return;
    }
    pbuf b;
    pbuf_init(&b);
    if (!first) pbuf_putc(&b, ',');
    pbuf_printf(&b, "{\"key\":\"%s\",\"key_id\":\"%s\",\"name\":", kt, id);
    pbuf_json_str(&b, d->name ? d->name : "", d->name ? strlen(d->name) : 0);
#define JF(k, v)                                     \
    if (v) {                                         \
        pbuf_puts(&b, ",\"" k "\":");                \
        pbuf_json_str(&b, v, strlen(v));             \
    }
    JF("org", d->org)
    JF("contact", d->contact)
    JF("checked_by", d->checked_by)
    reg_key_id(id, d->registrar);
    pbuf_printf(&b, ",\"registrar\":\"%s\",\"entry\":%llu,\"time\":%llu,\"status\":\"%s\"", id,
                (unsigned long long)d->index, (unsigned long long)d->time, status_name(d->status));
    if (d->has_from) reg_key_id(id, d->rotated_from), pbuf_printf(&b, ",\"rotated_from\":\"%s\"", id);
    if (d->status == REG_ROTATED)
        reg_key_id(id, d->rotated_to), pbuf_printf(&b, ",\"rotated_to\":\"%s\",\"rotated_time\":%llu", id,
                                                   (unsigned long long)d->rotated_time);
    if (d->status == REG_REVOKED) {
        pbuf_printf(&b, ",\"revoked_since\":%llu,\"revoked_entry\":%llu,\"revoked_reason\":",
                    (unsigned long long)d->revoked_effective, (unsigned long long)d->revoked_index);
        pbuf_json_str(&b, d->revoked_reason, strlen(d->revoked_reason));
    }
    pbuf_puts(&b, ",\"flags\":[");
    for (size_t i = 0; i < d->nflags; i++) {
        hex(h1, d->flags[i].media);
        hex(h2, d->flags[i].manifest);
        reg_key_id(id, d->flags[i].flagger);
        pbuf_printf(&b, "%s{\"entry\":%llu,\"time\":%llu,\"flagger\":\"%s\",\"media_sha256\":\"%s\",\"manifest_sha256\":",
                    i ? "," : "", (unsigned long long)d->flags[i].index, (unsigned long long)d->flags[i].time, id, h1);
        if (d->flags[i].has_manifest) pbuf_printf(&b, "\"%s\"", h2);
        else pbuf_puts(&b, "null");
        pbuf_puts(&b, ",\"reason\":");
        pbuf_json_str(&b, d->flags[i].reason, strlen(d->flags[i].reason));
        pbuf_putc(&b, '}');
    }
    pbuf_puts(&b, "]}");
    if (!b.err) fwrite(b.p, 1, b.len, stdout);
    pbuf_free(&b);
}

/* lookup through a SQLite mirror (synced first from src when given) */
static int lookup_mirror(const char *src, const char *mpath, const char *q, int json)
{
    prov_ctx *ctx;
    mirror *m = NULL;
    if (prov_ctx_new(&ctx)) return err("out of memory");
    int rc = open_mirror_for_lookup(src, mpath, &m, ctx);
    if (rc) {
        err("%s", prov_errmsg(ctx));
        prov_ctx_free(ctx);
        return exit_for(rc);
    }
    uint8_t pk[32];
    reg_ident hits[16];
    size_t n = 0;
    char buf[1024];
    FILE *f;
    bool have_pk = !reg_key_parse(q, strlen(q), pk);
    if (!have_pk && (f = fopen(q, "rb"))) {
        size_t k = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[k] = 0;
        if (reg_key_parse(buf, k, pk)) { mirror_close(m), prov_ctx_free(ctx); return err("%s: not a public key file", q); }
        have_pk = true;
    }
    if (have_pk) rc = mirror_find(m, pk, &hits[0], ctx), n = rc == 0;
    else rc = mirror_search(m, q, hits, 16, &n, ctx);
    if (rc && rc != PROV_ENOTFOUND) {
        err("%s: %s", q, prov_errmsg(ctx));
        mirror_close(m), prov_ctx_free(ctx);
        return EXIT_ERROR;
    }
    if (json) fputs("[", stdout);
    for (size_t i = 0; i < n; i++) print_ident(&hits[i], json, i == 0), mirror_ident_clear(&hits[i]);
    if (json) fputs("]\n", stdout);
    if (!n && !json) fprintf(stderr, "prov: %s: not in the registry\n", q);
    mirror_close(m);
    prov_ctx_free(ctx);
    return n ? EXIT_OKAY : EXIT_INVALID;
}

static int reg_lookup(int argc, char **argv)
{
    static const struct option opts[] = {{"registry", required_argument, 0, 'r'},
                                          {"json", no_argument, 0, 'j'},
                                          {"mirror", required_argument, 0, 'm'},
                                          {0, 0, 0, 0}};
    const char *dir = getenv("PROV_REGISTRY"), *mpath = NULL;
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:jm:", opts, NULL)) != -1) {
        if (c == 'r') dir = optarg;
        else if (c == 'm') mpath = optarg;
        else if (c == 'j') json = 1;
        else die_usage(REGISTRY_USAGE);
    }
    int left = argc - optind;
    if (left == 2) dir = argv[optind++], left = 1;
    if (left != 1 || (!dir && !mpath)) die_usage(REGISTRY_USAGE);
    const char *q = argv[optind];
    if (mpath || mfetch_is_url(dir)) return lookup_mirror(dir, mpath, q, json);
    prov_ctx *ctx;
    reg_state *st;
    if (prov_ctx_new(&ctx) || reg_state_new(&st)) return err("out of memory");
    int rc = EXIT_ERROR;
    int w = reg_walk(dir, false, st, NULL, ctx);
    if (w) {
        rc = w == TLOG_EVERIFY || w == PROV_EFORMAT ? EXIT_INVALID : EXIT_ERROR;
        err("%s: the log does not verify: %s", dir, prov_errmsg(ctx));
        goto out;
    }
    uint8_t pk[32];
    const reg_ident *hits[16];
    size_t n = 0;
    char buf[1024];
    FILE *f;
    if (!reg_key_parse(q, strlen(q), pk)) {
        if ((hits[0] = reg_state_find(st, pk))) n = 1;
    } else if ((f = fopen(q, "rb"))) {
        size_t k = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[k] = 0;
        if (reg_key_parse(buf, k, pk)) { err("%s: not a public key file", q); goto out; }
        if ((hits[0] = reg_state_find(st, pk))) n = 1;
    } else {
        n = reg_state_search(st, q, hits, 16);
    }
    if (json) fputs("[", stdout);
    for (size_t i = 0; i < n; i++) print_ident(hits[i], json, i == 0);
    if (json) fputs("]\n", stdout);
    if (!n && !json) fprintf(stderr, "prov: %s: not in the registry\n", q);
    rc = n ? EXIT_OKAY : EXIT_INVALID;
out:
    reg_state_free(st);
    prov_ctx_free(ctx);
    return rc;
}

static int reg_verify(int argc, char **argv)
{
    if (argc != 2) die_usage(REGISTRY_USAGE);
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return err("out of memory");
    reg_walk_stats s;
    int rc = reg_walk(argv[1], true, NULL, &s, ctx);
    if (rc) {
        fprintf(stderr, "prov: %s: FAILED: %s\n", argv[1], prov_errmsg(ctx));
        rc = rc == TLOG_EVERIFY || rc == PROV_EFORMAT || rc == PROV_ENOTFOUND ? EXIT_INVALID : EXIT_ERROR;
    } else {
        char root[64];
        sodium_bin2base64(root, sizeof root, s.root, 32, sodium_base64_VARIANT_ORIGINAL);
        printf("%s: ok: %llu entries, %llu entry bundles and %llu hash tiles check out, root %s\n", argv[1],
               (unsigned long long)s.size, (unsigned long long)s.bundles_read, (unsigned long long)s.tiles_checked,
               root);
    }
    prov_ctx_free(ctx);
    return rc;
}

int cmd_registry(int argc, char **argv)
{
    /* these have their own --help */
    if (argc >= 2 && !strcmp(argv[1], "serve")) return reg_cmd_serve(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "pending")) return reg_cmd_pending(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "approve")) return reg_cmd_approve(argc - 1, argv + 1);
    /* commands with their own --help (cmd_registry_sync.c, cmd_witness.c) */
    if (argc >= 2 && !strcmp(argv[1], "sync")) return cmd_registry_sync(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "witness")) return cmd_registry_witness(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "witness-request")) return cmd_registry_witness_request(argc - 1, argv + 1);
    if (argc < 2 || wants_help(argc, argv)) {
        fputs(REGISTRY_USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_ERROR : EXIT_OKAY;
    }
    const char *c = argv[1];
    if (!strcmp(c, "init")) return reg_init(argc - 1, argv + 1);
    if (!strcmp(c, "revoke")) return reg_revoke_flag(argc - 1, argv + 1, REG_REVOKE);
    if (!strcmp(c, "flag")) return reg_revoke_flag(argc - 1, argv + 1, REG_FLAG);
    if (!strcmp(c, "rotate")) return reg_rotate(argc - 1, argv + 1);
    if (!strcmp(c, "lookup")) return reg_lookup(argc - 1, argv + 1);
    if (!strcmp(c, "verify")) return reg_verify(argc - 1, argv + 1);
    return err("unknown registry command '%s' (see prov registry --help)", c);
}
