/* registry_server.h - the registry's write server (libmicrohttpd, loaded
 * with dlopen: dl.h); internal.
 *
 * One process holds the log (reg_log_open: the writer's lock).  Worker
 * threads (MHD's thread pool) read a request, verify its signatures and
 * queue it; one sequencer thread takes what is queued every batch_ms (or
 * at batch_max entries), applies the state rules, journals the batch with
 * one fdatasync and signs the new checkpoint; then each request is
 * answered, with its index and a tlog-proof against that checkpoint.  The
 * tiles and the checkpoint are written when no submission waits, else at
 * most every publish_ms (a crash in between loses nothing: reopening the
 * log publishes what the journal holds, and Ed25519 being deterministic,
 * the same checkpoint).  Registration
 * requests waiting for a registrar are files DIR/pending/<id> (written
 * atomically, so a crash keeps or loses a request whole).  The endpoints:
 * docs/registry.md, "The write server". */
#ifndef PROV_REGISTRY_SERVER_H
#define PROV_REGISTRY_SERVER_H

#include "registry.h"

typedef struct reg_server_opts {
    const char *dir;
    const char *host; /* numeric IPv4, e.g. 127.0.0.1 */
    unsigned port;    /* 0: any free port (reg_server_port says which) */
    unsigned batch_ms;
    size_t batch_max;
    unsigned publish_ms; /* tiles and checkpoint written at most this often
                            while submissions keep coming (0: each batch) */
    unsigned threads;  /* worker threads (0: one per CPU) */
    unsigned timeout_s; /* idle connections are closed after this */
    const tlog_signer *log;  /* signs checkpoints (the log's key) */
    const prov_key *ca_key;  /* DIR/root.key: leaf certificates */
    int cert_days;
    /* Registration requests: an undecided one is deleted after
     * request_days (default 30), an accepted or refused one 7 days after
     * the decision; at most requests_per_addr (default 20) wait from one
     * client address (behind a loopback proxy, its X-Real-IP). */
    unsigned request_days, requests_per_addr;
    /* Witnesses (c2sp.org/tlog-witness) asked to cosign each checkpoint
     * before it is published; DIR/checkpoint carries the cosignatures
     * they gave.  One that fails or does not answer in witness_ms
     * (default 3000; per exchange, a 409 adds one retry) is logged on
     * stderr, left out of that checkpoint and not asked again for 10 s. */
    const char *const *witness_urls;
    const tlog_verifier *witness_keys; /* alg 0x04 or 0x01 (converted) */
    size_t nwitnesses;
    unsigned witness_ms;
} reg_server_opts;

typedef struct reg_server reg_server;

/* Open the log in o->dir and start serving.  The keys must outlive it. */
PROV_HIDDEN int reg_server_start(reg_server **out, const reg_server_opts *o, prov_ctx *ctx);
PROV_HIDDEN unsigned reg_server_port(const reg_server *s);
typedef struct reg_server_stats {
    uint64_t entries, batches, publishes; /* since start */
    double t_append, t_publish; /* seconds the sequencer spent appending
                                   (checks, journal, fdatasync, proofs) and
                                   publishing (tiles, checkpoint) */
    uint64_t cosigs_missing; /* witness cosignatures publishes went without */
} reg_server_stats;

/* Stop taking submissions, sequence and publish what is queued, answer
 * it, close the log; *st (may be NULL) gets the figures.  0, or the I/O
 * error that broke the log. */
PROV_HIDDEN int reg_server_stop(reg_server *s, reg_server_stats *st);

#endif
