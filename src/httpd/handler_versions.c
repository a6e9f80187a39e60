/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* GET /_matrix/identity/versions: the spec versions glia speaks. */
#include "httpd/handlers.h"

/*
 * r0.x stays for old clients; v1.1 onwards is the current API. The list only
 * grows: a version is dropped from here only if we stop conforming to it.
 */
static const char versions_json[] =
    "{\"versions\":[\"r0.1.0\",\"r0.2.0\",\"r0.2.1\",\"r0.3.0\",\"v1.1\","
    "\"v1.2\",\"v1.3\",\"v1.4\",\"v1.5\",\"v1.6\",\"v1.7\",\"v1.8\",\"v1.9\","
    "\"v1.10\",\"v1.11\",\"v1.12\",\"v1.13\",\"v1.14\",\"v1.15\",\"v1.16\","
    "\"v1.17\",\"v1.18\",\"v1.19\"]}";

enum MHD_Result
handler_versions_get(struct request *rq, const json_t *body)
{
    (void)body;
    return http_reply_static_json(rq, MHD_HTTP_OK, versions_json);
}
