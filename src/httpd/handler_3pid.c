/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * GET /_matrix/identity/v2/3pid/getValidated3pid (and the unauthenticated
 * legacy v1 route, which homeservers use for delegated validation).
 * Binding and unbinding join this file in the binding work.
 */
#include "httpd/handlers.h"
#include "httpd/validation.h"

enum MHD_Result
handler_3pid_get_validated(struct request *rq, const json_t *body)
{
    (void)body;
    return validation_get_validated(rq);
}
