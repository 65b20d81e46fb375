/* dl.h - libraries loaded at run time (dlopen), only by the commands that
 * need them.
 *
 * Linked outright, libcurl, libmicrohttpd and SQLite would load on every run
 * of every command and add ~3 ms to each (measured: a `prov verify` of a
 * 24 MP JPEG takes ~9 ms).  Their headers fix the ABI; the library of the
 * same major version is opened the first time a table is asked for.
 *
 * Each table is an X-macro list: X(return type, name, (parameters)).  To use
 * another function, add a line to its list; callers write prov_curl()->
 * curl_easy_init() etc.  A table getter returns NULL (and fills err) when the
 * library is missing or lacks a symbol. */
#ifndef PROV_DL_H
#define PROV_DL_H

#include <stddef.h>

/* curl.h otherwise makes curl_easy_setopt a macro, which the table cannot use */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <microhttpd.h>
#include <sqlite3.h>

#define PROV_CURL_FUNCS(X)                                                                        \
    X(CURLcode, curl_global_init, (long))                                                          \
    X(CURL *, curl_easy_init, (void))                                                              \
    X(CURLcode, curl_easy_setopt, (CURL *, CURLoption, ...))                                       \
    X(CURLcode, curl_easy_perform, (CURL *))                                                       \
    X(CURLcode, curl_easy_getinfo, (CURL *, CURLINFO, ...))                                        \
    X(void, curl_easy_cleanup, (CURL *))                                                           \
    X(void, curl_easy_reset, (CURL *))                                                             \
    X(const char *, curl_easy_strerror, (CURLcode))                                                \
    X(struct curl_slist *, curl_slist_append, (struct curl_slist *, const char *))                 \
    X(void, curl_slist_free_all, (struct curl_slist *))                                            \
    X(CURLM *, curl_multi_init, (void))                                                            \
    X(CURLMcode, curl_multi_setopt, (CURLM *, CURLMoption, ...))                                   \
    X(CURLMcode, curl_multi_add_handle, (CURLM *, CURL *))                                         \
    X(CURLMcode, curl_multi_remove_handle, (CURLM *, CURL *))                                      \
    X(CURLMcode, curl_multi_perform, (CURLM *, int *))                                             \
    X(CURLMcode, curl_multi_poll, (CURLM *, struct curl_waitfd *, unsigned int, int, int *))       \
    X(CURLMsg *, curl_multi_info_read, (CURLM *, int *))                                           \
    X(CURLMcode, curl_multi_cleanup, (CURLM *))                                                    \
    X(const char *, curl_multi_strerror, (CURLMcode))

#define PROV_MHD_FUNCS(X)                                                                         \
    X(struct MHD_Daemon *, MHD_start_daemon, (unsigned int, uint16_t, MHD_AcceptPolicyCallback,    \
                                              void *, MHD_AccessHandlerCallback, void *, ...))     \
    X(void, MHD_stop_daemon, (struct MHD_Daemon *))                                                \
    X(MHD_socket, MHD_quiesce_daemon, (struct MHD_Daemon *))                                       \
    X(const union MHD_DaemonInfo *, MHD_get_daemon_info,                                           \
      (struct MHD_Daemon *, enum MHD_DaemonInfoType, ...))                                         \
    X(struct MHD_Response *, MHD_create_response_from_buffer,                                      \
      (size_t, void *, enum MHD_ResponseMemoryMode))                                               \
    X(struct MHD_Response *, MHD_create_response_from_callback,                                    \
      (uint64_t, size_t, MHD_ContentReaderCallback, void *, MHD_ContentReaderFreeCallback))        \
    X(struct MHD_Response *, MHD_create_response_from_fd, (size_t, int))                           \
    X(enum MHD_Result, MHD_add_response_header, (struct MHD_Response *, const char *, const char *)) \
    X(enum MHD_Result, MHD_queue_response, (struct MHD_Connection *, unsigned int,                 \
                                           struct MHD_Response *))                                 \
    X(void, MHD_destroy_response, (struct MHD_Response *))                                         \
    X(const char *, MHD_lookup_connection_value, (struct MHD_Connection *, enum MHD_ValueKind,     \
                                                 const char *))                                    \
    X(int, MHD_get_connection_values, (struct MHD_Connection *, enum MHD_ValueKind,                \
                                       MHD_KeyValueIterator, void *))                              \
    X(const union MHD_ConnectionInfo *, MHD_get_connection_info,                                   \
      (struct MHD_Connection *, enum MHD_ConnectionInfoType, ...))                                 \
    X(enum MHD_Result, MHD_set_connection_option, (struct MHD_Connection *,                        \
                                                   enum MHD_CONNECTION_OPTION, ...))               \
    X(void, MHD_suspend_connection, (struct MHD_Connection *))                                     \
    X(void, MHD_resume_connection, (struct MHD_Connection *))                                      \
    X(enum MHD_Result, MHD_is_feature_supported, (enum MHD_FEATURE))

#define PROV_SQLITE_FUNCS(X)                                                                      \
    X(int, sqlite3_open_v2, (const char *, sqlite3 **, int, const char *))                         \
    X(int, sqlite3_close_v2, (sqlite3 *))                                                          \
    X(int, sqlite3_exec, (sqlite3 *, const char *, int (*)(void *, int, char **, char **), void *, \
                          char **))                                                                \
    X(int, sqlite3_prepare_v2, (sqlite3 *, const char *, int, sqlite3_stmt **, const char **))     \
    X(int, sqlite3_step, (sqlite3_stmt *))                                                         \
    X(int, sqlite3_reset, (sqlite3_stmt *))                                                        \
    X(int, sqlite3_clear_bindings, (sqlite3_stmt *))                                               \
    X(int, sqlite3_finalize, (sqlite3_stmt *))                                                     \
    X(int, sqlite3_bind_int, (sqlite3_stmt *, int, int))                                           \
    X(int, sqlite3_bind_int64, (sqlite3_stmt *, int, sqlite3_int64))                               \
    X(int, sqlite3_bind_text, (sqlite3_stmt *, int, const char *, int, void (*)(void *)))          \
    X(int, sqlite3_bind_blob, (sqlite3_stmt *, int, const void *, int, void (*)(void *)))          \
    X(int, sqlite3_bind_null, (sqlite3_stmt *, int))                                               \
    X(int, sqlite3_column_count, (sqlite3_stmt *))                                                 \
    X(int, sqlite3_column_type, (sqlite3_stmt *, int))                                             \
    X(int, sqlite3_column_int, (sqlite3_stmt *, int))                                              \
    X(sqlite3_int64, sqlite3_column_int64, (sqlite3_stmt *, int))                                  \
    X(const unsigned char *, sqlite3_column_text, (sqlite3_stmt *, int))                           \
    X(const void *, sqlite3_column_blob, (sqlite3_stmt *, int))                                    \
    X(int, sqlite3_column_bytes, (sqlite3_stmt *, int))                                            \
    X(int, sqlite3_changes, (sqlite3 *))                                                           \
    X(sqlite3_int64, sqlite3_last_insert_rowid, (sqlite3 *))                                       \
    X(int, sqlite3_busy_timeout, (sqlite3 *, int))                                                 \
    X(const char *, sqlite3_errmsg, (sqlite3 *))                                                   \
    X(const char *, sqlite3_errstr, (int))                                                         \
    X(int, sqlite3_errcode, (sqlite3 *))                                                           \
    X(int, sqlite3_extended_errcode, (sqlite3 *))                                                  \
    X(void, sqlite3_free, (void *))                                                                \
    X(int, sqlite3_threadsafe, (void))

#define PROV_DL_FIELD(ret, name, args) ret(*name) args;
struct prov_curl_api {
    PROV_CURL_FUNCS(PROV_DL_FIELD)
};
struct prov_mhd_api {
    PROV_MHD_FUNCS(PROV_DL_FIELD)
};
struct prov_sqlite_api {
    PROV_SQLITE_FUNCS(PROV_DL_FIELD)
};
#undef PROV_DL_FIELD

/* Each returns the table, loading the library on first use (thread-safe),
 * or NULL with a reason in err (which may be NULL). libcurl is globally
 * initialised (curl_global_init(CURL_GLOBAL_DEFAULT)) once when loaded. */
const struct prov_curl_api *prov_curl(char *err, size_t errlen);
const struct prov_mhd_api *prov_mhd(char *err, size_t errlen);
const struct prov_sqlite_api *prov_sqlite(char *err, size_t errlen);

#endif
