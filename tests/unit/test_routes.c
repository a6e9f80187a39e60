/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Route matching: literals beat parameters, 404 vs 405, Allow headers. */
#include "httpd/httpd.h"
#include "tap.h"

#include <string.h>

static const char *
matched_path(unsigned int method, const char *path, struct route_match *m)
{
    routes_match(0, method, path, m);
    return m->route != NULL ? m->route->path : NULL;
}

int
main(void)
{
    struct route_match m;
    char allow[64];
    size_t n;
    const struct route *table = routes_table(&n);

    plan_no_plan();
    is_str(matched_path(HTTP_GET, "/_matrix/identity/versions", &m),
           "/_matrix/identity/versions", "versions");
    is_str(matched_path(HTTP_GET, "/_matrix/identity/v2", &m),
           "/_matrix/identity/v2", "status");
    is_str(matched_path(HTTP_GET, "/_matrix/identity/v2/pubkey/isvalid", &m),
           "/_matrix/identity/v2/pubkey/isvalid",
           "pubkey/isvalid is not taken as a keyId");
    is_str(matched_path(HTTP_GET, "/_matrix/identity/v2/pubkey/ed25519:0", &m),
           "/_matrix/identity/v2/pubkey/{keyId}", "pubkey/{keyId}");
    ok(m.params[0] != NULL && m.param_len[0] == 9 &&
           strncmp(m.params[0], "ed25519:0", 9) == 0,
       "keyId captured");
    is_str(
        matched_path(HTTP_GET, "/_matrix/identity/api/v1/pubkey/ed25519:0", &m),
        "/_matrix/identity/api/v1/pubkey/{keyId}", "legacy v1 pubkey");
    ok(matched_path(HTTP_GET, "/_matrix/identity/v2/pubkey/", &m) == NULL &&
           m.allowed == 0,
       "empty parameter segment does not match");
    ok(matched_path(HTTP_GET, "/_matrix/identity/v2/pubkey/a/b", &m) == NULL &&
           m.allowed == 0,
       "extra segment does not match");
    ok(matched_path(HTTP_GET, "/_matrix/identity/v2/", &m) == NULL &&
           m.allowed == 0,
       "trailing slash is another path");
    ok(matched_path(HTTP_GET, "/nope", &m) == NULL && m.allowed == 0,
       "unknown path: nothing allowed (404)");
    ok(matched_path(HTTP_GET, "", &m) == NULL && m.allowed == 0, "empty path");
    ok(matched_path(HTTP_POST, "/_matrix/identity/versions", &m) == NULL &&
           m.allowed == HTTP_GET,
       "known path, wrong method: GET allowed (405)");
    ok(matched_path(0, "/_matrix/identity/versions", &m) == NULL &&
           m.allowed == HTTP_GET,
       "unsupported method is a 405 too");
    routes_allow_header(HTTP_GET, allow, sizeof(allow));
    is_str(allow, "GET, HEAD, OPTIONS", "Allow header for GET");
    routes_allow_header(HTTP_GET | HTTP_POST, allow, sizeof(allow));
    is_str(allow, "GET, HEAD, POST, OPTIONS", "Allow header for GET+POST");
    is_int(http_method_parse("HEAD"), HTTP_GET, "HEAD is served as GET");
    is_int(http_method_parse("PATCH"), 0, "PATCH unsupported");
    /* The provisioning routes exist only on the internal listener, and
     * nothing else is served there. */
    ok(matched_path(HTTP_POST, "/_matrix/identity/internal/bind", &m) == NULL &&
           m.allowed == 0,
       "internal/bind is unknown on the public listener");
    routes_match(ROUTE_INTERNAL, HTTP_POST, "/_matrix/identity/internal/bind",
                 &m);
    ok(m.route != NULL &&
           strcmp(m.route->path, "/_matrix/identity/internal/bind") == 0,
       "internal/bind on the internal listener");
    routes_match(ROUTE_INTERNAL, HTTP_POST, "/_matrix/identity/internal/unbind",
                 &m);
    ok(m.route != NULL, "internal/unbind on the internal listener");
    routes_match(ROUTE_INTERNAL, HTTP_POST, "/_matrix/identity/v2/3pid/bind",
                 &m);
    ok(m.route == NULL && m.allowed == 0,
       "public routes are unknown on the internal listener");
    routes_match(ROUTE_INTERNAL, HTTP_GET, "/_matrix/identity/internal/bind",
                 &m);
    ok(m.route == NULL && m.allowed == HTTP_POST, "internal: GET is a 405");
    is_str(matched_path(HTTP_POST, "/_matrix/identity/v2/3pid/unbind", &m),
           "/_matrix/identity/v2/3pid/unbind", "v2 unbind");
    ok(m.route != NULL && m.route->flags == 0,
       "unbind needs no token (homeservers sign with X-Matrix)");
    is_str(matched_path(HTTP_POST, "/_matrix/identity/api/v1/3pid/unbind", &m),
           "/_matrix/identity/api/v1/3pid/unbind", "v1 unbind");
    /* Every row: a leading slash, a handler, and no duplicate. */
    for (size_t i = 0; i < n; i++) {
        ok(table[i].path[0] == '/' && table[i].handler != NULL,
           "row %zu (%s) is well-formed", i, table[i].path);
        for (size_t j = 0; j < i; j++)
            if (table[i].method == table[j].method &&
                strcmp(table[i].path, table[j].path) == 0)
                ok(0, "rows %zu and %zu duplicate %s", i, j, table[i].path);
    }
    return done_testing();
}
