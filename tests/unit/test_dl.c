/* test_dl.c - the run-time loaded libraries bind and work. */
#include "testutil.h"

#include "../../lib/dl.h"

static void curl_loads(void **state)
{
    (void)state;
    char err[200] = "";
    const struct prov_curl_api *c = prov_curl(err, sizeof err);
    assert_non_null(c);
    CURL *h = c->curl_easy_init();
    assert_non_null(h);
    assert_int_equal(c->curl_easy_setopt(h, CURLOPT_URL, "file:///nonexistent/prov-test"), CURLE_OK);
    assert_int_not_equal(c->curl_easy_perform(h), CURLE_OK); /* a missing file is an error */
    c->curl_easy_cleanup(h);
    assert_ptr_equal(prov_curl(NULL, 0), c);
}

static void sqlite_loads(void **state)
{
    (void)state;
    const struct prov_sqlite_api *s = prov_sqlite(NULL, 0);
    assert_non_null(s);
    sqlite3 *db = NULL;
    assert_int_equal(s->sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                     SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(s->sqlite3_prepare_v2(db, "select 6*7", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(s->sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(s->sqlite3_column_int(st, 0), 42);
    s->sqlite3_finalize(st);
    s->sqlite3_close_v2(db);
}

static void mhd_loads(void **state)
{
    (void)state;
    const struct prov_mhd_api *m = prov_mhd(NULL, 0);
    assert_non_null(m);
    assert_int_equal(m->MHD_is_feature_supported(MHD_FEATURE_THREADS), MHD_YES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(curl_loads),
        cmocka_unit_test(sqlite_loads),
        cmocka_unit_test(mhd_loads),
    };
    return cmocka_run_group_tests_name("dl", tests, NULL, NULL);
}
