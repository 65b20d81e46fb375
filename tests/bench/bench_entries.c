/* bench_entries.c - how fast registry entries are checked (parse, both
 * signatures verified) when the applicant's key is Ed25519, ES256 or
 * ES384; the registrar's is Ed25519 in all three.  A mirror's cold sync
 * and the write server pay this per entry.  Ed25519 is the baseline, in
 * the same run.  usage: bench_entries [N] */
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    if (n < 1) n = 1;
    prov_key *reg;
    if (prov_key_generate(&reg)) return 1;
    const int algs[3] = {PROV_ALG_ED25519, PROV_ALG_ES256, PROV_ALG_ES384};
    const char *names[3] = {"Ed25519", "ES256", "ES384"};
    double base = 0;
    for (int a = 0; a < 3; a++) {
        prov_key *k;
        if (prov_key_generate_alg(algs[a], &k)) return 1;
        reg_entry e;
        memset(&e, 0, sizeof e);
        e.kind = REG_REGISTER;
        e.log = (reg_str){"bench.example/registry", 22};
        if (reg_pub_from_key(&e.key_pub, k)) return 1;
        memcpy(e.key, e.key_pub.id, 32);
        prov_key_public(reg, e.registrar);
        e.name = (reg_str){"Bench Signer", 12};
        e.checked_by = (reg_str){"in-person", 9};
        e.time = 1700000000;
        tlog_signer s[2];
        prov_signer ps[2];
        pbuf b;
        pbuf_init(&b);
        if (reg_signer_from_key(&s[0], &ps[0], k) || reg_signer_from_key(&s[1], &ps[1], reg) ||
            reg_entry_build(&b, &e, s, 2, NULL))
            return 1;
        double t0 = now();
        for (int i = 0; i < n; i++) {
            reg_entry p;
            if (reg_entry_parse(b.p, b.len, true, &p, NULL)) {
                fprintf(stderr, "bench_entries: a %s entry does not verify\n", names[a]);
                return 1;
            }
        }
        double per = (now() - t0) / n;
        if (a == 0) base = per;
        printf("  registry entry check, %-7s key       %8.1f us  %6.0f entries/s  %5.2fx Ed25519  (%zu bytes)\n",
               names[a], per * 1e6, 1 / per, per / base, b.len);
        pbuf_free(&b);
        prov_key_free(k);
    }
    prov_key_free(reg);
    return 0;
}
