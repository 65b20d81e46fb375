/* trust_opts.h - the trust options of the commands that verify (verify,
 * serve): --trust, --trust-config, --tsa-trust, --no-system-tsa, and the
 * registry's root when --registry names one. */
#ifndef PROV_TRUST_OPTS_H
#define PROV_TRUST_OPTS_H

#include "prov.h"

enum { OPT_TRUST_CONFIG = 0x301, OPT_TSA_TRUST, OPT_NO_SYSTEM_TSA };

#define TRUST_LONG_OPTIONS                                                                         \
    {"trust", required_argument, 0, 't'}, {"trust-config", required_argument, 0, OPT_TRUST_CONFIG}, \
        {"tsa-trust", required_argument, 0, OPT_TSA_TRUST}, {"no-system-tsa", no_argument, 0, OPT_NO_SYSTEM_TSA}

#define TRUST_USAGE                                                                                \
    "  --trust PEM   trust anchors (repeatable): issuers' root.pem files\n"                        \
    "  --trust-config FILE  trust anchors, allowed certificates, EKUs and\n"                       \
    "                time-stamp authorities in one file (docs/trust.md)\n"                         \
    "  --tsa-trust PEM  roots of time-stamp authorities (repeatable); a token's\n"                 \
    "                time is believed only when its TSA chains to one of these,\n"                 \
    "                to a --trust root or to the system CA bundle\n"                               \
    "  --no-system-tsa  do not use the system CA bundle for time-stamp authorities\n"

/* Handle one option letter: 1 it was a trust option (applied to t), 0 not
 * ours, -1 an error (printed). */
int trust_opt(prov_ctx *ctx, prov_trust *t, int c, const char *arg);
/* After the options: add the registry's root (when registry is set);
 * returns whether t holds anything to trust (1), 0 when it is empty, -1 on
 * an error (printed). */
int trust_finish(prov_ctx *ctx, prov_trust *t, const char *registry);

#endif
