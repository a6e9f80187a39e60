/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * GET /_matrix/identity/v2 (and the legacy /api/v1): the status "ping".
 * Clients use it to validate an identity server URL; operators' load
 * balancers use it as a health check. It answers {} only when the database
 * answers too: an identity server without its database can serve nothing.
 */
#include "db/db.h"
#include "httpd/handlers.h"

enum MHD_Result
handler_status_get(struct request *rq, const json_t *body)
{
    (void)body;
    if (db_ping(rq->db) != DB_ONE_RESULT)
        return http_reply_internal(rq, "status: database unreachable");
    return http_reply_static_json(rq, MHD_HTTP_OK, "{}");
}
