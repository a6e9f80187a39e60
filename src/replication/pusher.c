/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The pusher: this server's changes to every peer, in id order, in batches
 * of REPL_BATCH, over mutual TLS (replication-wire.md, "Outbound").
 *
 * One pusher per cluster: every glia process runs an election thread that
 * tries a PostgreSQL session advisory lock every REPL_POLL_MS; the process
 * holding it pushes, and when it dies its connection closes, the lock is
 * released and another process takes over within a poll.
 *
 * One thread per peer, each with its own database connection, so a dead
 * or slow peer delays no other. Progress is durable: a peer's cursor
 * (last_sent_id) moves only after it answered 2xx, so after any crash the
 * same batch is sent again, which receivers ignore (idempotent by origin
 * id): nothing is lost, nothing applied twice.
 *
 * Failures back off per peer (1 s doubling to REPL_BACKOFF_MAX_MS). sydent
 * retries one bad entry for ever and blocks the peer: here, when a peer
 * answers with failed_ids (sydent's M_VERIFICATION_FAILED), those changes
 * are recorded in glia.replication_refused, logged, shown by glia-admin
 * peer list, and never sent to that peer again; the rest of the batch goes
 * at once. When a peer refuses a whole batch (typically a wrong key for
 * us), or answers without failed_ids (an unknown peer, TLS, 5xx), nothing
 * is skipped: the batch is retried with backoff, since that is the peer's
 * or the network's trouble, not an entry's. glia-admin peer retry resends
 * refused changes once their cause is fixed.
 */
#include "replication/replication.h"

#include "app.h"
#include "httpd/metrics.h"
#include "crypto/crypto.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/stopper.h"
#include "util/time.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Largest answer read from a peer. */
#define REPL_RESPONSE_MAX (64 * 1024)

struct peer_worker {
    struct repl_pusher *p;
    const struct config_peer *peer;
    pthread_t thread;
    bool started;
};

struct repl_pusher {
    const struct app *app;
    pthread_t elector;
    struct stopper stopper;
    atomic_bool leader; /* this process pushes */
    struct peer_worker *workers;
    size_t n_workers;
};

/* ---- the election ---------------------------------------------------------
 */

static void *
elect(void *cls)
{
    struct repl_pusher *p = cls;
    struct db *db = db_new(p->app->cfg->db_dsn);

    do {
        enum db_status qs = db_pusher_lock(db);
        bool was = atomic_load(&p->leader);
        bool now = qs == DB_ONE_RESULT;

        atomic_store(&p->leader, now);
        if (now && !was)
            LOG_INFO("replication: this process pushes to %zu peer(s)",
                     p->n_workers);
        else if (!now && was)
            LOG_WARN("replication: lost the pusher lock; another process "
                     "pushes");
    } while (!stopper_nap(&p->stopper, REPL_POLL_MS));
    db_free(db); /* closing the connection releases the lock */
    return NULL;
}

/* ---- one push -------------------------------------------------------------
 */

struct batch {
    json_t *sg; /* {"<id>": signed JSON} */
    int64_t last_id;
    size_t n;
    bool bad; /* a stored change is not JSON */
};

static void
add_change(void *cls, int64_t id, const char *signed_json)
{
    struct batch *b = cls;
    json_t *v = json_loads(signed_json, 0, NULL);
    char key[32];

    if (v == NULL) {
        b->bad = true;
        return;
    }
    snprintf(key, sizeof(key), "%lld", (long long)id);
    json_object_set_new(b->sg, key, v);
    b->last_id = id;
    b->n++;
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *cls)
{
    struct buf *b = cls;

    return buf_append(b, data, size * nmemb) == 0 ? size * nmemb : 0;
}

/* POST body to the peer. @return the HTTP status (0: no answer); *resp
 * its JSON body or NULL; *why on failure */
static long
post(const struct config *cfg,
     const struct config_peer *peer,
     const char *body,
     json_t **resp,
     char **why)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    struct buf out;
    char err[CURL_ERROR_SIZE] = "";
    char *url = xasprintf("%s%s", peer->url, REPL_PUSH_PATH);
    long status = 0;
    CURLcode rc;

    *resp = NULL;
    buf_init(&out, REPL_RESPONSE_MAX);
    if (c == NULL) {
        *why = xstrdup("libcurl failed");
        free(url);
        return 0;
    }
    /* Exactly this: sydent compares the header with ==. */
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(c, CURLOPT_SSLCERT, cfg->replication_tls_cert);
    curl_easy_setopt(c, CURLOPT_SSLKEY, cfg->replication_tls_key);
    curl_easy_setopt(c, CURLOPT_CAINFO, cfg->replication_ca_cert);
    curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, REPL_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, REPL_TOTAL_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "glia");
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        *resp =
            out.data != NULL ? json_loadb(out.data, out.len, 0, NULL) : NULL;
    } else {
        *why = xasprintf("%s", err[0] != '\0' ? err : curl_easy_strerror(rc));
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    buf_free(&out);
    free(url);
    return status;
}

/* Record the ids the peer refused. @return how many */
static size_t
record_refused(struct db *db,
               const struct config_peer *peer,
               const json_t *resp,
               const json_t *sg)
{
    const json_t *ids = json_object_get(resp, "failed_ids");
    const char *err = json_string_value(json_object_get(resp, "error"));
    size_t i;
    json_t *id;
    size_t n = 0;

    json_array_foreach(ids, i, id)
    {
        const char *s = json_string_value(id);
        char num[32];

        if (json_is_integer(id)) {
            snprintf(num, sizeof(num), "%lld",
                     (long long)json_integer_value(id));
            s = num;
        }
        /* Only ids of this batch: a peer cannot make us skip others. */
        if (s == NULL || json_object_get(sg, s) == NULL)
            continue;
        if (db_peer_refused(db, peer->name, strtoll(s, NULL, 10),
                            err != NULL ? err : "refused", time_now_ms()) >= 0)
            n++;
        LOG_ERROR("replication: peer %s refused change %s (%s); it will "
                  "not be sent to it again",
                  peer->name, s, err != NULL ? err : "no reason given");
    }
    return n;
}

/* One round for one peer. @return ms to wait before the next */
static int64_t
push_round(struct peer_worker *w, struct db *db)
{
    const struct app *app = w->p->app;
    const struct config *cfg = app->cfg;
    const struct config_peer *peer = w->peer;
    struct db_peer_state st;
    struct batch b = {json_object(), 0, 0, false};
    json_t *body;
    json_t *resp = NULL;
    char *text;
    char *why = NULL;
    int64_t now = time_now_ms();
    long status;
    enum db_status qs;

    if (db_peer_state(db, peer->name, &st) < 0) {
        json_decref(b.sg);
        return REPL_POLL_MS;
    }
    if (st.next_attempt_ts > now) {
        json_decref(b.sg);
        return st.next_attempt_ts - now < REPL_POLL_MS
                   ? st.next_attempt_ts - now
                   : REPL_POLL_MS;
    }
    qs = db_changes_after(db, cfg->general_server_name, peer->name,
                          st.last_sent_id, REPL_BATCH, add_change, &b);
    if (qs <= 0 || b.bad) {
        if (b.bad)
            LOG_ERROR("replication: a stored change is not JSON");
        json_decref(b.sg);
        return REPL_POLL_MS;
    }
    body = json_pack("{s:O}", "sgAssocs", b.sg);
    text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL) {
        json_decref(b.sg);
        return REPL_POLL_MS;
    }
    status = post(cfg, peer, text, &resp, &why);
    free(text);
    if (status >= 200 && status <= 299) {
        db_peer_advanced(db, peer->name, b.last_id, time_now_ms());
        metrics_count(app->metrics, MC_REPL_PUSHED, (long)b.n);
        LOG_INFO("replication: pushed %zu change(s) up to %lld to %s", b.n,
                 (long long)b.last_id, peer->name);
        json_decref(resp);
        json_decref(b.sg);
        free(why);
        /* A full batch: more may wait. */
        return b.n == REPL_BATCH ? 0 : REPL_POLL_MS;
    }
    /* Some entries refused: those are the entries' trouble. All of them
     * refused: more likely the peer's (a wrong key for us), so back off
     * and keep them, rather than give up on everything. */
    if (status >= 400 && status <= 499 &&
        json_array_size(json_object_get(resp, "failed_ids")) > 0 &&
        json_array_size(json_object_get(resp, "failed_ids")) < b.n &&
        record_refused(db, peer, resp, b.sg) > 0) {
        /* The rest of the batch goes again at once, without them. */
        json_decref(resp);
        json_decref(b.sg);
        free(why);
        return 0;
    }
    if (why == NULL)
        why = xasprintf(
            "HTTP %ld%s%s", status,
            json_is_string(json_object_get(resp, "errcode")) ? " " : "",
            json_is_string(json_object_get(resp, "errcode"))
                ? json_string_value(json_object_get(resp, "errcode"))
                : "");
    {
        int64_t wait = time_backoff_ms(st.failures + 1, REPL_BACKOFF_MAX_MS);

        metrics_count(app->metrics, MC_REPL_FAILED, 1);
        LOG_WARN("replication: push to %s failed (%s); retrying in %lld ms",
                 peer->name, why, (long long)wait);
        db_peer_failed(db, peer->name, time_now_ms(), time_now_ms() + wait,
                       why);
    }
    json_decref(resp);
    json_decref(b.sg);
    free(why);
    return REPL_POLL_MS;
}

static void *
peer_thread(void *cls)
{
    struct peer_worker *w = cls;
    struct db *db = db_new(w->p->app->cfg->db_dsn);
    int64_t wait = 0;

    while (!stopper_nap(&w->p->stopper, wait)) {
        if (!atomic_load(&w->p->leader)) {
            wait = REPL_POLL_MS;
            continue;
        }
        wait = push_round(w, db);
    }
    db_free(db);
    return NULL;
}

struct repl_pusher *
repl_pusher_start(const struct app *app)
{
    const struct config *cfg = app->cfg;
    struct repl_pusher *p;

    if (cfg->n_peers == 0)
        return NULL;
    if (strcmp(app->key->key_id, "ed25519:0") != 0)
        LOG_WARN("replication: the signing key is %s; sydent peers accept "
                 "only ed25519:0 and will refuse every change",
                 app->key->key_id);
    p = xcalloc(1, sizeof(*p));
    p->app = app;
    stopper_init(&p->stopper);
    atomic_init(&p->leader, false);
    p->workers = xcalloc(cfg->n_peers, sizeof(*p->workers));
    p->n_workers = cfg->n_peers;
    if (pthread_create(&p->elector, NULL, elect, p) != 0) {
        LOG_ERROR("replication: cannot start the election thread");
        stopper_destroy(&p->stopper);
        free(p->workers);
        free(p);
        return NULL;
    }
    for (size_t i = 0; i < p->n_workers; i++) {
        p->workers[i].p = p;
        p->workers[i].peer = &cfg->peers[i];
        p->workers[i].started =
            pthread_create(&p->workers[i].thread, NULL, peer_thread,
                           &p->workers[i]) == 0;
        if (!p->workers[i].started)
            LOG_ERROR("replication: cannot start the thread for %s",
                      cfg->peers[i].name);
    }
    return p;
}

void
repl_pusher_stop(struct repl_pusher *p)
{
    if (p == NULL)
        return;
    stopper_stop(&p->stopper);
    for (size_t i = 0; i < p->n_workers; i++)
        if (p->workers[i].started)
            pthread_join(p->workers[i].thread, NULL);
    pthread_join(p->elector, NULL);
    stopper_destroy(&p->stopper);
    free(p->workers);
    free(p);
}
