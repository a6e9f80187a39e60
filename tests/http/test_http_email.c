/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Email validation end to end: the real daemon sends through a real SMTP
 * server (tests/helpers/smtp_sink.py, which records what it receives); the
 * test reads the token and link from the received mail and submits them,
 * by JSON and by following the link (also in a headless Chromium). Then
 * every error path: bad input, wrong token, expiry, the attempt limit, rate
 * limits, and the SMTP server down or hanging while other endpoints keep
 * answering.
 */
#include "db/db.h"
#include "httpd/httpd.h"
#include "httptest.h"
#include "pgtest.h"
#include "tap.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/time.h"

#include <dirent.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct glia_proc g;
static char dir[] = "/tmp/glia-email.XXXXXX";
static pid_t sink_pid;
static unsigned int sink_port;
static char maildir[300];

/* Start the SMTP sink (one optional extra argument); returns its port. */
static unsigned int
start_sink(const char *extra)
{
    static int starts;
    char *portfile = xasprintf("%s/sink.port", dir);
    char *log = xasprintf("%s/sink.log", dir);
    char *script =
        xasprintf("%s/tests/helpers/smtp_sink.py",
                  getenv("top_srcdir") != NULL ? getenv("top_srcdir") : ".");
    const char *argv[] = {"/usr/bin/python3",
                          script,
                          "--dir",
                          maildir,
                          "--port-file",
                          portfile,
                          extra[0] != '\0' ? extra : NULL,
                          NULL};
    unsigned int port;

    /* A fresh directory per sink: each numbers its messages from 1. */
    snprintf(maildir, sizeof(maildir), "%s/mail%d", dir, ++starts);
    mkdir(maildir, 0755);
    port = httptest_spawn(argv, portfile, log, &sink_pid);
    free(portfile);
    free(log);
    free(script);
    return port;
}

static void
stop_sink(void)
{
    if (sink_pid > 0) {
        kill(sink_pid, SIGTERM);
        waitpid(sink_pid, NULL, 0);
        sink_pid = 0;
    }
}

/* Number of messages the sink has stored. */
static int
mail_count(void)
{
    DIR *d = opendir(maildir);
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);

        if (len > 4 && strcmp(e->d_name + len - 4, ".eml") == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* Wait until there are at least n messages. */
static bool
wait_mail(int n)
{
    for (int i = 0; i < 200; i++) {
        if (mail_count() >= n)
            return true;
        httptest_sleep_ms(50);
    }
    return false;
}

/* Decode quoted-printable (soft breaks too); good enough for our mails. */
static char *
qp_decode(const char *in)
{
    struct buf b;

    buf_init(&b, 1u << 22);
    for (const char *p = in; *p != '\0'; p++) {
        if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
            p += 2;
        } else if (p[0] == '=' && p[1] == '\n') {
            p += 1;
        } else if (p[0] == '=' && p[1] != '\0' && p[2] != '\0' &&
                   strchr("0123456789ABCDEFabcdef", p[1]) != NULL &&
                   strchr("0123456789ABCDEFabcdef", p[2]) != NULL) {
            char hex[3] = {p[1], p[2], '\0'};
            char c = (char)strtol(hex, NULL, 16);

            buf_append(&b, &c, 1);
            p += 2;
        } else {
            buf_append(&b, p, 1);
        }
    }
    return buf_steal(&b, NULL);
}

/* The text of the newest message, decoded (n is its 1-based number). */
static char *
read_mail(int n)
{
    char *path = xasprintf("%s/%d.eml", maildir, n);
    FILE *f = fopen(path, "r");
    struct buf b;
    char chunk[4096];
    size_t got;
    char *text;

    buf_init(&b, 1u << 22);
    if (f != NULL) {
        while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
            buf_append(&b, chunk, got);
        fclose(f);
    }
    free(path);
    /* Our messages are 8bit unless a line was too long; decode only then. */
    if (b.data != NULL && strstr(b.data, "quoted-printable") != NULL)
        text = qp_decode(b.data);
    else
        text = xstrdup(b.data != NULL ? b.data : "");
    buf_free(&b);
    return text;
}

/* Copy what follows marker up to a delimiter. */
static char *
extract(const char *text, const char *marker, const char *stop)
{
    const char *p = strstr(text, marker);
    size_t n;

    if (p == NULL)
        return NULL;
    p += strlen(marker);
    n = strcspn(p, stop);
    return xstrndup(p, n);
}

/* The path and query of the link in a mail. */
static char *
mail_link(const char *mail)
{
    return extract(mail, "/_matrix/identity/v2/validate/email/submitToken",
                   " \r\n\"<>");
}

static char *
link_param(const char *link, const char *name)
{
    char *marker = xasprintf("%s=", name);
    char *v = extract(link, marker, "&");

    free(marker);
    return v;
}

static long
post(const char *path,
     const char *body,
     const char *token,
     struct http_resp *keep)
{
    return http_call(&g, "POST", path, token, body, keep);
}

static long
get(const char *path, const char *token, struct http_resp *keep)
{
    return http_call(&g, "GET", path, token, NULL, keep);
}

static const char *RT = "/_matrix/identity/v2/validate/email/requestToken";
static const char *ST = "/_matrix/identity/v2/validate/email/submitToken";
static const char *GV = "/_matrix/identity/v2/3pid/getValidated3pid";

/* requestToken; @return status, sid in *sid (caller frees). */
static long
request_token(const char *email,
              const char *secret,
              int attempt,
              const char *extra,
              char **sid,
              struct http_resp *keep)
{
    char *body = xasprintf("{\"email\":\"%s\",\"client_secret\":\"%s\","
                           "\"send_attempt\":%d%s}",
                           email, secret, attempt, extra != NULL ? extra : "");
    struct http_resp r;
    long st = post(RT, body, "tok", &r);

    if (sid != NULL)
        *sid = json_is_string(json_object_get(r.json, "sid"))
                   ? xstrdup(json_string_value(json_object_get(r.json, "sid")))
                   : NULL;
    if (keep != NULL)
        *keep = r;
    else
        http_resp_free(&r);
    free(body);
    return st;
}

static const char *
errcode_of(long st, struct http_resp *r)
{
    static char code[64];

    (void)st;
    snprintf(code, sizeof(code), "%s", http_resp_errcode(r));
    http_resp_free(r);
    return code;
}

static void
start_glia(const char *extra)
{
    char *conf = xasprintf("[email]\nsmtp_host = 127.0.0.1\nsmtp_port = %u\n"
                           "timeout = 3\nfrom = glia test <noreply@id.test>\n"
                           "%s",
                           sink_port, extra != NULL ? extra : "");

    httptest_start(&g, conf);
    free(conf);
}

/* Restart glia (same database) against the current sink port. */
static void
restart_glia(const char *extra)
{
    httptest_stop(&g, SIGTERM);
    httptest_cleanup(&g);
    start_glia(extra);
}

/* ---- the happy path --------------------------------------------------- */

static void
happy_path(void)
{
    char *sid = NULL;
    char *mail;
    char *link;
    char *token;
    struct http_resp r;
    char *body;
    int before = mail_count();

    is_int(request_token("Alice@Example.ORG", "s3cr3t", 1, NULL, &sid, NULL),
           200, "requestToken");
    ok(sid != NULL && strlen(sid) > 0, "returns a sid");
    ok(wait_mail(before + 1), "a mail arrives at the SMTP server");
    mail = read_mail(before + 1);
    ok(strstr(mail, "To: alice@example.org") != NULL ||
           strstr(mail, "alice@example.org") != NULL,
       "addressed to the case-folded address");
    link = mail_link(mail);
    ok(link != NULL, "the mail holds the link");
    token = link != NULL ? link_param(link, "token") : NULL;
    ok(token != NULL && strlen(token) == 32, "with a 32-character token");
    if (token == NULL || strlen(token) != 32)
        diag("link: %s\nmail: %s", link != NULL ? link : "(none)", mail);
    ok(token != NULL && strstr(mail, token) != NULL, "token shown too");
    {
        char *json_path = xasprintf("%s/%d.json", maildir, before + 1);
        FILE *f = fopen(json_path, "r");
        json_t *env = f != NULL ? json_loadf(f, 0, NULL) : NULL;

        if (f != NULL)
            fclose(f);
        ok(env != NULL &&
               json_integer_value(json_object_get(env, "max_line")) <= 998,
           "no line over 998 octets on the wire");
        ok(env != NULL && !json_is_true(json_object_get(env, "bare_lf")),
           "CRLF line endings on the wire");
        json_decref(env);
        free(json_path);
    }

    /* Same send_attempt: same sid, no new mail. A higher one: resend. */
    {
        char *sid2 = NULL;
        int n = mail_count();

        is_int(
            request_token("alice@example.org", "s3cr3t", 1, NULL, &sid2, NULL),
            200, "retry with the same send_attempt");
        is_str(sid2, sid, "same sid");
        httptest_sleep_ms(500);
        is_int(mail_count(), n, "no second mail");
        free(sid2);
        is_int(
            request_token("alice@example.org", "s3cr3t", 2, NULL, &sid2, NULL),
            200, "a higher send_attempt");
        is_str(sid2, sid, "same sid");
        ok(wait_mail(n + 1), "sends the mail again");
        {
            char *again = read_mail(n + 1);

            ok(token != NULL && strstr(again, token) != NULL,
               "with the same token");
            free(again);
        }
        free(sid2);
    }

    /* getValidated3pid before validation. */
    body = xasprintf("%s?sid=%s&client_secret=s3cr3t", GV, sid);
    is_str(errcode_of(get(body, "tok", &r), &r), "M_SESSION_NOT_VALIDATED",
           "getValidated3pid before submitting: M_SESSION_NOT_VALIDATED");
    free(body);

    body = xasprintf("{\"sid\":\"%s\",\"client_secret\":\"s3cr3t\","
                     "\"token\":\"wrongwrongwrong\"}",
                     sid);
    is_int(post(ST, body, "tok", &r), 400, "wrong token: 400");
    is_str(errcode_of(400, &r), "M_TOKEN_INCORRECT", "M_TOKEN_INCORRECT");
    free(body);
    body = xasprintf("{\"sid\":\"%s\",\"client_secret\":\"other\","
                     "\"token\":\"%s\"}",
                     sid, token);
    is_int(post(ST, body, "tok", &r), 404, "wrong client_secret: 404");
    is_str(errcode_of(404, &r), "M_NO_VALID_SESSION", "M_NO_VALID_SESSION");
    free(body);
    body = xasprintf("{\"sid\":\"%s\",\"client_secret\":\"s3cr3t\","
                     "\"token\":\"%s\"}",
                     sid, token);
    is_int(post(ST, body, NULL, &r), 401, "v2 submitToken needs a token");
    http_resp_free(&r);
    is_int(post(ST, body, "tok", &r), 200, "the right token");
    ok(json_is_true(json_object_get(r.json, "success")), "success: true");
    http_resp_free(&r);
    free(body);

    body = xasprintf("%s?sid=%s&client_secret=s3cr3t", GV, sid);
    is_int(get(body, "tok", &r), 200, "getValidated3pid");
    is_str(json_string_value(json_object_get(r.json, "medium")), "email",
           "medium");
    is_str(json_string_value(json_object_get(r.json, "address")),
           "alice@example.org", "the canonical address");
    ok(json_integer_value(json_object_get(r.json, "validated_at")) >
           time_now_ms() - 60000,
       "validated_at is a recent ms timestamp");
    http_resp_free(&r);
    free(body);
    body = xasprintf("/_matrix/identity/api/v1/3pid/getValidated3pid"
                     "?sid=%s&client_secret=s3cr3t",
                     sid);
    is_int(get(body, NULL, NULL), 200, "legacy v1 getValidated3pid, no auth");
    free(body);
    body = xasprintf("%s?sid=%s&client_secret=nope", GV, sid);
    is_str(errcode_of(get(body, "tok", &r), &r), "M_NO_VALID_SESSION",
           "getValidated3pid, wrong secret: M_NO_VALID_SESSION");
    free(body);

    /* The link itself, as a person's browser follows it. */
    body = xasprintf("/_matrix/identity/v2/validate/email/submitToken%s", link);
    is_int(get(body, NULL, &r), 200, "the link (already validated): 200");
    ok(strstr(r.body, "verified") != NULL, "says it is verified");
    is_str(http_resp_header(&r, "Referrer-Policy"), "no-referrer",
           "the page leaks no Referer (its URL holds secrets)");
    ok(http_resp_header(&r, "Content-Security-Policy") != NULL &&
           strstr(http_resp_header(&r, "Content-Type"), "text/html") != NULL,
       "HTML with a strict CSP");
    ok(strstr(r.body, "<script") == NULL, "no JavaScript");
    http_resp_free(&r);
    free(body);
    free(link);
    free(token);
    free(mail);
    free(sid);
}

/* The link clicked in a real browser, and next_link. */
static void
browser_and_next_link(void)
{
    char *sid = NULL;
    char *mail;
    char *link;
    char *url;
    char *cmd;
    struct http_resp r;
    int n = mail_count();

    is_int(request_token("bob@example.org", "b0bsecret", 1, NULL, &sid, NULL),
           200, "requestToken for bob");
    ok(wait_mail(n + 1), "mail for bob");
    mail = read_mail(n + 1);
    link = mail_link(mail);
    if (access("/usr/bin/chromium", X_OK) != 0 || link == NULL) {
        skip(2, "no chromium");
    } else {
        char *out = xasprintf("%s/dom.html", dir);
        char *dom;
        FILE *f;
        struct buf b;
        char chunk[4096];
        size_t got;

        url = xasprintf("%s/_matrix/identity/v2/validate/email/submitToken%s",
                        g.base, link);
        cmd = xasprintf(
            "timeout 60 /usr/bin/chromium --headless --no-sandbox "
            "--disable-gpu "
            "--disable-quic --no-first-run --disable-background-networking "
            "--disable-component-update --disable-sync "
            "--user-data-dir=%s/chromium --dump-dom '%s' > %s 2>/dev/null",
            dir, url, out);
        ok(system(cmd) == 0, "headless Chromium opened the link");
        buf_init(&b, 1u << 20);
        f = fopen(out, "r");
        if (f != NULL) {
            while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
                buf_append(&b, chunk, got);
            fclose(f);
        }
        dom = buf_steal(&b, NULL);
        ok(strstr(dom, "verified") != NULL, "and rendered the success page");
        free(dom);
        free(out);
        free(cmd);
        free(url);
    }
    url = xasprintf("%s?sid=%s&client_secret=b0bsecret", GV, sid);
    is_int(get(url, "tok", NULL),
           link != NULL && access("/usr/bin/chromium", X_OK) == 0 ? 200 : 400,
           "the browser's click validated the session");
    free(url);
    free(link);
    free(mail);
    free(sid);

    /* next_link: a redirect after success, and only http(s). */
    n = mail_count();
    is_int(request_token("carol@example.org", "c4rol", 1,
                         ",\"next_link\":\"https://app.example/welcome\"", &sid,
                         NULL),
           200, "requestToken with next_link");
    ok(wait_mail(n + 1), "mail for carol");
    mail = read_mail(n + 1);
    link = mail_link(mail);
    url = xasprintf("/_matrix/identity/v2/validate/email/submitToken%s"
                    "&nextLink=https://evil.example/",
                    link != NULL ? link : "");
    is_int(get(url, NULL, &r), 302, "success redirects");
    is_str(http_resp_header(&r, "Location"), "https://app.example/welcome",
           "to the stored next_link, not one added to the link");
    http_resp_free(&r);
    free(url);
    free(link);
    free(mail);
    free(sid);
    is_str(errcode_of(request_token("dave@example.org", "d4ve", 1,
                                    ",\"next_link\":\"javascript:alert(1)\"",
                                    NULL, &r),
                      &r),
           "M_INVALID_PARAM", "a javascript: next_link is refused");
}

/* ---- errors ----------------------------------------------------------- */

static void
bad_input(void)
{
    struct http_resp r;

    is_str(
        errcode_of(request_token("not-an-address", "s", 1, NULL, NULL, &r), &r),
        "M_INVALID_EMAIL", "invalid email: M_INVALID_EMAIL");
    is_str(errcode_of(request_token("a@b.org\\r\\nBcc: x@y.org", "s", 1, NULL,
                                    NULL, &r),
                      &r),
           "M_INVALID_EMAIL", "header injection: M_INVALID_EMAIL");
    is_str(errcode_of(
               request_token("a@b.org", "bad secret!", 1, NULL, NULL, &r), &r),
           "M_INVALID_PARAM", "bad client_secret: M_INVALID_PARAM");
    is_int(post(RT, "{\"email\":\"a@b.org\"}", "tok", &r), 400,
           "missing fields: 400");
    is_str(errcode_of(400, &r), "M_MISSING_PARAMS", "M_MISSING_PARAMS");
    is_int(post(RT,
                "{\"email\":\"a@b.org\",\"client_secret\":\"s\","
                "\"send_attempt\":1}",
                NULL, &r),
           401, "v2 requestToken needs an account");
    http_resp_free(&r);
    is_int(post(ST,
                "{\"sid\":\"nope\",\"client_secret\":\"s\","
                "\"token\":\"t\"}",
                "tok", &r),
           404, "unknown sid: 404");
    is_str(errcode_of(404, &r), "M_NO_VALID_SESSION", "M_NO_VALID_SESSION");
    is_int(
        get("/_matrix/identity/v2/validate/email/submitToken?sid=x", NULL, &r),
        400, "link without its parameters: 400 page");
    ok(strstr(r.body, "incomplete") != NULL, "saying so");
    http_resp_free(&r);
    is_int(get("/_matrix/identity/v2/validate/email/submitToken?sid=x&"
               "client_secret=%3Cscript%3E&token=y",
               NULL, &r),
           404, "unknown session: 404 page");
    ok(strstr(r.body, "<script>") == NULL, "nothing from the URL unescaped");
    http_resp_free(&r);
}

static void
expiry_and_attempts(void)
{
    char *sid = NULL;
    char *body;
    char *q;
    struct http_resp r;
    int n = mail_count();

    is_int(request_token("erin@example.org", "er1n", 1, NULL, &sid, NULL), 200,
           "requestToken for erin");
    ok(wait_mail(n + 1), "mail for erin");
    /* Three wrong tokens lock the session (max_attempts = 3 here)... */
    body = xasprintf("{\"sid\":\"%s\",\"client_secret\":\"er1n\","
                     "\"token\":\"guess\"}",
                     sid);
    for (int i = 0; i < 3; i++)
        is_str(errcode_of(post(ST, body, "tok", &r), &r), "M_TOKEN_INCORRECT",
               "wrong token %d", i + 1);
    free(body);
    {
        char *mail = read_mail(n + 1);
        char *link = mail_link(mail);
        char *token = link != NULL ? link_param(link, "token") : NULL;

        body = xasprintf("{\"sid\":\"%s\",\"client_secret\":\"er1n\","
                         "\"token\":\"%s\"}",
                         sid, token != NULL ? token : "");
        is_int(post(ST, body, "tok", &r), 400,
               "...then even the right token is refused");
        ok(strstr(r.body, "too many") != NULL, "saying why");
        http_resp_free(&r);
        q = xasprintf("/_matrix/identity/v2/validate/email/submitToken%s",
                      link != NULL ? link : "");
        is_int(get(q, NULL, &r), 400, "the link shows the lockout too");
        ok(strstr(r.body, "Too many") != NULL, "in words");
        http_resp_free(&r);
        free(q);
        free(body);
        free(token);
        free(link);
        free(mail);
    }
    free(sid);

    /* Expiry: age a session in the database. */
    n = mail_count();
    is_int(request_token("frank@example.org", "fr4nk", 1, NULL, &sid, NULL),
           200, "requestToken for frank");
    ok(wait_mail(n + 1), "mail for frank");
    q = xasprintf("UPDATE glia.validation_sessions SET modified_ts = "
                  "modified_ts - 86400001 WHERE sid = '%s'",
                  sid);
    pgtest_value(NULL, q);
    free(q);
    body = xasprintf("{\"sid\":\"%s\",\"client_secret\":\"fr4nk\","
                     "\"token\":\"whatever\"}",
                     sid);
    is_int(post(ST, body, "tok", &r), 400, "expired session: 400");
    is_str(errcode_of(400, &r), "M_SESSION_EXPIRED", "M_SESSION_EXPIRED");
    free(body);
    q = xasprintf("%s?sid=%s&client_secret=fr4nk", GV, sid);
    is_str(errcode_of(get(q, "tok", &r), &r), "M_SESSION_EXPIRED",
           "getValidated3pid: M_SESSION_EXPIRED");
    free(q);
    {
        char *sid2 = NULL;

        is_int(
            request_token("frank@example.org", "fr4nk", 1, NULL, &sid2, NULL),
            200, "asking again after expiry");
        ok(sid2 != NULL && strcmp(sid2, sid) != 0, "starts a new session");
        free(sid2);
    }
    free(sid);
}

static void
rate_limits(void)
{
    struct http_resp r;
    const char *h1[] = {"Authorization: Bearer tok",
                        "X-Forwarded-For: 198.51.100.1", NULL};
    const char *h2[] = {"Authorization: Bearer tok",
                        "X-Forwarded-For: 198.51.100.2", NULL};
    char body[256];
    long st;

    /* ip_burst = 4: four from one address, then 429. */
    for (int i = 0; i < 4; i++) {
        snprintf(body, sizeof(body),
                 "{\"email\":\"ip%d@example.org\",\"client_secret\":\"s\","
                 "\"send_attempt\":1}",
                 i);
        http_request(g.base, "POST", RT, body, strlen(body), h1, &r);
        ok(r.status == 200, "request %d from one address", i + 1);
        http_resp_free(&r);
    }
    snprintf(body, sizeof(body),
             "{\"email\":\"ip9@example.org\","
             "\"client_secret\":\"s\",\"send_attempt\":1}");
    http_request(g.base, "POST", RT, body, strlen(body), h1, &r);
    is_int(r.status, 429, "the fifth: 429");
    is_str(http_resp_errcode(&r), "M_LIMIT_EXCEEDED", "M_LIMIT_EXCEEDED");
    ok(json_integer_value(json_object_get(r.json, "retry_after_ms")) > 0,
       "with retry_after_ms");
    http_resp_free(&r);
    http_request(g.base, "POST", RT, body, strlen(body), h2, &r);
    is_int(r.status, 200, "another client address is not affected");
    http_resp_free(&r);

    /* address_burst = 3: one address, many client secrets. */
    for (int i = 0; i < 3; i++) {
        snprintf(body, sizeof(body),
                 "{\"email\":\"victim@example.org\",\"client_secret\":\"s%d\","
                 "\"send_attempt\":1}",
                 i);
        st = post(RT, body, "tok", NULL);
        ok(st == 200, "mail %d to one address", i + 1);
    }
    snprintf(body, sizeof(body),
             "{\"email\":\"VICTIM@example.org\",\"client_secret\":\"s9\","
             "\"send_attempt\":1}");
    st = post(RT, body, "tok", &r);
    is_int(st, 429, "the fourth to that address (in any case): 429");
    http_resp_free(&r);
}

/* SMTP down, then back; SMTP hanging while lookups keep answering. */
static void
smtp_failures(void)
{
    const char *nolimits = "[ratelimit]\nip_interval = 0\n"
                           "address_interval = 0\n";
    char *sid = NULL;
    char *sid2 = NULL;
    struct http_resp r;
    int64_t t0;
    pid_t child;
    int st;

    restart_glia(nolimits);
    stop_sink();
    is_int(request_token("gina@example.org", "g1na", 1, NULL, &sid, &r), 400,
           "SMTP server down: 400");
    is_str(http_resp_errcode(&r), "M_EMAIL_SEND_ERROR", "M_EMAIL_SEND_ERROR");
    http_resp_free(&r);
    free(sid);
    sid = xstrdup(pgtest_value(NULL, "SELECT sid FROM glia.validation_sessions "
                                     "WHERE address = 'gina@example.org'"));
    ok(sid[0] != '\0', "the session was kept");
    /* It is in the database: it survives the failure (and a restart of
     * glia onto the new server's port). */
    sink_port = start_sink("");
    restart_glia(nolimits);
    is_int(request_token("gina@example.org", "g1na", 2, NULL, &sid2, NULL), 200,
           "back up: a higher send_attempt sends");
    is_str(sid2, sid, "in the session that survived the failure");
    free(sid);
    free(sid2);
    stop_sink();

    sink_port = start_sink("--hang");
    restart_glia(nolimits);
    t0 = time_mono_us();
    child = fork();
    if (child == 0) {
        long s = request_token("hank@example.org", "h4nk", 1, NULL, NULL, &r);

        _exit(s == 400 &&
                      strcmp(http_resp_errcode(&r), "M_EMAIL_SEND_ERROR") == 0
                  ? 0
                  : 1);
    }
    httptest_sleep_ms(500);
    for (int i = 0; i < 4; i++) {
        int64_t q0 = time_mono_us();

        get("/_matrix/identity/v2", NULL, &r);
        ok(r.status == 200 && time_mono_us() - q0 < 1000000,
           "status answers at once while SMTP hangs (%d)", i + 1);
        http_resp_free(&r);
    }
    waitpid(child, &st, 0);
    ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
       "the hanging SMTP server gives M_EMAIL_SEND_ERROR");
    ok(time_mono_us() - t0 < 30000000, "in bounded time (%.1f s)",
       (double)(time_mono_us() - t0) / 1e6);
    stop_sink();
}

static void
outbox(void)
{
    char *conf = xasprintf("[email]\noutbox_dir = %s/outbox\n", dir);
    char *sid = NULL;
    char *cmd;

    cmd = xasprintf("mkdir -p %s/outbox", dir);
    if (system(cmd) != 0)
        diag("mkdir failed");
    free(cmd);
    httptest_start(&g, conf);
    is_int(request_token("ivy@example.org", "1vy", 1, NULL, &sid, NULL), 200,
           "outbox mode: requestToken");
    cmd = xasprintf("ls %s/outbox/*.eml >/dev/null 2>&1", dir);
    ok(system(cmd) == 0, "the mail is a file in the outbox");
    free(cmd);
    cmd = xasprintf("grep -q 'submitToken' %s/outbox/*.eml", dir);
    ok(system(cmd) == 0, "holding the link");
    free(cmd);
    is_int(httptest_stop(&g, SIGTERM), 0, "clean exit");
    httptest_cleanup(&g);
    free(sid);
    free(conf);
}

int
main(void)
{
    plan_no_plan();
    pgtest_reset();
    if (mkdtemp(dir) == NULL)
        skip_all("mkdtemp failed");
    if (system("/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null") != 0)
        skip_all("python3-aiosmtpd is not installed");
    httptest_seed_account("@alice:hs.test", "tok");
    sink_port = start_sink("");
    start_glia("[validation]\nmax_attempts = 3\n"
               "[ratelimit]\nip_burst = 1000\naddress_burst = 1000\n");
    happy_path();
    browser_and_next_link();
    bad_input();
    expiry_and_attempts();
    /* Tight limits, and a trusted proxy so the test can be many clients. */
    restart_glia("[ratelimit]\nip_burst = 4\nip_interval = 3600\n"
                 "address_burst = 3\naddress_interval = 3600\n"
                 "[http]\ntrusted_proxies = 127.0.0.1\n");
    rate_limits();
    smtp_failures();
    is_int(httptest_stop(&g, SIGTERM), 0, "clean exit");
    httptest_cleanup(&g);
    outbox();
    return done_testing();
}
