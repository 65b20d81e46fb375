/* mkregistry.c - a bench-only generator: a registry folder of N register
 * entries written straight to tiles (no sequencer, no journal), each entry
 * a real one (signed by its key and the registrar, as the state rules
 * want), on all CPUs.  Keys come from seeds (mirror_fixture.h), so
 * bench_lookup can find user i again.
 * usage: mkregistry DIR N */
#include "../unit/mirror_fixture.h"

#include <pthread.h>
#include <unistd.h>

static uint64_t total;
static pbuf *ents;
static tlog_signer reg;

typedef struct job { uint64_t from, to; int rc; } job;

static void *make(void *arg)
{
    job *j = arg;
    for (uint64_t i = j->from; i < j->to && !j->rc; i++) {
        tlog_signer s[2];
        if ((j->rc = mf_user(i, &s[0]))) break;
        s[1] = reg;
        reg_entry e;
        memset(&e, 0, sizeof e);
        e.kind = REG_REGISTER;
        memcpy(e.key, s[0].pub, 32);
        memcpy(e.registrar, reg.pub, 32);
        char name[64];
        snprintf(name, sizeof name, "user %llu", (unsigned long long)i);
        e.name = (reg_str){name, strlen(name)};
        e.org = (reg_str){"Daily News", 10};
        e.checked_by = (reg_str){"in-person", 9};
        e.time = 1700000000 + i;
        pbuf_init(&ents[i]);
        j->rc = reg_entry_build(&ents[i], &e, s, 2, NULL);
    }
    return NULL;
}

static int put(const char *dir, const char *rel, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    for (char *s = path + strlen(dir) + 1; *s; s++)
        if (*s == '/') { *s = 0; mkdir(path, 0755); *s = '/'; }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n) return -1;
    return fclose(f);
}

int main(int argc, char **argv)
{
    if (argc != 3) { fprintf(stderr, "usage: mkregistry DIR N\n"); return 2; }
    const char *dir = argv[1];
    total = strtoull(argv[2], NULL, 10);
    mf_log g;
    /* the log key, registrar and policy as the tests make them */
    if (mf_open(&g, dir, 1, true)) { fprintf(stderr, "%s: cannot make\n", dir); return 1; }
    reg = g.reg;
    mf_close(&g);
    ents = calloc(total ? total : 1, sizeof *ents);
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nt = nc < 1 ? 1 : nc > 16 ? 16 : (size_t)nc;
    pthread_t th[16];
    job jobs[16];
    for (size_t t = 0; t < nt; t++) {
        jobs[t] = (job){total * t / nt, total * (t + 1) / nt, 0};
        pthread_create(&th[t], NULL, make, &jobs[t]);
    }
    for (size_t t = 0; t < nt; t++) {
        pthread_join(th[t], NULL);
        if (jobs[t].rc) { fprintf(stderr, "entry build failed\n"); return 1; }
    }
    tlog_memtree tree;
    tlog_memtree_init(&tree);
    for (uint64_t i = 0; i < total; i++) {
        uint8_t leaf[32];
        tlog_leaf_hash(ents[i].p, ents[i].len, leaf);
        if (tlog_memtree_append(&tree, leaf)) return 1;
    }
    char path[TLOG_TILE_PATH_MAX];
    pbuf b;
    pbuf_init(&b);
    for (int L = -1; L < 8; L++) {
        unsigned h = L < 0 ? 0 : 8u * (unsigned)L;
        uint64_t n = total >> h;
        if (!n) break;
        for (uint64_t N = 0; N * TLOG_TILE_WIDTH < n; N++) {
            tlog_tile t = {L < 0 ? TLOG_ENTRIES : L, N, tlog_tile_width(L < 0 ? 0 : L, N, total)};
            tlog_tile_path(path, sizeof path, &t);
            if (L < 0) {
                b.len = 0;
                for (uint64_t i = N * TLOG_TILE_WIDTH; i < N * TLOG_TILE_WIDTH + t.width; i++)
                    tlog_bundle_put(&b, ents[i].p, ents[i].len);
                if (b.err || put(dir, path, b.p, b.len)) return 1;
            } else if (put(dir, path, tree.lv[h] + N * TLOG_TILE_BYTES, (size_t)t.width * 32)) {
                return 1;
            }
        }
    }
    uint8_t root[32];
    tlog_hashsrc hs = tlog_memtree_hashsrc(&tree);
    pbuf cp;
    pbuf_init(&cp);
    if (tlog_tree_hash(&hs, total, root) || tlog_checkpoint_sign(&cp, &g.log, MF_ORIGIN, total, root, NULL, 0, NULL) ||
        put(dir, "checkpoint", cp.p, cp.len))
        return 1;
    printf("%s: %llu entries\n", dir, (unsigned long long)total);
    return 0;
}
