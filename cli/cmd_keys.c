/* cmd_keys.c - prov ca init, prov keygen, prov certify. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char CA_USAGE[] =
    "usage: prov ca init DIR --subject NAME [--days N] [--no-encrypt]\n"
    "\n"
    "Make an issuer in DIR (created, mode 0700): its Ed25519 root key\n"
    "DIR/root.key (sealed with a passphrase unless --no-encrypt) and its\n"
    "self-signed certificate DIR/root.pem, the trust anchor verifiers use.\n"
    "  --subject NAME   the issuer's name: \"Newsroom CA\" or \"CN=...,O=...\"\n"
    "  --days N         validity of the root (default 3650)\n"
    "  --no-encrypt     store the key unencrypted (tests, devices)\n"
    "The passphrase comes from PROV_CA_PASSPHRASE, PROV_PASSPHRASE or a prompt.\n";

static const char KEYGEN_USAGE[] =
    "usage: prov keygen -o KEY --subject NAME [--ca DIR] [--days N] [--alg ALG] [--no-encrypt]\n"
    "\n"
    "Make a signing key at KEY (mode 0600, sealed with a passphrase unless\n"
    "--no-encrypt) and its public key at KEY.pub.  With --ca, the issuer in DIR\n"
    "also certifies it: KEY.chain.pem, which `prov sign` uses.\n"
    "  --subject NAME   the signer: \"Jane Doe\" or \"CN=Jane Doe,O=Daily News\"\n"
    "  --days N         validity of the certificate (default 730)\n"
    "  --alg ALG        ed25519 (default), es256 (ECDSA P-256, what secure\n"
    "                   elements and phones use; every C2PA reader checks it)\n"
    "                   or es384 (P-384).  The identity registry takes all\n"
    "                   three (prov register).\n"
    "Passphrases: PROV_PASSPHRASE for the new key, PROV_CA_PASSPHRASE (else\n"
    "PROV_PASSPHRASE) for the issuer's key, or prompts.\n";

static const char CERTIFY_USAGE[] =
    "usage: prov certify --key KEY --ca DIR --subject NAME -o CHAIN [--days N]\n"
    "\n"
    "Issue a certificate from the issuer in DIR for a public key held\n"
    "elsewhere, and write it to CHAIN (PEM) for `prov sign --chain CHAIN`.\n"
    "  --key KEY        a key on a PKCS#11 token (an RFC 7512 URI:\n"
    "                   'pkcs11:token=Cam;object=sign?module-path=...'; its\n"
    "                   private half never leaves the token), or a public key\n"
    "                   file: KEY.pub from prov keygen, or a PEM public key\n"
    "                   (Ed25519, ECDSA P-256 or P-384)\n"
    "  --ca DIR         the issuer (prov ca init)\n"
    "  --subject NAME   the signer: \"Cam 42\" or \"CN=Cam 42,O=Maker\"\n"
    "  --days N         validity of the certificate (default 730)\n"
    "  -o CHAIN         where the certificate goes (not replaced if it exists)\n"
    "The token's PIN: pin-source= in the URI, PROV_PKCS11_PIN or a prompt.\n"
    "The issuer's passphrase: PROV_CA_PASSPHRASE, PROV_PASSPHRASE or a prompt.\n";

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

int cmd_ca(int argc, char **argv)
{
    static const struct option opts[] = {{"subject", required_argument, 0, 's'},
                                          {"days", required_argument, 0, 'd'},
                                          {"no-encrypt", no_argument, 0, 'n'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    if (wants_help(argc, argv)) { fputs(CA_USAGE, stdout); return 0; }
    const char *subject = NULL;
    int days = 3650, plain = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:d:nh", opts, NULL)) != -1) {
        if (c == 's') subject = optarg;
        else if (c == 'd') days = atoi(optarg);
        else if (c == 'n') plain = 1;
        else die_usage(CA_USAGE);
    }
    if (argc - optind != 2 || strcmp(argv[optind], "init") || !subject) die_usage(CA_USAGE);
    if (days <= 0) return err("--days must be positive");
    const char *dir = argv[optind + 1];
    char keyp[4096], pemp[4096];
    snprintf(keyp, sizeof keyp, "%s/root.key", dir);
    snprintf(pemp, sizeof pemp, "%s/root.pem", dir);
    if (mkdir(dir, 0700) && errno != EEXIST) return err("%s: cannot create: %s", dir, strerror(errno));
    if (exists(keyp) || exists(pemp)) return err("%s: already holds an issuer (root.key/root.pem)", dir);

    prov_ctx *ctx;
    prov_key *k;
    if (prov_ctx_new(&ctx)) return err("out of memory");
    if (prov_key_generate(&k)) return prov_ctx_free(ctx), err("cannot make the key");
    char *pass = plain ? NULL : get_passphrase("New passphrase for the issuer key: ", 1, "PROV_CA_PASSPHRASE");
    int rc = EXIT_ERROR;
    uint8_t *der = NULL;
    size_t der_len;
    char *pem = NULL;
    if (!plain && !pass) goto out;
    if (prov_cert_make_root(ctx, k, subject, days, &der, &der_len) || prov_cert_to_pem(der, der_len, &pem)) {
        err("cannot make the root certificate: %s", prov_errmsg(ctx));
        goto out;
    }
    if (prov_key_save(ctx, k, keyp, pass)) {
        err("%s", prov_errmsg(ctx));
        goto out;
    }
    if (write_text(pemp, pem, strlen(pem), 0644)) goto out;
    printf("issuer made in %s\n  key:         %s%s\n  certificate: %s (give this to verifiers: --trust)\n", dir, keyp,
           plain ? " (unencrypted)" : "", pemp);
    rc = 0;
out:
    free_passphrase(pass);
    prov_free(der);
    prov_free(pem);
    prov_key_free(k);
    prov_ctx_free(ctx);
    return rc;
}

/* The issuer in DIR: its key (passphrase asked) and its certificate. */
static int load_issuer(prov_ctx *ctx, const char *ca, prov_key **cak, prov_chain **cachain)
{
    char cakeyp[4096], capemp[4096];
    snprintf(cakeyp, sizeof cakeyp, "%s/root.key", ca);
    snprintf(capemp, sizeof capemp, "%s/root.pem", ca);
    int enc = prov_key_file_encrypted(cakeyp);
    if (enc < 0) return err("%s: not an issuer key", cakeyp);
    char *capass = NULL;
    if (enc && !(capass = get_passphrase("Passphrase of the issuer key: ", 0, "PROV_CA_PASSPHRASE"))) return EXIT_ERROR;
    int r = prov_key_load(ctx, cakeyp, capass, cak) || prov_chain_load_pem(ctx, capemp, cachain);
    free_passphrase(capass);
    return r ? err("%s", prov_errmsg(ctx)) : 0;
}

int cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, 0, 'o'},
                                          {"subject", required_argument, 0, 's'},
                                          {"ca", required_argument, 0, 'c'},
                                          {"days", required_argument, 0, 'd'},
                                          {"no-encrypt", no_argument, 0, 'n'},
                                          {"alg", required_argument, 0, 'a'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    if (wants_help(argc, argv)) { fputs(KEYGEN_USAGE, stdout); return 0; }
    const char *out = NULL, *subject = NULL, *ca = NULL;
    int days = 730, plain = 0, c, alg = PROV_ALG_ED25519;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:s:c:d:nh", opts, NULL)) != -1) {
        if (c == 'o') out = optarg;
        else if (c == 's') subject = optarg;
        else if (c == 'c') ca = optarg;
        else if (c == 'd') days = atoi(optarg);
        else if (c == 'n') plain = 1;
        else if (c == 'a') {
            if (!strcasecmp(optarg, "ed25519")) alg = PROV_ALG_ED25519;
            else if (!strcasecmp(optarg, "es256")) alg = PROV_ALG_ES256;
            else if (!strcasecmp(optarg, "es384")) alg = PROV_ALG_ES384;
            else return err("--alg %s: ed25519, es256 or es384", optarg);
        } else die_usage(KEYGEN_USAGE);
    }
    if (optind != argc || !out || !subject) die_usage(KEYGEN_USAGE);
    if (days <= 0) return err("--days must be positive");
    char pubp[4096], chainp[4096];
    snprintf(pubp, sizeof pubp, "%s.pub", out);
    snprintf(chainp, sizeof chainp, "%s.chain.pem", out);
    if (exists(out)) return err("%s: already exists (a key is never overwritten)", out);

    prov_ctx *ctx;
    prov_key *k, *cak = NULL;
    if (prov_ctx_new(&ctx)) return err("out of memory");
    if (prov_key_generate_alg(alg, &k)) return prov_ctx_free(ctx), err("cannot make the key");
    int rc = EXIT_ERROR;
    char *pass = NULL, *pem = NULL, *capem = NULL;
    uint8_t *der = NULL;
    size_t der_len;
    prov_chain *cachain = NULL;
    if (ca && load_issuer(ctx, ca, &cak, &cachain)) goto out;
    if (!plain && !(pass = get_passphrase("New passphrase for the signing key: ", 1, NULL))) goto out;
    if (ca) {
        size_t ca_len;
        const uint8_t *ca_der = prov_chain_der(cachain, 0, &ca_len);
        if (prov_cert_make_leaf_for(ctx, cak, ca_der, ca_len, k, subject, days, &der, &der_len) ||
            prov_cert_to_pem(der, der_len, &pem)) {
            err("cannot make the certificate: %s", prov_errmsg(ctx));
            goto out;
        }
    }
    if (prov_key_save(ctx, k, out, pass)) {
        err("%s", prov_errmsg(ctx));
        goto out;
    }
    char line[1024];
    if (alg == PROV_ALG_ED25519) {
        uint8_t pk[32];
        char b64[64];
        prov_key_public(k, pk);
        sodium_bin2base64(b64, sizeof b64, pk, 32, sodium_base64_VARIANT_ORIGINAL);
        snprintf(line, sizeof line, "ed25519 %s\n", b64);
    } else { /* ECDSA: the SubjectPublicKeyInfo as PEM, as OpenSSL writes it */
        uint8_t *spki = NULL;
        size_t n;
        char b64[512];
        if (prov_key_public_der(k, &spki, &n) || n > 300) { prov_free(spki); err("cannot encode the public key"); goto out; }
        sodium_bin2base64(b64, sizeof b64, spki, n, sodium_base64_VARIANT_ORIGINAL);
        prov_free(spki);
        size_t o = (size_t)snprintf(line, sizeof line, "-----BEGIN PUBLIC KEY-----\n");
        for (size_t i = 0, l = strlen(b64); i < l; i += 64) o += (size_t)snprintf(line + o, sizeof line - o, "%.64s\n", b64 + i);
        snprintf(line + o, sizeof line - o, "-----END PUBLIC KEY-----\n");
    }
    remove(pubp);
    if (write_text(pubp, line, strlen(line), 0644)) goto out;
    if (pem) {
        remove(chainp);
        if (write_text(chainp, pem, strlen(pem), 0644)) goto out;
    }
    printf("key made: %s%s\n  public key: %s\n", out, plain ? " (unencrypted)" : "", pubp);
    if (pem) printf("  certificate chain: %s (issued by %s)\n", chainp, ca);
    rc = 0;
out:
    free_passphrase(pass);
    prov_free(der);
    prov_free(pem);
    prov_free(capem);
    prov_chain_free(cachain);
    prov_key_free(k);
    prov_key_free(cak);
    prov_ctx_free(ctx);
    return rc;
}

/* A public key file as DER SPKI: a PEM "PUBLIC KEY" or prov's
 * "ed25519 BASE64" line. */
static int read_public_file(const char *path, uint8_t *spki, size_t cap, size_t *len)
{
    char text[4096];
    FILE *f = fopen(path, "rb");
    if (!f) return err("%s: cannot read it", path);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    const char *b = strstr(text, "-----BEGIN PUBLIC KEY-----"), *e = b ? strstr(b, "-----END PUBLIC KEY-----") : NULL;
    if (b && e) {
        b += strlen("-----BEGIN PUBLIC KEY-----");
        if (sodium_base642bin(spki, cap, b, (size_t)(e - b), " \r\n\t", len, NULL, sodium_base64_VARIANT_ORIGINAL))
            return err("%s: bad base64 in the public key", path);
        return 0;
    }
    if (!strncmp(text, "ed25519 ", 8)) {
        static const uint8_t pre[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
        size_t pl = 0;
        if (cap < sizeof pre + 32 ||
            sodium_base642bin(spki + sizeof pre, 32, text + 8, strcspn(text + 8, "\r\n"), NULL, &pl, NULL,
                              sodium_base64_VARIANT_ORIGINAL) || pl != 32)
            return err("%s: bad Ed25519 public key", path);
        memcpy(spki, pre, sizeof pre);
        *len = sizeof pre + 32;
        return 0;
    }
    return err("%s: not a public key (PEM PUBLIC KEY or prov's KEY.pub)", path);
}

int cmd_certify(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, 0, 'o'},
                                          {"subject", required_argument, 0, 's'},
                                          {"ca", required_argument, 0, 'c'},
                                          {"days", required_argument, 0, 'd'},
                                          {"key", required_argument, 0, 'k'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    if (wants_help(argc, argv)) { fputs(CERTIFY_USAGE, stdout); return 0; }
    const char *out = NULL, *subject = NULL, *ca = NULL, *key = NULL;
    int days = 730, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:s:c:d:k:h", opts, NULL)) != -1) {
        if (c == 'o') out = optarg;
        else if (c == 's') subject = optarg;
        else if (c == 'c') ca = optarg;
        else if (c == 'd') days = atoi(optarg);
        else if (c == 'k') key = optarg;
        else die_usage(CERTIFY_USAGE);
    }
    if (optind != argc || !out || !subject || !ca || !key) die_usage(CERTIFY_USAGE);
    if (days <= 0) return err("--days must be positive");
    if (exists(out)) return err("%s: already exists (remove it first)", out);
    prov_ctx *ctx;
    if (prov_ctx_new(&ctx)) return err("out of memory");
    int rc = EXIT_ERROR;
    prov_pkcs11_key *hk = NULL;
    prov_key *cak = NULL;
    prov_chain *cachain = NULL;
    uint8_t spki[1024], *tok = NULL, *der = NULL;
    const uint8_t *pub = spki;
    size_t plen = 0, der_len, ca_len;
    char *pem = NULL;
    if (is_token_uri(key)) {
        if (token_open(ctx, key, &hk)) goto out;
        if (prov_pkcs11_public_der(hk, &tok, &plen)) { err("out of memory"); goto out; }
        pub = tok;
    } else if (read_public_file(key, spki, sizeof spki, &plen)) goto out;
    if (load_issuer(ctx, ca, &cak, &cachain)) goto out;
    const uint8_t *ca_der = prov_chain_der(cachain, 0, &ca_len);
    if (prov_cert_make_leaf_spki(ctx, cak, ca_der, ca_len, pub, plen, subject, days, &der, &der_len) ||
        prov_cert_to_pem(der, der_len, &pem)) {
        err("%.*s: cannot issue the certificate: %s", URI_SHOWN(key), prov_errmsg(ctx));
        goto out;
    }
    if (write_text(out, pem, strlen(pem), 0644)) goto out;
    printf("certificate for %.*s: %s (issued by %s, %d days)\n", URI_SHOWN(key), out, ca, days);
    rc = 0;
out:
    prov_free(tok);
    prov_free(der);
    prov_free(pem);
    prov_pkcs11_close(hk);
    prov_key_free(cak);
    prov_chain_free(cachain);
    prov_ctx_free(ctx);
    return rc;
}
