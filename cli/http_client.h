/* http_client.h - small HTTP client over libcurl (dlopen'd: lib/dl.h) and
 * a reader for the flat JSON objects the registry server answers. */
#ifndef PROV_HTTP_CLIENT_H
#define PROV_HTTP_CLIENT_H

#include "registry.h"

/* method "GET" or "POST" (body, len); the answer's status in *status and
 * its body in out (at most max bytes: more is an error).  0, or
 * EXIT_ERROR with the message printed (cannot connect, timeout, ...). */
int http_call(const char *method, const char *url, const void *body, size_t len, long *status,
              pbuf *out, size_t max);
/* As http_call, with one more request header ("Name: value") when header
 * is not NULL. */
int http_call_h(const char *method, const char *url, const void *body, size_t len, const char *header,
                long *status, pbuf *out, size_t max);
/* base (a registry URL, with or without a trailing '/') + path. */
void http_url(char *out, size_t cap, const char *base, const char *path);

/* The string value of "key" in JSON text j[0..n) (the first, outside
 * strings), unescaped into a malloc'd string; NULL when absent. */
char *json_str(const char *j, size_t n, const char *key);
/* The number value of "key": 0, or -1 when absent. */
int json_u64(const char *j, size_t n, const char *key, uint64_t *v);

#endif
