/* cli.h - shared helpers of the prov command. */
#ifndef PROV_CLI_H
#define PROV_CLI_H

#include "prov.h"

#include <stdio.h>
#include <string.h>
#include <sys/types.h>

/* Exit codes: 0 ok, 1 a file failed verification, 2 usage or I/O error. */
enum { EXIT_OKAY = 0, EXIT_INVALID = 1, EXIT_ERROR = 2 };

void die_usage(const char *usage) __attribute__((noreturn));
int err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* s as a JSON string, quotes included (malloc'd; NULL: out of memory). */
char *json_quote(const char *s);
/* Passphrase for a key: PROV_PASSPHRASE, else a prompt on the terminal
 * (twice when confirm).  NULL when none can be had (message printed). */
char *get_passphrase(const char *prompt, int confirm, const char *env);
void free_passphrase(char *p);
/* A key on a PKCS#11 token (uri: "pkcs11:..."); its PIN from the URI,
 * PROV_PKCS11_PIN, or a prompt.  Prints the error; 0 or EXIT_ERROR. */
int token_open(prov_ctx *ctx, const char *uri, prov_pkcs11_key **out);
static inline int is_token_uri(const char *s) { return s && !strncmp(s, "pkcs11:", 7); }
/* printf arguments for "%.*s": a URI without its query (pin-value= is
 * never printed). */
#define URI_SHOWN(u) (int)strcspn((u), "?"), (u)
/* Is a wants-help flag among argv? */
int wants_help(int argc, char **argv);
/* Write len bytes to path: a temporary file beside it, synced, renamed
 * into place.  Prints the error; 0 or EXIT_ERROR. */
int write_text(const char *path, const char *text, size_t len, mode_t mode);

/* A progress bar on stderr, shown only on a terminal and after a second. */
typedef struct progress {
    const char *label;
    double start;
    int tty, shown;
} progress;
void progress_start(progress *p, const char *label);
void progress_cb(void *user, uint64_t done, uint64_t total);
void progress_end(progress *p);
/* A bar of files done out of total (batches). */
void progress_files(progress *p, uint64_t done, uint64_t total);
/* Files done so far (bulk work; no total known while folders are walked). */
void progress_count(progress *p, uint64_t files, uint64_t skipped);

/* Media details as a JSON object (malloc'd), or NULL when FFmpeg cannot
 * read the file. */
char *media_json(const char *path);

int cmd_ca(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_certify(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_registry(int argc, char **argv);
int cmd_register(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_fingerprint(int argc, char **argv);

#endif
