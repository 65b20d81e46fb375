/* dl.c - load libcurl, libmicrohttpd and SQLite at run time (see dl.h). */
#include "dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* Open the first library that loads, bind every name into slots (in order).
 * Returns 0, or -1 with a reason. */
static int bind_all(const char *const *libs, const char *const *names, void **slots, size_t n,
                    char *why, size_t whylen)
{
    void *h = NULL;
    for (size_t i = 0; libs[i] && !h; i++) h = dlopen(libs[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(why, whylen, "cannot load %s (install it: see tools/install-deps.sh)", libs[0]);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        slots[i] = dlsym(h, names[i]);
        if (!slots[i]) {
            snprintf(why, whylen, "%s lacks %s", libs[0], names[i]);
            return -1;
        }
    }
    return 0; /* the handle stays open for the life of the process */
}

#define NAME_OF(ret, name, args) #name,
#define COUNT_OF(ret, name, args) +1

#define DEFINE_GETTER(fn, type, LIST, ...)                                                        \
    static type fn##_tab;                                                                          \
    static int fn##_state; /* 0 ok, -1 failed */                                               \
    static char fn##_why[160];                                                                     \
    static pthread_once_t fn##_once = PTHREAD_ONCE_INIT;                                           \
    static void fn##_init(void);                                                                   \
    const type *fn(char *err, size_t errlen)                                                       \
    {                                                                                              \
        pthread_once(&fn##_once, fn##_init);                                                       \
        if (fn##_state == 0) return &fn##_tab;                                                     \
        if (err && errlen) snprintf(err, errlen, "%s", fn##_why);                                \
        return NULL;                                                                               \
    }                                                                                              \
    static void fn##_init(void)                                                                    \
    {                                                                                              \
        static const char *const libs[] = {__VA_ARGS__, NULL};                                     \
        static const char *const names[] = {LIST(NAME_OF)};                                        \
        enum { N = 0 LIST(COUNT_OF) };                                                             \
        _Static_assert(sizeof(type) == N * sizeof(void *), "table layout");                       \
        fn##_state = bind_all(libs, names, (void **)&fn##_tab, N, fn##_why, sizeof fn##_why);    \
    }

DEFINE_GETTER(prov_curl_load, struct prov_curl_api, PROV_CURL_FUNCS, "libcurl.so.4", "libcurl-gnutls.so.4")
DEFINE_GETTER(prov_mhd, struct prov_mhd_api, PROV_MHD_FUNCS, "libmicrohttpd.so.12")
DEFINE_GETTER(prov_sqlite, struct prov_sqlite_api, PROV_SQLITE_FUNCS, "libsqlite3.so.0")

static pthread_once_t curl_global_once = PTHREAD_ONCE_INIT;
static int curl_global_rc;
static void curl_global(void)
{
    const struct prov_curl_api *c = prov_curl_load(NULL, 0);
    curl_global_rc = c && c->curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

const struct prov_curl_api *prov_curl(char *err, size_t errlen)
{
    const struct prov_curl_api *c = prov_curl_load(err, errlen);
    if (!c) return NULL;
    pthread_once(&curl_global_once, curl_global);
    if (curl_global_rc) {
        if (err && errlen) snprintf(err, errlen, "curl_global_init failed");
        return NULL;
    }
    return c;
}
