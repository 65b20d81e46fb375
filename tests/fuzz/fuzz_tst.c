/* fuzz_tst.c - libFuzzer harness for RFC 3161 tokens (lib/tst.c).
 *
 * The input is a time-stamp token (or a whole TimeStampResp) checked
 * against a fixed message, with no anchors, with one fixed TSA root, and
 * without its chain.  Never a crash; a result among the documented ones;
 * TRUSTED only with a time; and with no anchors at all (system bundle
 * off), never TRUSTED. */
#include "x509.h"

#include <string.h>

#include "fuzz_check.h"

static const uint8_t MSG[] = "prov fuzz_tst message";

static prov_trust *none(void)
{
    static prov_trust *t;
    if (!t) {
        CHECK(prov_trust_new(&t) == 0);
        prov_trust_system_tsa(t, 0);
    }
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t when = -1;
    char tsa[64], why[128];
    int rc = prov_tst_check(none(), data, size, MSG, sizeof MSG, &when, tsa, sizeof tsa, why, sizeof why);
    CHECK(rc >= PROV_TST_TRUSTED && rc <= PROV_TST_OUTSIDE);
    CHECK(rc != PROV_TST_TRUSTED); /* nothing can chain to no anchor */
    CHECK(memchr(tsa, 0, sizeof tsa) && memchr(why, 0, sizeof why));
    when = -1;
    rc = prov_tst_check_nochain(data, size, MSG, sizeof MSG, &when);
    CHECK(rc >= PROV_TST_TRUSTED && rc <= PROV_TST_OUTSIDE);
    if (rc == PROV_TST_TRUSTED) CHECK(when != -1);
    return 0;
}
