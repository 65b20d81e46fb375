/* merkle.c - RFC 9162 Merkle trees: hashing, proof verification, proof
 * generation from any hash source, and an in-memory tree.  See tlog.h.
 *
 * Verification is the hot path (a platform checks many proofs), so node
 * hashing reuses one EVP context per thread with SHA-256 fetched once:
 * EVP_Digest() fetches and allocates on every call and is three times
 * slower on 65-byte inputs. */
#include "tlog.h"

#include "hash.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- hashing --------------------------------------------------------- */

static EVP_MD *g_md;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_key;
static bool g_key_ok;
static _Thread_local EVP_MD_CTX *tl_ctx;

static void free_ctx(void *p) { EVP_MD_CTX_free(p); }

static void md_init(void)
{
    g_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    g_key_ok = pthread_key_create(&g_key, free_ctx) == 0;
}

/* This thread's context (freed at thread exit), or NULL. */
static EVP_MD_CTX *hctx(void)
{
    if (tl_ctx) return tl_ctx;
    pthread_once(&g_once, md_init);
    if (!g_md || !g_key_ok) return NULL;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c) return NULL;
    if (pthread_setspecific(g_key, c)) {
        EVP_MD_CTX_free(c);
        return NULL;
    }
    return tl_ctx = c;
}

/* SHA-256(prefix || a || b). */
static void hash3(uint8_t prefix, const void *a, size_t an, const void *b, size_t bn,
                  uint8_t out[32])
{
    EVP_MD_CTX *c = hctx();
    unsigned int len;
    if (c && EVP_DigestInit_ex2(c, g_md, NULL) && EVP_DigestUpdate(c, &prefix, 1) &&
        (!an || EVP_DigestUpdate(c, a, an)) && (!bn || EVP_DigestUpdate(c, b, bn)) &&
        EVP_DigestFinal_ex(c, out, &len))
        return;
    /* fallback (no context): one buffer through hash.c */
    size_t n = 1 + an + bn;
    uint8_t stack[65], *m = n <= sizeof stack ? stack : malloc(n);
    if (!m) {
        memset(out, 0, 32); /* cannot happen short of OOM; never matches a real root */
        return;
    }
    m[0] = prefix;
    if (an) memcpy(m + 1, a, an);
    if (bn) memcpy(m + 1 + an, b, bn);
    sha256(m, n, out);
    if (m != stack) free(m);
}

void tlog_leaf_hash(const void *data, size_t n, uint8_t out[32])
{
    hash3(0x00, data, n, NULL, 0, out);
}

void tlog_node_hash(const uint8_t left[32], const uint8_t right[32], uint8_t out[32])
{
    uint8_t m[65]; /* one update of 65 bytes; and out may alias left or right */
    m[0] = 0x01;
    memcpy(m + 1, left, 32);
    memcpy(m + 33, right, 32);
    EVP_MD_CTX *c = hctx();
    unsigned int len;
    if (c && EVP_DigestInit_ex2(c, g_md, NULL) && EVP_DigestUpdate(c, m, sizeof m) &&
        EVP_DigestFinal_ex(c, out, &len))
        return;
    sha256(m, sizeof m, out);
}

void tlog_empty_root(uint8_t out[32]) { sha256("", 0, out); }

static int bitlen(uint64_t x) { return x ? 64 - __builtin_clzll(x) : 0; }

/* Largest power of two < n, for n >= 2. */
static uint64_t split_point(uint64_t n) { return (uint64_t)1 << (bitlen(n - 1) - 1); }

static void hashes_root_rec(const uint8_t *h, size_t n, uint8_t out[32])
{
    if (n == 1) {
        memcpy(out, h, 32);
        return;
    }
    size_t k = (size_t)split_point(n);
    uint8_t l[32], r[32];
    hashes_root_rec(h, k, l);
    hashes_root_rec(h + 32 * k, n - k, r);
    tlog_node_hash(l, r, out);
}

int tlog_hashes_root(const uint8_t *hashes, size_t n, uint8_t out[32])
{
    if (!hashes || n == 0) return PROV_EINVAL;
    hashes_root_rec(hashes, n, out);
    return 0;
}

/* ---- verification (transparency-dev/merkle proof.Verify*) ------------- */

static void decomp(uint64_t index, uint64_t size, int *inner, int *border)
{
    *inner = bitlen(index ^ (size - 1));
    *border = *inner >= 64 ? 0 : __builtin_popcountll(index >> *inner);
}

size_t tlog_inclusion_len(uint64_t index, uint64_t size)
{
    if (index >= size) return 0;
    int inner, border;
    decomp(index, size, &inner, &border);
    return (size_t)(inner + border);
}

int tlog_inclusion_root(uint64_t index, uint64_t size, const uint8_t leaf[32],
                        const uint8_t *proof, size_t n, uint8_t root[32])
{
    if (!leaf || !root || (!proof && n)) return PROV_EINVAL;
    if (index >= size) return PROV_EFORMAT;
    int inner, border;
    decomp(index, size, &inner, &border);
    if (n != (size_t)(inner + border)) return PROV_EFORMAT;
    uint8_t h[32];
    memcpy(h, leaf, 32);
    for (int i = 0; i < inner; i++) {
        const uint8_t *p = proof + 32 * (size_t)i;
        if (index >> i & 1) tlog_node_hash(p, h, h);
        else tlog_node_hash(h, p, h);
    }
    for (size_t i = (size_t)inner; i < n; i++) tlog_node_hash(proof + 32 * i, h, h);
    memcpy(root, h, 32);
    return 0;
}

int tlog_verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf[32],
                          const uint8_t *proof, size_t n, const uint8_t root[32])
{
    uint8_t got[32];
    if (!root) return PROV_EINVAL;
    int rc = tlog_inclusion_root(index, size, leaf, proof, n, got);
    if (rc) return rc;
    return memcmp(got, root, 32) ? TLOG_EVERIFY : 0;
}

size_t tlog_consistency_len(uint64_t size1, uint64_t size2)
{
    if (size1 == 0 || size1 >= size2) return 0;
    int inner, border;
    decomp(size1 - 1, size2, &inner, &border);
    int shift = __builtin_ctzll(size1);
    inner -= shift;
    int start = size1 == (uint64_t)1 << shift ? 0 : 1;
    return (size_t)(start + inner + border);
}

int tlog_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t *proof, size_t n,
                            const uint8_t root1[32], const uint8_t root2[32])
{
    if (!root1 || !root2 || (!proof && n)) return PROV_EINVAL;
    /* size1 == 0 first: there is nothing to prove about the empty tree,
     * even against itself (the vectors' reference rule) */
    if (size2 < size1 || size1 == 0) return PROV_EFORMAT;
    if (size1 == size2) {
        if (n) return PROV_EFORMAT;
        return memcmp(root1, root2, 32) ? TLOG_EVERIFY : 0;
    }
    if (n == 0) return PROV_EFORMAT;
    int inner, border;
    decomp(size1 - 1, size2, &inner, &border);
    int shift = __builtin_ctzll(size1);
    inner -= shift; /* shift < inner since size1 < size2 */
    const uint8_t *seed = proof;
    size_t start = 1;
    if (size1 == (uint64_t)1 << shift) { /* size1 is the subtree itself */
        seed = root1;
        start = 0;
    }
    if (n != start + (size_t)inner + (size_t)border) return PROV_EFORMAT;
    const uint8_t *p = proof + 32 * start;
    uint64_t mask = (size1 - 1) >> shift;
    uint8_t h1[32], h2[32];
    memcpy(h1, seed, 32);
    memcpy(h2, seed, 32);
    for (int i = 0; i < inner; i++) {
        const uint8_t *q = p + 32 * (size_t)i;
        if (mask >> i & 1) {
            tlog_node_hash(q, h1, h1);
            tlog_node_hash(q, h2, h2);
        } else {
            tlog_node_hash(h2, q, h2);
        }
    }
    for (size_t i = (size_t)inner; i < n - start; i++) {
        tlog_node_hash(p + 32 * i, h1, h1);
        tlog_node_hash(p + 32 * i, h2, h2);
    }
    if (memcmp(h1, root1, 32)) return TLOG_EVERIFY;
    return memcmp(h2, root2, 32) ? TLOG_EVERIFY : 0;
}

/* ---- proof generation ------------------------------------------------- */

/* MTH(D[off, off + n)), n >= 1, off aligned to the power of two >= n:
 * the shape every range in RFC 9162's recursions has.  Reads one hash per
 * set bit of n. */
static int range_hash(const tlog_hashsrc *src, uint64_t off, uint64_t n, uint8_t out[32])
{
    if (n == 0) return PROV_EINVAL;
    if ((n & (n - 1)) == 0) {
        int level = __builtin_ctzll(n);
        if (off & (n - 1)) return PROV_EINVAL;
        return src->get(src->user, (unsigned)level, off >> level, out);
    }
    uint64_t k = split_point(n);
    uint8_t l[32], r[32];
    int rc = range_hash(src, off, k, l);
    if (!rc) rc = range_hash(src, off + k, n - k, r);
    if (!rc) tlog_node_hash(l, r, out);
    return rc;
}

int tlog_tree_hash(const tlog_hashsrc *src, uint64_t size, uint8_t out[32])
{
    if (!out || (size && (!src || !src->get))) return PROV_EINVAL;
    if (size == 0) {
        tlog_empty_root(out);
        return 0;
    }
    return range_hash(src, 0, size, out);
}

int tlog_prove_inclusion(const tlog_hashsrc *src, uint64_t index, uint64_t size,
                         uint8_t *proof, size_t *n)
{
    if (n) *n = 0;
    if (!src || !src->get || !proof || !n || index >= size) return PROV_EINVAL;
    /* PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) or PATH(m-k, D[k:n]) :
     * MTH(D[0:k]): siblings are found top-down and written bottom-up. */
    uint8_t top[64][32];
    size_t cnt = 0;
    uint64_t off = 0, len = size, m = index;
    int rc = 0;
    while (len > 1 && !rc) {
        uint64_t k = split_point(len);
        if (m < k) {
            rc = range_hash(src, off + k, len - k, top[cnt++]);
            len = k;
        } else {
            rc = range_hash(src, off, k, top[cnt++]);
            off += k;
            m -= k;
            len -= k;
        }
    }
    if (rc) return rc;
    for (size_t i = 0; i < cnt; i++) memcpy(proof + 32 * i, top[cnt - 1 - i], 32);
    *n = cnt;
    return 0;
}

int tlog_prove_consistency(const tlog_hashsrc *src, uint64_t size1, uint64_t size2,
                           uint8_t *proof, size_t *n)
{
    if (n) *n = 0;
    if (!src || !src->get || !proof || !n || size1 == 0 || size1 > size2) return PROV_EINVAL;
    /* SUBPROOF(m, D[n], b), RFC 9162 2.1.4.1, unrolled: the hashes
     * appended on the way down come out in reverse, after the base case. */
    uint8_t after[64][32], first[32];
    size_t cnt = 0;
    bool have_first = false, b = true;
    uint64_t off = 0, len = size2, m = size1;
    int rc = 0;
    for (;;) {
        if (m == len) {
            if (!b) {
                rc = range_hash(src, off, len, first);
                have_first = true;
            }
            break;
        }
        uint64_t k = split_point(len);
        if (m <= k) {
            rc = range_hash(src, off + k, len - k, after[cnt++]);
            len = k;
        } else {
            rc = range_hash(src, off, k, after[cnt++]);
            off += k;
            m -= k;
            len -= k;
            b = false;
        }
        if (rc) break;
    }
    if (rc) return rc;
    size_t o = 0;
    if (have_first) memcpy(proof + 32 * o++, first, 32);
    for (size_t i = 0; i < cnt; i++) memcpy(proof + 32 * o++, after[cnt - 1 - i], 32);
    *n = o;
    return 0;
}

/* ---- the in-memory tree ------------------------------------------------ */

void tlog_memtree_init(tlog_memtree *t) { memset(t, 0, sizeof *t); }

void tlog_memtree_free(tlog_memtree *t)
{
    for (int l = 0; l < 64; l++) free(t->lv[l]);
    memset(t, 0, sizeof *t);
}

static int lv_push(tlog_memtree *t, int l, uint64_t idx, const uint8_t h[32])
{
    if (idx >= t->cap[l]) {
        size_t cap = t->cap[l] ? t->cap[l] * 2 : 64;
        if (cap > SIZE_MAX / 32 || cap <= idx) return PROV_ENOMEM;
        uint8_t *p = realloc(t->lv[l], cap * 32);
        if (!p) return PROV_ENOMEM;
        t->lv[l] = p;
        t->cap[l] = cap;
    }
    memcpy(t->lv[l] + 32 * idx, h, 32);
    return 0;
}

int tlog_memtree_append(tlog_memtree *t, const uint8_t leaf[32])
{
    if (!t || !leaf || t->size == UINT64_MAX) return PROV_EINVAL;
    uint64_t s = t->size + 1;
    int rc = lv_push(t, 0, t->size, leaf);
    if (rc) return rc;
    /* every level whose count grows gets the hash of its last two below */
    for (int l = 0; l + 1 < 64 && (s >> (l + 1)) > (t->size >> (l + 1)); l++) {
        uint64_t j = (s >> (l + 1)) - 1;
        uint8_t h[32];
        tlog_node_hash(t->lv[l] + 64 * j, t->lv[l] + 64 * j + 32, h);
        if ((rc = lv_push(t, l + 1, j, h))) return rc; /* size unchanged: retry is safe */
    }
    t->size = s;
    return 0;
}

static int memtree_get(void *user, unsigned level, uint64_t index, uint8_t out[32])
{
    const tlog_memtree *t = user;
    if (level >= 64 || index >= (t->size >> level)) return PROV_ENOTFOUND;
    memcpy(out, t->lv[level] + 32 * index, 32);
    return 0;
}

tlog_hashsrc tlog_memtree_hashsrc(tlog_memtree *t) { return (tlog_hashsrc){memtree_get, t}; }
