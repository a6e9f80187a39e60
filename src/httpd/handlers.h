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
enum MHD_Result handler_pubkey_ephemeral_isvalid(struct request *rq,
                                                 const json_t *body);

/* handler_account.c */
struct register_args {
    const char *access_token; /* borrowed from the body */
    const char *server_name;
};
/** Check a register body (pure; unit-tested). */
enum mxerr register_args_parse(const json_t *body,
                               struct register_args *args,
                               const char **bad_field);
enum MHD_Result handler_account_register(struct request *rq,
                                         const json_t *body);
enum MHD_Result handler_account_get(struct request *rq, const json_t *body);
enum MHD_Result handler_account_logout(struct request *rq, const json_t *body);
/* handler_terms.c */
/** Check a POST /terms body (pure; unit-tested). @param[out] urls borrowed */
enum mxerr terms_args_parse(const json_t *body,
                            const json_t **urls,
                            const char **bad_field);
enum MHD_Result handler_terms_get(struct request *rq, const json_t *body);
enum MHD_Result handler_terms_post(struct request *rq, const json_t *body);

/* handler_validate_email.c */
struct email_request_args {
    const char *client_secret; /* borrowed from the body */
    const char *email;
    int64_t send_attempt;
    const char *next_link; /* NULL if absent */
};
/** Check a requestToken body (pure; unit-tested). */
enum mxerr email_request_args_parse(const json_t *body,
                                    struct email_request_args *args,
                                    const char **bad_field);
enum MHD_Result handler_email_request_token(struct request *rq,
                                            const json_t *body);
enum MHD_Result handler_email_submit_token(struct request *rq,
                                           const json_t *body);
enum MHD_Result handler_email_submit_page(struct request *rq,
                                          const json_t *body);
/* handler_validate_msisdn.c */
struct msisdn_request_args {
    const char *client_secret; /* borrowed from the body */
    const char *country;       /* "" if absent (then a +number) */
    const char *phone_number;
    int64_t send_attempt;
    const char *next_link; /* NULL if absent */
};
/** Check a msisdn requestToken body (pure; unit-tested). */
enum mxerr msisdn_request_args_parse(const json_t *body,
                                     struct msisdn_request_args *args,
                                     const char **bad_field);
enum MHD_Result handler_msisdn_request_token(struct request *rq,
                                             const json_t *body);
enum MHD_Result handler_msisdn_submit_token(struct request *rq,
                                            const json_t *body);
enum MHD_Result handler_msisdn_submit_page(struct request *rq,
                                           const json_t *body);
/* handler_3pid.c */
struct bind_args {
    const char *sid; /* borrowed from the body */
    const char *client_secret;
    const char *mxid;
};
/** Check a bind body (pure; unit-tested). */
enum mxerr bind_args_parse(const json_t *body,
                           struct bind_args *args,
                           const char **bad_field);
enum MHD_Result handler_3pid_get_validated(struct request *rq,
                                           const json_t *body);
enum MHD_Result handler_3pid_bind(struct request *rq, const json_t *body);

/* handler_unbind.c */
struct unbind_args {
    const char *mxid; /* borrowed from the body */
    const char *medium;
    const char *address;
    const char *sid; /* NULL: no session proof (then X-Matrix) */
    const char *client_secret;
};
/** Check an unbind body (pure; unit-tested). */
enum mxerr unbind_args_parse(const json_t *body,
                             struct unbind_args *args,
                             const char **bad_field);
enum MHD_Result handler_3pid_unbind(struct request *rq, const json_t *body);

/* handler_invite.c */
struct invite_args {
    const char *medium; /* borrowed from the body */
    const char *address;
    const char *room_id;
    const char *sender;
};
/** Check a store-invite body (pure; unit-tested). */
enum mxerr invite_args_parse(const json_t *body,
                             struct invite_args *args,
                             const char **bad_field);
enum MHD_Result handler_store_invite(struct request *rq, const json_t *body);

/* handler_sign.c */
struct sign_args {
    const char *mxid; /* borrowed from the body or the query */
    const char *token;
    const char *private_key;
};
enum MHD_Result handler_sign_ed25519(struct request *rq, const json_t *body);

/* handler_replicate.c: the replication listener ([replication]) */
enum MHD_Result handler_replicate_push(struct request *rq, const json_t *body);

/* handler_internal.c: the provisioning listener ([internal]) */
struct internal_args {
    const char *medium; /* borrowed from the body */
    const char *address;
    const char *mxid;
};
/** Check an internal bind/unbind body (pure; unit-tested). */
enum mxerr internal_args_parse(const json_t *body,
                               struct internal_args *args,
                               const char **bad_field);
enum MHD_Result handler_internal_bind(struct request *rq, const json_t *body);
enum MHD_Result handler_internal_unbind(struct request *rq, const json_t *body);

/* handler_lookup.c */
struct lookup_args {
    bool none;               /* algorithm "none" (else "sha256") */
    const char *pepper;      /* borrowed from the body */
    const json_t *addresses; /* array of strings, borrowed */
};
/** Check a lookup body (pure; unit-tested). */
enum mxerr lookup_args_parse(const json_t *body,
                             size_t max_addresses,
                             struct lookup_args *args,
                             const char **bad_field);
enum MHD_Result handler_hash_details(struct request *rq, const json_t *body);
enum MHD_Result handler_lookup(struct request *rq, const json_t *body);
/* handler_lookup_v1.c */
enum MHD_Result handler_lookup_v1(struct request *rq, const json_t *body);
enum MHD_Result handler_bulk_lookup_v1(struct request *rq, const json_t *body);

#endif
