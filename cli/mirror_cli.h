/* mirror_cli.h - the registry mirror and witness commands
 * (cmd_registry_sync.c, cmd_witness.c), used by cmd_registry.c. */
#ifndef PROV_MIRROR_CLI_H
#define PROV_MIRROR_CLI_H

#include "cli.h"
#include "mirror.h"

int cmd_registry_sync(int argc, char **argv);
int cmd_registry_witness(int argc, char **argv);
int cmd_registry_witness_request(int argc, char **argv);
/* A key argument: a file holding the key's text, or the text. */
int read_key_arg(const char *arg, char *out, size_t cap);
int parse_witness_args(char **args, size_t n, tlog_verifier *out);
/* Exit code for a library error: 1 for a failed check, else 2. */
int exit_for(int rc);
/* The mirror for lookup: src (a URL or folder, synced first; the first
 * sync takes the log key from PROV_REGISTRY_LOG_KEY) into path (NULL:
 * the default), or, with src NULL, the existing file path. */
int open_mirror_for_lookup(const char *src, const char *path, mirror **out, prov_ctx *ctx);

#endif
