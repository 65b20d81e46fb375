/* error.c - error codes, contexts and the version. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *prov_version(void) { return PROV_VERSION_STRING; }

const char *prov_strerror(int code)
{
    switch (code) {
    case PROV_OK: return "success";
    case PROV_EINVAL: return "invalid argument";
    case PROV_ENOMEM: return "out of memory";
    case PROV_EIO: return "input/output error";
    case PROV_EFORMAT: return "malformed input";
    case PROV_ELIMIT: return "input exceeds a limit";
    case PROV_ENOTFOUND: return "not found";
    case PROV_EUNSUPPORTED: return "unsupported format or algorithm";
    case PROV_ECRYPTO: return "cryptographic failure";
    case PROV_EPASSPHRASE: return "wrong passphrase or corrupt key";
    case PROV_ESIGNER: return "signer failed";
    case PROV_EEXIST: return "file exists";
    case PROV_ECERT: return "certificate error";
    case PROV_ETIMESTAMP: return "time-stamp authority failed";
    default: return "unknown error";
    }
}

int prov_ctx_new(prov_ctx **out)
{
    if (!out) return PROV_EINVAL;
    *out = calloc(1, sizeof **out);
    return *out ? 0 : PROV_ENOMEM;
}

void prov_ctx_free(prov_ctx *ctx) { free(ctx); }

const char *prov_errmsg(const prov_ctx *ctx) { return ctx ? ctx->msg : ""; }

int prov_seterr(prov_ctx *ctx, int code, const char *fmt, ...)
{
    if (ctx) {
        va_list ap;
        va_start(ap, fmt);
        char tmp[sizeof ctx->msg]; /* callers may pass ctx->msg itself as an argument */
        vsnprintf(tmp, sizeof tmp, fmt, ap);
        va_end(ap);
        memcpy(ctx->msg, tmp, sizeof tmp);
    }
    return code;
}

void prov_free(void *p) { free(p); }
