/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Every response leaves through here, so the CORS headers, the content type
 * and the bookkeeping for the access log are set in one place.
 */
#include "httpd/httpd.h"
#include "util/log.h"
#include "util/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Headers every response carries. Element web calls identity servers from
 * the browser, so CORS is on everywhere. */
static void
add_common_headers(struct MHD_Response *resp, const char *content_type)
{
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
    MHD_add_response_header(resp, "Access-Control-Allow-Methods",
                            "GET, POST, PUT, DELETE, OPTIONS");
    MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                            "Origin, X-Requested-With, Content-Type, Accept, "
                            "Authorization");
    if (content_type != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                content_type);
}

/* Queue resp (consumed) and record the status for the access log. */
static enum MHD_Result
queue(struct request *rq, unsigned int status, struct MHD_Response *resp)
{
    enum MHD_Result ret;

    if (resp == NULL) {
        BUG("cannot create a response");
        return MHD_NO;
    }
    if (rq->replied) {
        BUG("second reply to one request");
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    rq->replied = true;
    rq->status = status;
    ret = MHD_queue_response(rq->conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result
http_reply_json_steal(struct request *rq, unsigned int status, json_t *body)
{
    struct MHD_Response *resp;
    char *text;

    if (body == NULL)
        return http_reply_internal(rq, "reply body is NULL");
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL)
        return http_reply_internal(rq, "json_dumps");
    resp = MHD_create_response_from_buffer(strlen(text), text,
                                           MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    add_common_headers(resp, "application/json");
    return queue(rq, status, resp);
}

enum MHD_Result
http_reply_static_json(struct request *rq,
                       unsigned int status,
                       const char *body)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        strlen(body), (void *)(uintptr_t)body, MHD_RESPMEM_PERSISTENT);

    if (resp == NULL)
        return MHD_NO;
    add_common_headers(resp, "application/json");
    return queue(rq, status, resp);
}

enum MHD_Result
http_reply_error_extra(struct request *rq,
                       enum mxerr err,
                       const char *detail,
                       json_t *extra)
{
    json_t *body = json_object();
    char *msg;

    if (extra != NULL) {
        json_object_update(body, extra);
        json_decref(extra);
    }
    if (detail != NULL)
        msg = xasprintf("%s: %s", mxerr_message(err), detail);
    else
        msg = xstrdup(mxerr_message(err));
    json_object_set_new(body, "errcode", json_string(mxerr_code(err)));
    json_object_set_new(body, "error", json_string(msg));
    free(msg);
    LOG_CLIENT("req %llu: %s %s", (unsigned long long)rq->id, mxerr_code(err),
               detail != NULL ? detail : "");
    return http_reply_json_steal(rq, mxerr_status(err), body);
}

enum MHD_Result
http_reply_error(struct request *rq, enum mxerr err, const char *detail)
{
    return http_reply_error_extra(rq, err, detail, NULL);
}

enum MHD_Result
http_reply_internal(struct request *rq, const char *what)
{
    LOG_ERROR("req %llu: internal error: %s", (unsigned long long)rq->id, what);
    return http_reply_error(rq, MXERR_UNKNOWN, NULL);
}

/* The URL of a verification page carries the token and client secret. */
static void
add_page_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'none'; style-src 'unsafe-inline'; "
                            "img-src data:; frame-ancestors 'none'");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
}

enum MHD_Result
http_reply_html_steal(struct request *rq, unsigned int status, char *html)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        strlen(html), html, MHD_RESPMEM_MUST_FREE);

    if (resp == NULL) {
        free(html);
        return MHD_NO;
    }
    add_common_headers(resp, "text/html; charset=utf-8");
    add_page_headers(resp);
    return queue(rq, status, resp);
}

enum MHD_Result
http_reply_redirect(struct request *rq, const char *url)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);

    if (resp == NULL)
        return MHD_NO;
    add_common_headers(resp, NULL);
    add_page_headers(resp);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, url);
    return queue(rq, MHD_HTTP_FOUND, resp);
}

enum MHD_Result
http_reply_method_not_allowed(struct request *rq, unsigned int allowed)
{
    char allow[64];
    static const char body[] = "{\"errcode\":\"M_UNRECOGNIZED\","
                               "\"error\":\"Method not allowed\"}";
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        sizeof(body) - 1, (void *)(uintptr_t)body, MHD_RESPMEM_PERSISTENT);

    if (resp == NULL)
        return MHD_NO;
    routes_allow_header(allowed, allow, sizeof(allow));
    add_common_headers(resp, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    return queue(rq, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
}

enum MHD_Result
http_reply_preflight(struct request *rq, unsigned int allowed)
{
    char allow[64];
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);

    if (resp == NULL)
        return MHD_NO;
    routes_allow_header(allowed, allow, sizeof(allow));
    add_common_headers(resp, NULL);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    MHD_add_response_header(resp, "Access-Control-Max-Age", "86400");
    return queue(rq, MHD_HTTP_OK, resp);
}
