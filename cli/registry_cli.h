/* registry_cli.h - what the registry commands share (cmd_registry.c,
 * cmd_registry_serve.c, cmd_registry_remote.c). */
#ifndef PROV_REGISTRY_CLI_H
#define PROV_REGISTRY_CLI_H

#include "cli.h"
#include "registry.h"

/* The registry's own keys share one passphrase, asked once. */
typedef struct opkeys {
    const char *dir;
    char *pass;
    int asked;
    prov_ctx *ctx;
} opkeys;

/* DIR/<name> (log.key, root.key, registrar.key), or NULL (message printed). */
prov_key *op_key(opkeys *o, const char *name);
/* A user's key file (PROV_PASSPHRASE or a prompt), or NULL (printed). */
prov_key *user_key(prov_ctx *ctx, const char *path);
/* The same, for a registrar's or flagger's key: Ed25519 only. */
prov_key *registrar_key(prov_ctx *ctx, const char *path);

/* A key that registers, rotates or is revoked: a key file (Ed25519,
 * ES256, ES384) or a token's key (a pkcs11: URI). */
typedef struct ukey {
    prov_key *key;
    prov_pkcs11_key *tok;
    prov_signer ps;
    reg_pub pub;
} ukey;
/* 0 or EXIT_ERROR (printed). */
int ukey_open(prov_ctx *ctx, const char *arg, ukey *k);
void ukey_close(ukey *k);
/* A note signer for k (k must outlive it).  0 or EXIT_ERROR (printed). */
int ukey_signer(ukey *k, tlog_signer *s);

/* The log: its key signs checkpoints, named by the origin in log.pub. */
typedef struct oplog {
    prov_key *key;
    prov_signer ps;
    tlog_signer signer;
    reg_log *log;
} oplog;
/* Load DIR/log.key into L's signer (not opening the log).  0 or EXIT_ERROR. */
int log_signer(oplog *L, opkeys *o);
void close_log(oplog *L);

/* KEY.pub beside a key file, unless there is one ("ed25519 <b64>", or
 * PEM for an ECDSA key). */
int write_pub(const char *keypath, const reg_pub *k);

/* --key: a .pub file, a key text, or (when priv is not NULL) a private
 * key file, loaded into *priv.  0 or EXIT_ERROR (printed). */
int key_arg(prov_ctx *ctx, const char *keyarg, reg_pub *pk, prov_key **priv);
/* A revoke or flag entry's common fields (time now; effective eff, or now
 * when eff < 0). */
void revoke_flag_entry(reg_entry *e, reg_kind kind, const char *reason, long long eff);

/* Is this --registry / DIR argument a URL? */
int reg_is_url(const char *s);

/* The registry commands over a URL (cmd_registry_remote.c). */
int reg_remote_register(const char *url, const char *outp, ukey *uk, const reg_entry *e,
                        const char *registrar_sel, int wait_s, int no_wait, int again);
int reg_remote_revoke_flag(const char *url, reg_kind kind, const char *keyarg, const char *keyid,
                           const char *reason, long long eff, const char *media, const char *signer_key);
int reg_cmd_serve(int argc, char **argv);
int reg_cmd_pending(int argc, char **argv);
int reg_cmd_approve(int argc, char **argv);

#endif
