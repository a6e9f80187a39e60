/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * GET /hash_details and POST /lookup against the real daemon, with bindings
 * seeded in the database: both algorithms, the pepper error with its
 * extra fields, the query-string token Synapse sends on hash_details, the
 * address cap, and a 1000-address lookup. The hashes are checked against
 * Python's hashlib, an independent implementation.
 */
#include "crypto/crypto.h"
#include "db/db.h"
#include "httpd/httpd.h"
#include "httptest.h"
#include "pgtest.h"
#include "tap.h"
#include "util/buf.h"
#include "util/mem.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct glia_proc g;

static void
seed(void)
{
    struct db *db = db_new(pgtest_dsn());
    const char *who[][2] = {{"alice@example.org", "@alice:hs.test"},
                            {"strauss@example.org", "@strauss:hs.test"},
                            {"bob@example.org", "@bob:hs.test"}};

    httptest_seed_account("@alice:hs.test", "tok");
    for (int i = 0; i < 3; i++) {
        struct db_assoc a = {"email",       who[i][0],   who[i][1], 1000, 1000,
                             4102444800000, "glia.test", i + 1,     "{}", NULL};

        db_assoc_insert(db, &a);
    }
    db_free(db);
}

static long
post_lookup(const char *body, struct http_resp *r)
{
    const char *hdrs[] = {"Authorization: Bearer tok", NULL};

    http_request(g.base, "POST", "/_matrix/identity/v2/lookup", body,
                 strlen(body), hdrs, r);
    return r->status;
}

/* sha256 lookup hash computed by Python's hashlib (not by glia). */
static char *
py_hash(const char *address, const char *pepper)
{
    char *cmd = xasprintf(
        "/usr/bin/python3 -c 'import hashlib,base64,sys; "
        "print(base64.urlsafe_b64encode(hashlib.sha256((sys.argv[1]+\" "
        "email \"+sys.argv[2]).encode()).digest()).decode().rstrip(\"=\"))' "
        "'%s' '%s'",
        address, pepper);
    FILE *p = popen(cmd, "r");
    char out[128] = "";

    if (p != NULL) {
        if (fgets(out, sizeof(out), p) == NULL)
            out[0] = '\0';
        pclose(p);
    }
    out[strcspn(out, "\n")] = '\0';
    free(cmd);
    return xstrdup(out);
}

int
main(void)
{
    struct http_resp r;
    const char *hdrs[] = {"Authorization: Bearer tok", NULL};
    char *pepper = NULL;
    char *body;
    char *h_alice;
    char *h_strauss;

    plan_no_plan();
    pgtest_reset();
    httptest_start(&g, "[lookup]\nmax_addresses = 2000\n");
    seed();

    http_request(g.base, "GET", "/_matrix/identity/v2/hash_details", NULL, 0,
                 hdrs, &r);
    is_int(r.status, 200, "hash_details");
    ok(json_is_string(json_object_get(r.json, "lookup_pepper")) &&
           strlen(json_string_value(
               json_object_get(r.json, "lookup_pepper"))) >= 16,
       "a pepper was generated on first start");
    ok(strstr(r.body, "\"sha256\"") != NULL && strstr(r.body, "\"none\""),
       "sha256 and none offered");
    if (json_is_string(json_object_get(r.json, "lookup_pepper")))
        pepper = xstrdup(
            json_string_value(json_object_get(r.json, "lookup_pepper")));
    http_resp_free(&r);
    if (pepper == NULL)
        return done_testing();
    http_get(&g, "/_matrix/identity/v2/hash_details", &r);
    is_int(r.status, 401, "hash_details needs a token");
    http_resp_free(&r);
    http_get(&g, "/_matrix/identity/v2/hash_details?access_token=tok", &r);
    is_int(r.status, 200, "...which Synapse sends in the query string");
    http_resp_free(&r);

    h_alice = py_hash("alice@example.org", pepper);
    h_strauss = py_hash("strauss@example.org", pepper);
    ok(strlen(h_alice) == 43, "hashlib made a hash");
    body = xasprintf("{\"algorithm\":\"sha256\",\"pepper\":\"%s\","
                     "\"addresses\":[\"%s\",\"%s\",\"nonsense\","
                     "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"]}",
                     pepper, h_alice, h_strauss);
    is_int(post_lookup(body, &r), 200, "sha256 lookup");
    is_str(json_string_value(
               json_object_get(json_object_get(r.json, "mappings"), h_alice)),
           "@alice:hs.test", "alice found by hashlib's hash");
    is_str(json_string_value(
               json_object_get(json_object_get(r.json, "mappings"), h_strauss)),
           "@strauss:hs.test", "strauss too");
    is_int((long long)json_object_size(json_object_get(r.json, "mappings")), 2,
           "only bound addresses answer");
    http_resp_free(&r);
    free(body);

    body = xasprintf("{\"algorithm\":\"none\",\"pepper\":\"%s\","
                     "\"addresses\":[\"Alice@Example.org email\","
                     "\"nobody@example.org email\",\"Strauß@example.org "
                     "email\"]}",
                     pepper);
    is_int(post_lookup(body, &r), 200, "none lookup");
    is_str(json_string_value(json_object_get(
               json_object_get(r.json, "mappings"), "Alice@Example.org email")),
           "@alice:hs.test", "keys echo the request, found case-folded");
    is_str(
        json_string_value(json_object_get(json_object_get(r.json, "mappings"),
                                          "Strauß@example.org email")),
        "@strauss:hs.test", "Strauß is strauss");
    is_int((long long)json_object_size(json_object_get(r.json, "mappings")), 2,
           "two of three");
    http_resp_free(&r);
    free(body);

    is_int(post_lookup("{\"algorithm\":\"sha256\",\"pepper\":\"wrong\","
                       "\"addresses\":[]}",
                       &r),
           400, "wrong pepper: 400");
    is_str(http_resp_errcode(&r), "M_INVALID_PEPPER", "M_INVALID_PEPPER");
    is_str(json_string_value(json_object_get(r.json, "lookup_pepper")), pepper,
           "with the current pepper");
    is_str(json_string_value(json_object_get(r.json, "algorithm")), "sha256",
           "and the algorithm");
    http_resp_free(&r);
    body = xasprintf("{\"algorithm\":\"md5\",\"pepper\":\"%s\","
                     "\"addresses\":[]}",
                     pepper);
    is_int(post_lookup(body, &r), 400, "unknown algorithm: 400");
    is_str(http_resp_errcode(&r), "M_INVALID_PARAM", "M_INVALID_PARAM");
    http_resp_free(&r);
    free(body);
    body = xasprintf("{\"algorithm\":\"none\",\"pepper\":\"%s\","
                     "\"addresses\":[\"no-medium\"]}",
                     pepper);
    is_int(post_lookup(body, &r), 400, "none without a medium: 400");
    http_resp_free(&r);
    free(body);
    is_int(post_lookup("{\"algorithm\":\"sha256\"}", &r), 400,
           "missing fields: 400");
    is_str(http_resp_errcode(&r), "M_MISSING_PARAMS", "M_MISSING_PARAMS");
    http_resp_free(&r);

    /* 1000 addresses in one request; over the cap is refused. */
    {
        struct buf b;

        buf_init(&b, 1u << 20);
        buf_printf(&b,
                   "{\"algorithm\":\"sha256\",\"pepper\":\"%s\","
                   "\"addresses\":[",
                   pepper);
        for (int i = 0; i < 1000; i++) {
            char h[LOOKUP_HASH_LEN + 1];
            char addr[64];

            snprintf(addr, sizeof(addr), "user%d@example.org", i);
            lookup_hash_sha256(i == 999 ? "bob@example.org" : addr, "email",
                               pepper, h);
            buf_printf(&b, "%s\"%s\"", i > 0 ? "," : "", h);
        }
        buf_puts(&b, "]}");
        is_int(post_lookup(b.data, &r), 200, "1000-address lookup");
        is_int((long long)json_object_size(json_object_get(r.json, "mappings")),
               1, "finds the one bound address");
        http_resp_free(&r);
        buf_reset(&b);
        buf_printf(&b,
                   "{\"algorithm\":\"sha256\",\"pepper\":\"%s\","
                   "\"addresses\":[",
                   pepper);
        for (int i = 0; i < 2001; i++)
            buf_printf(&b, "%s\"x\"", i > 0 ? "," : "");
        buf_puts(&b, "]}");
        is_int(post_lookup(b.data, &r), 400, "over [lookup] max_addresses");
        is_str(http_resp_errcode(&r), "M_TOO_LARGE", "M_TOO_LARGE");
        http_resp_free(&r);
        buf_free(&b);
    }

    /* Rotation: the old pepper stops working, the new one finds alice. */
    {
        char *cmd = xasprintf("%s rotate-pepper -c %s/glia.conf >/dev/null",
                              getenv("GLIA_ADMIN_BIN"), g.dir);

        is_int(system(cmd), 0, "glia-admin rotate-pepper");
        free(cmd);
        body = xasprintf("{\"algorithm\":\"sha256\",\"pepper\":\"%s\","
                         "\"addresses\":[\"%s\"]}",
                         pepper, h_alice);
        is_int(post_lookup(body, &r), 400, "the old pepper: M_INVALID_PEPPER");
        ok(json_is_string(json_object_get(r.json, "lookup_pepper")) &&
               strcmp(
                   json_string_value(json_object_get(r.json, "lookup_pepper")),
                   pepper) != 0,
           "which names the new pepper");
        free(pepper);
        pepper = xstrdup(
            json_string_value(json_object_get(r.json, "lookup_pepper")));
        http_resp_free(&r);
        free(body);
        free(h_alice);
        h_alice = py_hash("alice@example.org", pepper);
        body = xasprintf("{\"algorithm\":\"sha256\",\"pepper\":\"%s\","
                         "\"addresses\":[\"%s\"]}",
                         pepper, h_alice);
        is_int(post_lookup(body, &r), 200, "the new pepper works");
        ok(json_object_size(json_object_get(r.json, "mappings")) == 1,
           "and finds alice at once");
        http_resp_free(&r);
        free(body);
    }
    is_int(httptest_stop(&g, SIGTERM), 0, "clean exit");
    httptest_cleanup(&g);
    free(pepper);
    free(h_alice);
    free(h_strauss);
    return done_testing();
}
