/* hash.c - SHA-2 via EVP; a streaming hasher with excluded ranges. */
#include "hash.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

void sha256(const void *p, size_t n, uint8_t out[32])
{
    unsigned int len = 32;
    EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

static const EVP_MD *md_for(const char *alg, size_t n)
{
    if (!alg) return EVP_sha256();
    if (n == 6 && !memcmp(alg, "sha256", 6)) return EVP_sha256();
    if (n == 6 && !memcmp(alg, "sha384", 6)) return EVP_sha384();
    if (n == 6 && !memcmp(alg, "sha512", 6)) return EVP_sha512();
    return NULL;
}

size_t hash_alg_len(const char *alg, size_t n)
{
    const EVP_MD *md = md_for(alg, n);
    return md ? (size_t)EVP_MD_get_size(md) : 0;
}

static int cmp_range(const void *a, const void *b)
{
    const xrange *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

int xhash_init(xhash *h, const char *alg, xrange *ex, size_t nex)
{
    memset(h, 0, sizeof *h);
    const EVP_MD *md = md_for(alg, alg ? strlen(alg) : 0);
    if (!md) return PROV_EUNSUPPORTED;
    if (nex > 1) qsort(ex, nex, sizeof *ex, cmp_range);
    for (size_t i = 0; i < nex; i++) {
        if (ex[i].len > UINT64_MAX - ex[i].start) return PROV_EFORMAT;
        if (i && ex[i].start < ex[i - 1].start + ex[i - 1].len) return PROV_EFORMAT;
    }
    h->md = EVP_MD_CTX_new();
    if (!h->md) return PROV_ENOMEM;
    if (!EVP_DigestInit_ex(h->md, md, NULL)) {
        xhash_free(h);
        return PROV_ECRYPTO;
    }
    h->ex = ex;
    h->nex = nex;
    return 0;
}

void xhash_feed(xhash *h, const uint8_t *p, size_t n)
{
    while (n) {
        /* skip ranges already behind us */
        while (h->next < h->nex && h->ex[h->next].start + h->ex[h->next].len <= h->off) h->next++;
        size_t take = n;
        if (h->next < h->nex) {
            const xrange *r = &h->ex[h->next];
            if (h->off >= r->start) { /* inside an exclusion: drop bytes */
                uint64_t left = r->start + r->len - h->off;
                size_t k = left < n ? (size_t)left : n;
                h->off += k;
                p += k;
                n -= k;
                continue;
            }
            if (r->start - h->off < take) take = (size_t)(r->start - h->off);
        }
        EVP_DigestUpdate(h->md, p, take);
        h->off += take;
        p += take;
        n -= take;
    }
}

size_t xhash_final(xhash *h, uint8_t *out)
{
    unsigned int len = 0;
    if (!h->md || !EVP_DigestFinal_ex(h->md, out, &len)) len = 0;
    return len;
}

void xhash_free(xhash *h)
{
    if (h->md) EVP_MD_CTX_free(h->md);
    h->md = NULL;
}
