/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Drive the real glia daemon: write a config and a signing key into a temp
 * dir, start src/glia on a free port against the test database, and talk to
 * it with libcurl (or raw bytes, for requests curl would never send).
 */
#ifndef GLIA_HTTPTEST_H
#define GLIA_HTTPTEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct glia_proc {
    pid_t pid;
    unsigned int port;
    char dir[256];    /* temp dir: glia.conf, signing.key, glia.log */
    char base[64];    /* "http://127.0.0.1:PORT" */
    char metrics[64]; /* "http://127.0.0.1:PORT" of the metrics listener */
};

struct http_resp {
    long status;
    char *body; /* NUL-terminated */
    size_t len;
    char *headers; /* raw header block */
    json_t *json;  /* body parsed, or NULL */
};

/**
 * Start glia. extra_conf is appended to the generated config (may be NULL):
 * a test can add sections or override nothing else. Bails out on failure.
 */
void httptest_start(struct glia_proc *g, const char *extra_conf);
/** What httptest_start_as() may change. NULL members: the defaults. */
struct httptest_opts {
    const char *server_name; /* default glia.test */
    const char *dsn;         /* default $GLIA_TEST_DSN */
    const char *key_file;    /* a key to copy in; default: a new one */
    const char *extra_conf;
};
/** Start glia as httptest_start(), with another name, database or key. */
void httptest_start_as(struct glia_proc *g, const struct httptest_opts *o);
/**
 * Start a helper server (a fake homeserver, an SMTP sink): fork, exec
 * argv[0] with argv (stderr appended to logfile if not NULL), and wait up to
 * 10 s for it to write its port into portfile (removed first). Bails out if
 * it exits or does not come up.
 * @param[out] pid the child
 * @return the port it listens on
 */
unsigned int httptest_spawn(const char *const argv[],
                            const char *portfile,
                            const char *logfile,
                            pid_t *pid);
/**
 * Run a shell command; its first output line (without the newline) goes
 * into out (may be NULL), the rest is read and dropped.
 * @return its exit status, or -1 if it did not exit normally
 */
int httptest_run(const char *cmd, char *out, size_t outlen);
/** Sleep ms milliseconds. */
void httptest_sleep_ms(long ms);
/** @return a loopback TCP port nobody listens on right now (for listeners
 * a test configures, such as [metrics] or [internal]). */
unsigned int httptest_free_port(void);
/**
 * Make the test certificates in dir with tests/helpers/make-certs.sh, or
 * with make-peer-certs.sh when names is not NULL (space-separated peer
 * names). Skips the whole test when openssl is missing.
 */
void httptest_make_certs(const char *dir, const char *names);
/** @return the absolute path of the source tree's templates (static). */
const char *httptest_templates_dir(void);
/** Start again with the same dir (same key and config); new port. */
void httptest_restart(struct glia_proc *g);
/**
 * Send sig and wait for the daemon to exit (up to 30 s).
 * @return its exit status, or -1 if it died by a signal or did not exit
 */
int httptest_stop(struct glia_proc *g, int sig);
/** Remove the temp dir. */
void httptest_cleanup(struct glia_proc *g);
/** @return true if the daemon's log contains needle. */
bool httptest_log_contains(const struct glia_proc *g, const char *needle);

/**
 * One HTTP request. headers is a NULL-terminated list of "Name: value"
 * (may be NULL). body may be NULL. @return 0, or -1 on transport error.
 */
int http_request(const char *base,
                 const char *method,
                 const char *path,
                 const char *body,
                 size_t body_len,
                 const char *const *headers,
                 struct http_resp *out);
/**
 * A request to the daemon with an optional bearer token (NULL: none) and an
 * optional NUL-terminated body.
 * @param out the response, or NULL to discard it
 * @return the HTTP status (0 on transport error)
 */
long http_call(const struct glia_proc *g,
               const char *method,
               const char *path,
               const char *token,
               const char *body,
               struct http_resp *out);
/** Create an account whose access token is token, as registration would
 * (bails out on failure). */
void httptest_seed_account(const char *user_id, const char *token);
/** Shorthand for a GET against the daemon. */
int
http_get(const struct glia_proc *g, const char *path, struct http_resp *out);
/** Shorthand for a POST of a NUL-terminated body. */
int http_post(const struct glia_proc *g,
              const char *path,
              const char *body,
              struct http_resp *out);
/** @return the value of header name (case-insensitive), or NULL; static
 * buffer, valid until the next call. */
const char *http_resp_header(const struct http_resp *r, const char *name);
/** @return the "errcode" of a JSON error body, or "" */
const char *http_resp_errcode(const struct http_resp *r);
void http_resp_free(struct http_resp *r);

/**
 * Send raw bytes on a new TCP connection, half-close unless keep_open, and
 * read the reply until the server closes or timeout_ms passes.
 * @return the reply (caller frees), "" if none
 */
char *http_raw(const struct glia_proc *g,
               const void *data,
               size_t len,
               int timeout_ms);

#endif
