/* fuzz_cose.c - libFuzzer harness for COSE_Sign1 parsing and verification.
 *
 * The input is a COSE_Sign1 (what a manifest's c2pa.signature box holds).
 * cose_parse must accept it or say why; what it accepts must point inside
 * the input, and then cose_verify runs against a fixed detached payload
 * (and an empty one), and the certificate checks the verifier makes run
 * on its x5chain: subject summary, signing-certificate profile, chain
 * building (with no anchors, and with one fixed root), and the time-stamp
 * token.  Failing
 * signatures are expected; crashes and broken invariants are not. */
#include "cose.h"
#include "x509.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"

/* The payload the seed fuzz_cose/ed25519-valid signs. */
static const char PAYLOAD[] = "prov fuzz_cose fixed payload";

/* The root ("Fuzz CA") that the seeds' chains lead to: with an anchor the
 * chain is really built and checked. */
static const char ROOT_PEM[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBIzCB1qADAgECAhBX9M9N9jhhrbd5aMDhyZq9MAUGAytlcDASMRAwDgYDVQQD\n"
    "DAdGdXp6IENBMB4XDTI2MTEyMzA4MTQ1MFoXDTM2MTEyMDA5MTQ1MFowEjEQMA4G\n"
    "A1UEAwwHRnV6eiBDQTAqMAUGAytlcAMhAGWXxL4+1XHCeZFJsrocI0PNptX7MP8J\n"
    "+4kOtajo+er0o0IwQDAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIBBjAd\n"
    "BgNVHQ4EFgQUwUdZ+Kt5/LHKnm2DdlFSVOlFTVYwBQYDK2VwA0EAYwVcfVXll9EM\n"
    "7KWBLS5gK/+4VnvfB9VRo6BrNejlx+4PIcv0xH43ooKk9MJu96oAGVlfgk4jNH96\n"
    "V5nhVwI/Ag==\n"
    "-----END CERTIFICATE-----\n";

static prov_trust *trust(void)
{
    static prov_trust *t;
    static int done;
    if (!done) {
        done = 1;
        if (prov_trust_new(&t) == 0 && prov_trust_add_pem(NULL, t, ROOT_PEM, sizeof ROOT_PEM - 1)) {
            prov_trust_free(t);
            t = NULL;
        }
        CHECK(t);
    }
    return t;
}

static const uint8_t *g_data;
static size_t g_size;

static int inside(const void *p, size_t n)
{
    const uint8_t *q = p;
    return q >= g_data && n <= g_size && (size_t)(q - g_data) <= g_size - n;
}

static int bounded_str(const char *s, size_t cap) { return memchr(s, 0, cap) != NULL; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_data = data;
    g_size = size;
    cose_sign1 c;
    const char *why = NULL;
    int rc = cose_parse(data, size, &c, &why);
    if (rc) {
        CHECK(rc == PROV_EFORMAT || rc == PROV_ELIMIT);
        CHECK(why && *why);
        return 0;
    }
    CHECK(inside(c.prot, c.prot_len) && c.prot_len > 0);
    CHECK(c.ncerts >= 1 && c.ncerts <= PROV_MAX_CHAIN);
    for (size_t i = 0; i < c.ncerts; i++) CHECK(inside(c.certs[i], c.cert_len[i]));
    CHECK(c.sig_len == 0 || inside(c.sig, c.sig_len));
    if (c.tst) CHECK(inside(c.tst, c.tst_len));
    const char *name = cose_alg_name(c.alg);
    CHECK(name && *name);

    rc = cose_verify(&c, (const uint8_t *)PAYLOAD, sizeof PAYLOAD - 1);
    CHECK(rc == 0 || rc == 1 || rc == PROV_EUNSUPPORTED || rc == PROV_ECERT || rc == PROV_ECRYPTO ||
          rc == PROV_ENOMEM);
    if (rc == 0) CHECK(strcmp(name, "unknown") != 0); /* only a known algorithm verifies */
    rc = cose_verify(&c, NULL, 0);
    CHECK(rc == 0 || rc == 1 || rc == PROV_EUNSUPPORTED || rc == PROV_ECERT || rc == PROV_ECRYPTO ||
          rc == PROV_ENOMEM);

    /* what the verifier and prov inspect do with the chain */
    char cn[64], org[64], iss[64], why2[128];
    for (size_t i = 0; i < c.ncerts && i < 4; i++) {
        rc = prov_x509_subject_summary(c.certs[i], c.cert_len[i], cn, sizeof cn, org, sizeof org, iss,
                                       sizeof iss);
        CHECK(rc == 0 || rc == PROV_ECERT);
        if (rc == 0) CHECK(bounded_str(cn, sizeof cn) && bounded_str(org, sizeof org) && bounded_str(iss, sizeof iss));
    }
    int64_t at = 0;
    if (c.tst) { /* the token against the bytes it must cover, both versions */
        for (int v = 1; v <= 2; v++) {
            pbuf msg;
            pbuf_init(&msg);
            cose_tst_message(&c, v, (const uint8_t *)PAYLOAD, sizeof PAYLOAD - 1, &msg);
            char tsa[64];
            int64_t t = 0;
            rc = msg.err ? PROV_TST_MALFORMED
                         : prov_tst_check(trust(), c.tst, c.tst_len, msg.p, msg.len, &t, tsa, sizeof tsa, why2, sizeof why2);
            CHECK(rc >= PROV_TST_TRUSTED && rc <= PROV_TST_OUTSIDE);
            CHECK(bounded_str(why2, sizeof why2) && bounded_str(tsa, sizeof tsa));
            CHECK(strncmp(prov_tst_code(rc), "timeStamp.", 10) == 0);
            if (rc == PROV_TST_TRUSTED) at = t;
            pbuf_free(&msg);
        }
    }
    why2[0] = 0;
    rc = prov_x509_check_profile(trust(), c.certs[0], c.cert_len[0], at, why2, sizeof why2);
    CHECK(rc == 0 || rc == 1 || rc == 2 || rc == PROV_ECERT);
    CHECK(bounded_str(why2, sizeof why2));
    rc = prov_x509_chain_trusted(NULL, c.certs, c.cert_len, c.ncerts, at, why2, sizeof why2);
    CHECK(rc == 1); /* no anchors: never trusted */
    rc = prov_x509_chain_trusted(trust(), c.certs, c.cert_len, c.ncerts, at, why2, sizeof why2);
    CHECK(rc == 0 || rc == 1 || rc == PROV_ECERT || rc == PROV_ECRYPTO || rc == PROV_ENOMEM);
    CHECK(bounded_str(why2, sizeof why2));
    return 0;
}
