/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * POST /_matrix/identity/replicate/v1/push, on the replication listener
 * only. The peer is whoever the client certificate names: it must chain to
 * [replication] ca_cert and its Subject Common Name must be a [peer.NAME]
 * (as sydent). Every entry must be signed by that peer with its configured
 * key; a push with any bad entry is refused whole, with the failing ids
 * (sydent's M_VERIFICATION_FAILED), and a good one is applied in one
 * transaction, idempotently by (peer, origin id).
 */
#include "app.h"
#include "httpd/metrics.h"
#include "db/db.h"
#include "httpd/handlers.h"
#include "replication/replication.h"
#include "util/config.h"
#include "util/log.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

/* The verified client certificate's CN, into cn. @return true if the
 * connection presented a certificate that chains to our trust store. */
static bool
peer_common_name(struct request *rq, char *cn, size_t cn_len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    gnutls_session_t session;
    const gnutls_datum_t *certs;
    unsigned int n_certs = 0;
    unsigned int status = 0;
    gnutls_x509_crt_t crt;
    size_t len = cn_len;
    bool ok;

    if (ci == NULL || ci->tls_session == NULL)
        return false;
    session = (gnutls_session_t)ci->tls_session;
    if (gnutls_certificate_verify_peers2(session, &status) != 0 || status != 0)
        return false;
    certs = gnutls_certificate_get_peers(session, &n_certs);
    if (certs == NULL || n_certs == 0 || gnutls_x509_crt_init(&crt) != 0)
        return false;
    ok = gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) == 0 &&
         gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0,
                                       cn, &len) == 0;
    gnutls_x509_crt_deinit(crt);
    return ok;
}

enum MHD_Result
handler_replicate_push(struct request *rq, const json_t *body)
{
    const struct config *cfg = rq->app->cfg;
    const struct config_peer *peer = NULL;
    char cn[256];
    struct repl_batch b;
    enum db_status qs;
    enum MHD_Result ret;

    if (!peer_common_name(rq, cn, sizeof(cn)))
        return http_reply_error(rq, MXERR_UNKNOWN_PEER,
                                "a client certificate from the replication "
                                "CA is required");
    for (size_t i = 0; i < cfg->n_peers; i++)
        if (strcmp(cfg->peers[i].name, cn) == 0)
            peer = &cfg->peers[i];
    if (peer == NULL) {
        LOG_WARN("req %llu: replication push from unknown peer \"%s\"",
                 (unsigned long long)rq->id, cn);
        return http_reply_error(rq, MXERR_UNKNOWN_PEER, NULL);
    }
    if (repl_batch_parse(body, peer, &b) != 0)
        return http_reply_error(rq, MXERR_BAD_JSON, "no \"sgAssocs\" object");
    if (json_array_size(b.failed_ids) > 0) {
        LOG_WARN("req %llu: refused a push from %s: %zu bad entries (%s)",
                 (unsigned long long)rq->id, peer->name,
                 json_array_size(b.failed_ids),
                 b.error != NULL ? b.error : "?");
        ret = http_reply_error_extra(
            rq, MXERR_VERIFICATION_FAILED, b.error,
            json_pack("{s:O}", "failed_ids", b.failed_ids));
        repl_batch_free(&b);
        return ret;
    }
    qs = db_replicate_apply(rq->db, peer->name, b.e, b.n);
    if (qs < 0) {
        repl_batch_free(&b);
        return http_reply_internal(rq, "replicate");
    }
    if (b.skipped > 0)
        LOG_WARN("req %llu: ignored %zu signed association(s) from %s with "
                 "an unusable address",
                 (unsigned long long)rq->id, b.skipped, peer->name);
    metrics_count(rq->app->metrics, MC_REPL_RECEIVED, (long)b.n);
    LOG_INFO("req %llu: applied %zu association(s) from %s",
             (unsigned long long)rq->id, b.n, peer->name);
    repl_batch_free(&b);
    return http_reply_static_json(rq, MHD_HTTP_OK, "{\"success\":true}");
}
