/* fuzz_witness.c - libFuzzer harness for the tlog-witness request parser
 * and its state machine (witness_handle, without HTTP).
 *
 * Input byte 0 picks the mode: even, the rest is a raw request body; odd,
 * a well-signed checkpoint (fixed log key; size and root from the input)
 * is built after "old <N>" and proof lines taken from the input, so the
 * fuzzer reaches the consistency check and the state.  Invariants: only
 * the documented statuses; a 200 reply is one cosignature line that
 * verifies with the witness's key. */
#include "fuzz_check.h"
#include "mirror.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static witness *w;
static tlog_signer s_log, s_w;
static tlog_verifier v_log, v_w;

static char state[64];

/* the witness's state folder goes at exit */
static void cleanup(void)
{
    DIR *d = opendir(state);
    struct dirent *e;
    char p[400];
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') snprintf(p, sizeof p, "%s/%s", state, e->d_name), unlink(p);
    if (d) closedir(d);
    rmdir(state);
}

static void init(void)
{
    if (w) return;
    uint8_t seed[32] = {1, 2, 3};
    CHECK(!tlog_signer_from_seed(&s_log, "example.com/log", TLOG_ALG_ED25519, seed));
    seed[0] = 9;
    CHECK(!tlog_signer_from_seed(&s_w, "witness.example/w", TLOG_ALG_COSIG, seed));
    tlog_signer_verifier(&s_log, &v_log);
    tlog_signer_verifier(&s_w, &v_w);
    snprintf(state, sizeof state, "/tmp/fuzz_witness.XXXXXX");
    CHECK(mkdtemp(state) != NULL);
    atexit(cleanup);
    witness_log wl = {v_log};
    CHECK(!witness_new(&w, state, &s_w, &wl, 1, NULL));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    if (!size) return 0;
    pbuf body, out;
    pbuf_init(&body), pbuf_init(&out);
    if (data[0] & 1) {
        uint64_t old = 0, sz = 0;
        uint8_t root[32] = {0};
        size_t off = 1;
        if (size >= off + 2) old = data[off] % 8, sz = data[off + 1] % 16, off += 2;
        if (size >= off + 32) memcpy(root, data + off, 32), off += 32;
        pbuf_printf(&body, "old %llu\n", (unsigned long long)old);
        for (; off + 32 <= size && off < 1 + 2 + 32 + 32 * 8; off += 32) {
            tlog_b64_encode(&body, data + off, 32);
            pbuf_putc(&body, '\n');
        }
        pbuf_putc(&body, '\n');
        CHECK(!tlog_checkpoint_sign(&body, &s_log, s_log.name, sz, root, NULL, 0, NULL));
    } else {
        pbuf_put(&body, data + 1, size - 1);
    }
    unsigned status = 0;
    int rc = witness_handle(w, body.p ? body.p : (const uint8_t *)"", body.len, &status, &out, NULL);
    CHECK(rc == 0 || rc == PROV_EIO || rc == PROV_ENOMEM);
    if (rc == 0) {
        CHECK(status == 200 || status == 400 || status == 403 || status == 404 || status == 409 || status == 422);
        if (status == 200) {
            /* the checkpoint with the reply appended opens with the witness */
            size_t cut = 0;
            for (size_t i = 0; i + 1 < body.len; i++)
                if (body.p[i] == '\n' && body.p[i + 1] == '\n') { cut = i + 2; break; }
            pbuf n;
            pbuf_init(&n);
            pbuf_put(&n, body.p + cut, body.len - cut);
            pbuf_put(&n, out.p, out.len);
            tlog_note *note = malloc(sizeof *note);
            tlog_checkpoint cp;
            CHECK(note && !tlog_checkpoint_open(n.p, n.len, s_log.name, &v_log, &v_w, 1, note, &cp, NULL));
            CHECK(tlog_note_count_by(note, &v_w, 1) == 1);
            free(note);
            pbuf_free(&n);
        }
    }
    pbuf_free(&body), pbuf_free(&out);
    return 0;
}
