/* main.c - the prov command: dispatch and shared helpers. */
#include "cli.h"
#include "tmpfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

static const char USAGE[] =
    "prov - sign and verify where photos and videos come from (C2PA)\n"
    "\n"
    "usage: prov COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  ca init DIR --subject NAME      make an issuer: root key and DIR/root.pem\n"
    "  keygen -o KEY --subject NAME [--ca DIR]\n"
    "                                  make a signing key (and its certificate)\n"
    "  certify --key KEY --ca DIR --subject NAME -o CHAIN\n"
    "                                  certify a token's key (pkcs11:URI) or a KEY.pub\n"
    "  sign IN -o OUT --key KEY        sign a picture, video or audio file (KEY: a file or pkcs11:URI)\n"
    "  verify FILE... [--trust PEM]    check files' manifests and signers\n"
    "  inspect FILE [--json]           show a file's whole manifest store\n"
    "  registry init|revoke|flag|rotate|lookup|verify|serve|pending|approve ...\n"
    "                                  the identity registry (a transparency log)\n"
    "  register --registry DIR --key KEY --name NAME [--org ORG]\n"
    "                                  register a key: KEY.chain.pem and KEY.proof\n"
    "  serve --listen 127.0.0.1:PORT   an HTTP verification service and viewer page\n"
    "  scan FILE... [--json]           how likely images/videos are AI-made (detector)\n"
    "  fingerprint FILE [FILE2]        a picture's or a sound's fingerprint; how near two are\n"
    "  version                         print the version\n"
    "\n"
    "`prov COMMAND --help` tells more.  Passphrases come from PROV_PASSPHRASE\n"
    "or a prompt on the terminal.\n";

void die_usage(const char *usage)
{
    fputs(usage, stderr);
    exit(EXIT_ERROR);
}

int err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("prov: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_ERROR;
}

int write_text(const char *path, const char *text, size_t len, mode_t mode)
{
    char *tmp = NULL;
    int fd = -1;
    if (tmp_create(path, &tmp, &fd)) return err("%s: cannot create a temporary file beside it: %s", path, strerror(errno));
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd), unlink(tmp), free(tmp);
        return err("%s: cannot write: %s", path, strerror(errno));
    }
    int bad = fwrite(text, 1, len, f) != len;
    bad |= fchmod(fileno(f), mode) != 0;
    bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path)) {
        remove(tmp);
        free(tmp);
        return err("%s: cannot write: %s", path, strerror(errno));
    }
    free(tmp);
    return 0;
}

/* s as a JSON string, quotes included (malloc'd). */
char *json_quote(const char *s)
{
    char *q = malloc(strlen(s) * 6 + 3);
    if (!q) return NULL;
    size_t k = 0;
    q[k++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') { q[k++] = '\\'; q[k++] = (char)*p; }
        else if (*p < 0x20) k += (size_t)sprintf(q + k, "\\u%04x", *p);
        else q[k++] = (char)*p;
    }
    q[k++] = '"';
    q[k] = 0;
    return q;
}

int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
    return 0;
}

static char *prompt_tty(const char *prompt)
{
    FILE *tty = fopen("/dev/tty", "r+");
    if (!tty) return NULL;
    struct termios old, quiet;
    int fd = fileno(tty);
    int have = tcgetattr(fd, &old) == 0;
    if (have) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    fprintf(tty, "%s", prompt);
    fflush(tty);
    char *buf = malloc(1024);
    if (buf && !fgets(buf, 1024, tty)) { free(buf); buf = NULL; }
    if (have) tcsetattr(fd, TCSAFLUSH, &old);
    fputc('\n', tty);
    fclose(tty);
    if (buf) buf[strcspn(buf, "\r\n")] = 0;
    return buf;
}

int token_open(prov_ctx *ctx, const char *uri, prov_pkcs11_key **out)
{
    const char *pin = getenv("PROV_PKCS11_PIN");
    int r = prov_pkcs11_open(ctx, uri, pin, out);
    if (r == PROV_EPASSPHRASE && !pin && strstr(prov_errmsg(ctx), "wants a PIN")) {
        char *p = prompt_tty("PIN of the token: ");
        if (!p)
            return err("%.*s: the token wants a PIN: set PROV_PKCS11_PIN, put pin-source= in the URI, or run on a "
                       "terminal",
                       URI_SHOWN(uri));
        r = prov_pkcs11_open(ctx, uri, p, out);
        free_passphrase(p);
    }
    return r ? err("%.*s: %s", URI_SHOWN(uri), prov_errmsg(ctx)) : 0;
}

char *get_passphrase(const char *prompt, int confirm, const char *env)
{
    const char *e = env ? getenv(env) : NULL;
    if (!e) e = getenv("PROV_PASSPHRASE");
    if (e && !*e) {
        err("PROV_PASSPHRASE is empty: an empty passphrase protects nothing (use --no-encrypt for an unencrypted key)");
        return NULL;
    }
    if (e) return strdup(e);
    char *p = prompt_tty(prompt);
    if (!p) {
        err("no passphrase: set PROV_PASSPHRASE, run on a terminal, or use --no-encrypt");
        return NULL;
    }
    if (confirm) {
        char *q = prompt_tty("Repeat passphrase: ");
        int same = q && strcmp(p, q) == 0;
        free_passphrase(q);
        if (!same) {
            free_passphrase(p);
            err("passphrases do not match");
            return NULL;
        }
    }
    if (!*p) {
        free_passphrase(p);
        err("empty passphrase (use --no-encrypt for an unencrypted key)");
        return NULL;
    }
    return p;
}

void free_passphrase(char *p)
{
    if (!p) return;
    volatile char *v = p;
    while (*v) *v++ = 0;
    free(p);
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_ERROR : EXIT_OKAY;
    }
    const char *c = argv[1];
    if (!strcmp(c, "version") || !strcmp(c, "--version")) {
        printf("prov %s\n", prov_version());
        return 0;
    }
    if (!strcmp(c, "ca")) return cmd_ca(argc - 1, argv + 1);
    if (!strcmp(c, "keygen")) return cmd_keygen(argc - 1, argv + 1);
    if (!strcmp(c, "certify")) return cmd_certify(argc - 1, argv + 1);
    if (!strcmp(c, "sign")) return cmd_sign(argc - 1, argv + 1);
    if (!strcmp(c, "verify")) return cmd_verify(argc - 1, argv + 1);
    if (!strcmp(c, "inspect")) return cmd_inspect(argc - 1, argv + 1);
    if (!strcmp(c, "registry")) return cmd_registry(argc - 1, argv + 1);
    if (!strcmp(c, "register")) return cmd_register(argc - 1, argv + 1);
    if (!strcmp(c, "serve")) return cmd_serve(argc - 1, argv + 1);
    if (!strcmp(c, "scan")) return cmd_scan(argc - 1, argv + 1);
    if (!strcmp(c, "fingerprint")) return cmd_fingerprint(argc - 1, argv + 1);
    err("unknown command '%s' (see prov --help)", c);
    return EXIT_ERROR;
}
