/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Every handler, declared once for routes.c. Each lives in handler_<x>.c. */
#ifndef GLIA_HTTPD_HANDLERS_H
#define GLIA_HTTPD_HANDLERS_H

#include "httpd/httpd.h"

/* handler_versions.c */
enum MHD_Result handler_versions_get(struct request *rq, const json_t *body);
/* handler_status.c */
enum MHD_Result handler_status_get(struct request *rq, const json_t *body);
/* handler_pubkey.c */
enum MHD_Result handler_pubkey_get(struct request *rq, const json_t *body);
enum MHD_Result handler_pubkey_isvalid(struct request *rq, const json_t *body);

#endif
