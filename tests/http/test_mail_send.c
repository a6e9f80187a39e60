/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mail_send() against real SMTP servers: tests/helpers/smtp_sink.py
 * (aiosmtpd) in plain, STARTTLS and implicit TLS modes, with AUTH, a server
 * that never greets, one that rejects recipients, and nothing listening at
 * all; plus the outbox and eight threads sending at once. The sink records
 * what arrived on the wire (line lengths, bare LFs, 8-bit octets, the
 * envelope), which is what strict servers care about.
 *
 * No database: the runner wraps tests/http/ in a PostgreSQL cluster, which
 * this test ignores. Skips (77) without python3-aiosmtpd or openssl.
 *
 * Environment: top_srcdir (default "."), MAIL_TEST_DEBUG=1 for glia's log.
 */
#include "mail/mail.h"
#include "httptest.h"
#include "tap.h"
#include "util/config.h"
#include "util/log.h"
#include "util/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#define PYTHON "/usr/bin/python3"

static char tmpdir[256];
static char certs[300];
static char sink_py[600];
static const char *srcdir = ".";

/* A rendered message as a template would produce it: LF endings, an
 * 8-bit subject, and a 5000-octet 8-bit line. */
static char *message;
static size_t message_len;

struct sink {
    pid_t pid;
    int port;
    char dir[400];
};

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run argv (a NULL-terminated list of strings), wait for it. */
static int
run_wait(const char *const argv[])
{
    pid_t pid = fork();
    int st;

    if (pid < 0)
        return -1;
    if (pid == 0) {
        execv(argv[0], (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

/* Start smtp_sink.py with extra arguments (NULL-terminated) in a fresh
 * directory tmpdir/name. Bails out if it does not come up within 10 s. */
static void
sink_start(struct sink *s, const char *name, ...)
{
    char port_file[450];
    const char *argv[32];
    int argc = 0;
    va_list ap;
    const char *a;

    snprintf(s->dir, sizeof(s->dir), "%s/%s", tmpdir, name);
    mkdir(s->dir, 0755);
    snprintf(port_file, sizeof(port_file), "%s.port", s->dir);
    unlink(port_file);
    argv[argc++] = PYTHON;
    argv[argc++] = sink_py;
    argv[argc++] = "--dir";
    argv[argc++] = s->dir;
    argv[argc++] = "--port-file";
    argv[argc++] = port_file;
    va_start(ap, name);
    for (a = va_arg(ap, const char *); a != NULL && argc < 30;
         a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    s->port = (int)httptest_spawn(argv, port_file, NULL, &s->pid);
}

static void
sink_stop(struct sink *s)
{
    int st;

    kill(s->pid, SIGTERM);
    waitpid(s->pid, &st, 0);
}

/* Messages the sink stored so far. */
static int
sink_count(const struct sink *s)
{
    DIR *d = opendir(s->dir);
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return 0;
    for (e = readdir(d); e != NULL; e = readdir(d)) {
        size_t l = strlen(e->d_name);

        if (l > 5 && strcmp(e->d_name + l - 5, ".json") == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* The sink's record of message n (waits up to 5 s for it). */
static json_t *
sink_record(const struct sink *s, int n)
{
    char path[450];
    double until = now_s() + 5;

    snprintf(path, sizeof(path), "%s/%d.json", s->dir, n);
    while (now_s() < until) {
        json_t *j = json_load_file(path, 0, NULL);

        if (j != NULL)
            return j;
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    return NULL;
}

static char *
sink_eml(const struct sink *s, int n)
{
    char path[450];
    FILE *f;
    char *buf;
    long len;

    snprintf(path, sizeof(path), "%s/%d.eml", s->dir, n);
    f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = xmalloc((size_t)len + 1);
    if (fread(buf, 1, (size_t)len, f) != (size_t)len)
        len = 0;
    buf[len] = '\0';
    fclose(f);
    return buf;
}

/* A mailer from an [email] section (the rest of the file is filler that
 * config_load() requires). The mailer borrows *cfgp: free it after. */
static struct mailer *
mailer_from(const char *email_ini, struct config **cfgp, char **why)
{
    char path[400];
    FILE *f;
    struct mailer *m;

    *cfgp = NULL;
    snprintf(path, sizeof(path), "%s/glia.conf", tmpdir);
    f = fopen(path, "w");
    if (f == NULL)
        return NULL;
    fprintf(f,
            "[general]\nserver_name = test.example\n"
            "[db]\ndsn = dbname=unused\n"
            "[crypto]\nsigning_key_file = /nonexistent\n"
            "[email]\nfrom = Glia Test <noreply@glia.test>\n%s%s",
            strstr(email_ini, "timeout") == NULL ? "timeout = 2\n" : "",
            email_ini);
    fclose(f);
    *cfgp = config_load(path, why);
    if (*cfgp == NULL)
        return NULL;
    m = mailer_new(*cfgp, why);
    if (m == NULL) {
        config_free(*cfgp);
        *cfgp = NULL;
    }
    return m;
}

/* Try a config that must be refused; frees whatever was made. */
static bool
mailer_refused(const char *email_ini, char **why)
{
    struct config *cfg;
    struct mailer *m = mailer_from(email_ini, &cfg, why);

    mailer_free(m);
    config_free(cfg);
    return m == NULL;
}

/* Send the standard message to `to` with a fresh mailer. */
static enum mail_result
send_with(const char *email_ini, const char *to, char **why, double *elapsed)
{
    char *mwhy = NULL;
    struct config *cfg;
    struct mailer *m = mailer_from(email_ini, &cfg, &mwhy);
    enum mail_result r;
    double t0;

    if (m == NULL) {
        *why = xasprintf("mailer_new: %s", mwhy != NULL ? mwhy : "?");
        free(mwhy);
        return MAIL_FAILED;
    }
    t0 = now_s();
    r = mail_send(m, to, message, message_len, why);
    if (elapsed != NULL)
        *elapsed = now_s() - t0;
    mailer_free(m);
    config_free(cfg);
    return r;
}

static bool
is_false_key(const json_t *j, const char *key)
{
    return json_is_false(json_object_get(j, key));
}

/* How many header fields called name (any case) the message has. */
static int
count_fields(const char *eml, const char *name)
{
    size_t n = strlen(name);
    const char *p = eml;
    int count = 0;

    while (p != NULL && *p != '\0' && !(p[0] == '\r' && p[1] == '\n')) {
        if (strncasecmp(p, name, n) == 0 && p[n] == ':')
            count++;
        p = strstr(p, "\r\n");
        if (p != NULL)
            p += 2;
    }
    return count;
}

/* The wire checks for one stored message. */
static void
check_record(
    const struct sink *s, int n, const char *to, bool tls, const char *label)
{
    json_t *j = sink_record(s, n);
    json_t *rcpt;
    char *eml;

    ok(j != NULL, "%s: message arrived", label);
    if (j == NULL)
        return;
    is_str(json_string_value(json_object_get(j, "mail_from")),
           "noreply@glia.test", "%s: envelope sender", label);
    rcpt = json_object_get(j, "rcpt_tos");
    ok(json_array_size(rcpt) == 1 &&
           strcmp(json_string_value(json_array_get(rcpt, 0)), to) == 0,
       "%s: envelope recipient %s", label, to);
    ok(json_integer_value(json_object_get(j, "max_line")) <= 78,
       "%s: longest line %lld <= 78", label,
       json_integer_value(json_object_get(j, "max_line")));
    ok(is_false_key(j, "bare_lf") && is_false_key(j, "bare_cr"),
       "%s: CRLF only", label);
    ok(is_false_key(j, "eight_bit"), "%s: 7-bit on the wire", label);
    ok(json_is_boolean(json_object_get(j, "tls")) &&
           json_boolean_value(json_object_get(j, "tls")) == tls,
       "%s: tls = %d", label, tls);
    json_decref(j);
    eml = sink_eml(s, n);
    ok(eml != NULL && strstr(eml, "\r\nSubject: =?UTF-8?") != NULL &&
           strstr(eml, "\r\nContent-Transfer-Encoding: quoted-printable\r\n") !=
               NULL &&
           strstr(eml, "\r\nMessage-ID: <") != NULL,
       "%s: normalised message (encoded subject, QP body, Message-ID)", label);
    ok(eml != NULL && count_fields(eml, "Message-ID") == 1 &&
           count_fields(eml, "Date") == 1 && count_fields(eml, "From") == 1 &&
           count_fields(eml, "To") == 1,
       "%s: libesmtp added no second Message-ID, Date, From or To", label);
    free(eml);
}

static void
test_plain(void)
{
    struct sink s;
    char ini[200];
    char *why = NULL;
    enum mail_result r;

    sink_start(&s, "plain", NULL);
    snprintf(ini, sizeof(ini), "smtp_host = 127.0.0.1\nsmtp_port = %d\n",
             s.port);
    r = send_with(ini, "user@example.org", &why, NULL);
    is_int(r, MAIL_OK, "plain: sent (%s)", why != NULL ? why : "");
    free(why);
    check_record(&s, 1, "user@example.org", false, "plain");

    /* AUTH configured but the server offers none: nothing is sent. */
    snprintf(ini, sizeof(ini),
             "smtp_host = 127.0.0.1\nsmtp_port = %d\nusername = u\n"
             "password = p\n",
             s.port);
    r = send_with(ini, "user@example.org", &why, NULL);
    ok(r == MAIL_FAILED && why != NULL && strstr(why, "AUTH") != NULL,
       "plain: AUTH required but not offered fails: %s",
       why != NULL ? why : "");
    is_int(sink_count(&s), 1, "plain: nothing delivered without AUTH");
    free(why);

    /* Bad recipients and bad messages are refused before connecting. */
    r = send_with(ini, "not an address", &why, NULL);
    is_int(r, MAIL_REFUSED, "invalid recipient refused: %s",
           why != NULL ? why : "");
    free(why);
    {
        static const char no_to[] = "From: a@b.org\n\nno To\n";
        char *m2 = NULL;
        struct config *cfg;
        struct mailer *m = mailer_from(ini, &cfg, &m2);

        r = m != NULL ? mail_send(m, "user@example.org", no_to,
                                  sizeof(no_to) - 1, &why)
                      : MAIL_FAILED;
        ok(r == MAIL_REFUSED && why != NULL && strstr(why, "To") != NULL,
           "message without To refused: %s", why != NULL ? why : "");
        free(why);
        free(m2);
        mailer_free(m);
        config_free(cfg);
    }
    sink_stop(&s);
}

static void
test_starttls(void)
{
    struct sink self;
    struct sink good;
    struct sink other;
    char ini[600];
    char *why = NULL;
    enum mail_result r;
    char cert[400];
    char key[400];

    snprintf(cert, sizeof(cert), "%s/self.pem", certs);
    snprintf(key, sizeof(key), "%s/self.key", certs);
    sink_start(&self, "starttls-self", "--mode", "starttls", "--tls-cert", cert,
               "--tls-key", key, NULL);
    snprintf(ini, sizeof(ini),
             "smtp_host = 127.0.0.1\nsmtp_port = %d\ntls = starttls\n",
             self.port);
    r = send_with(ini, "user@example.org", &why, NULL);
    ok(r == MAIL_FAILED && why != NULL && strstr(why, "certificate") != NULL,
       "starttls: self-signed certificate refused: %s", why != NULL ? why : "");
    free(why);
    is_int(sink_count(&self), 0, "starttls: nothing sent to it");

    snprintf(ini, sizeof(ini),
             "smtp_host = 127.0.0.1\nsmtp_port = %d\ntls = starttls\n"
             "verify_tls = false\n",
             self.port);
    r = send_with(ini, "user@example.org", &why, NULL);
    is_int(r, MAIL_OK, "starttls: verify_tls = false accepts it (%s)",
           why != NULL ? why : "");
    free(why);
    check_record(&self, 1, "user@example.org", true, "starttls no verify");
    sink_stop(&self);

    snprintf(cert, sizeof(cert), "%s/server.pem", certs);
    snprintf(key, sizeof(key), "%s/server.key", certs);
    sink_start(&good, "starttls-good", "--mode", "starttls", "--tls-cert", cert,
               "--tls-key", key, NULL);
    snprintf(ini, sizeof(ini),
             "smtp_host = 127.0.0.1\nsmtp_port = %d\ntls = starttls\n",
             good.port);
    r = send_with(ini, "user@example.org", &why, NULL);
    ok(r == MAIL_FAILED, "starttls: test CA not trusted by default: %s",
       why != NULL ? why : "");
    free(why);
    snprintf(ini, sizeof(ini),
             "smtp_host = 127.0.0.1\nsmtp_port = %d\ntls = starttls\n"
             "ca_file = %s/ca.pem\n",
             good.port, certs);
    r = send_with(ini, "user@example.org", &why, NULL);
    is_int(r, MAIL_OK, "starttls: verified with ca_file, IP name (%s)",
           why != NULL ? why : "");
    free(why);
    check_record(&good, 1, "user@example.org", true, "starttls");
    snprintf(ini, sizeof(ini),
             "smtp_host = localhost\nsmtp_port = %d\ntls = starttls\n"
             "ca_file = %s/ca.pem\n",
             good.port, certs);
    r = send_with(ini, "user2@example.org", &why, NULL);
    is_int(r, MAIL_OK, "starttls: verified by DNS name localhost (%s)",
           why != NULL ? why : "");
    free(why);
    sink_stop(&good);

    /* The same certificate on an address it does not name. */
    sink_start(&other, "starttls-wrongname", "--bind", "127.0.0.2", "--mode",
               "starttls", "--tls-cert", cert, "--tls-key", key, NULL);
    snprintf(ini, sizeof(ini),
             "smtp_host = 127.0.0.2\nsmtp_port = %d\ntls = starttls\n"
             "ca_file = %s/ca.pem\n",
             other.port, certs);
    r = send_with(ini, "user@example.org", &why, NULL);
    ok(r == MAIL_FAILED && why != NULL && strstr(why, "certificate") != NULL,
       "starttls: wrong host name refused: %s", why != NULL ? why : "");
    free(why);
    is_int(sink_count(&other), 0, "starttls: nothing sent to the wrong host");
    sink_stop(&other);
}

static void
test_implicit_tls(void)
{
    struct sink s;
    char ini[600];
    char *why = NULL;
    enum mail_result r;
    char cert[400];
    char key[400];

    snprintf(cert, sizeof(cert), "%s/server.pem", certs);
    snprintf(key, sizeof(key), "%s/server.key", certs);
    sink_start(&s, "tls", "--mode", "tls", "--tls-cert", cert, "--tls-key", key,
               "--auth", "alice:s3cret", NULL);
    snprintf(ini, sizeof(ini),
             "smtp_host = 127.0.0.1\nsmtp_port = %d\ntls = tls\n"
             "ca_file = %s/ca.pem\nusername = alice\npassword = s3cret\n",
             s.port, certs);
    r = send_with(ini, "user@example.org", &why, NULL);
    is_int(r, MAIL_OK, "implicit TLS with AUTH: sent (%s)",
           why != NULL ? why : "");
    free(why);
    check_record(&s, 1, "user@example.org", true, "implicit TLS");
    {
        json_t *j = sink_record(&s, 1);

        is_str(j != NULL ? json_string_value(json_object_get(j, "auth_user"))
                         : NULL,
               "alice", "implicit TLS: authenticated as alice");
        json_decref(j);
    }
    snprintf(ini, sizeof(ini),
             "smtp_host = 127.0.0.1\nsmtp_port = %d\ntls = tls\n", s.port);
    r = send_with(ini, "user@example.org", &why, NULL);
    ok(r == MAIL_FAILED && why != NULL && strstr(why, "certificate") != NULL,
       "implicit TLS: untrusted certificate refused: %s",
       why != NULL ? why : "");
    free(why);
    sink_stop(&s);
}

static void
test_auth(void)
{
    struct sink s;
    struct sink p;
    char ini[600];
    char *why = NULL;
    enum mail_result r;
    char cert[400];
    char key[400];

    snprintf(cert, sizeof(cert), "%s/server.pem", certs);
    snprintf(key, sizeof(key), "%s/server.key", certs);
    sink_start(&s, "auth", "--mode", "starttls", "--tls-cert", cert,
               "--tls-key", key, "--auth", "bob:hunter2", NULL);
    snprintf(ini, sizeof(ini),
             "smtp_host = 127.0.0.1\nsmtp_port = %d\ntls = starttls\n"
             "ca_file = %s/ca.pem\nusername = bob\npassword = hunter2\n",
             s.port, certs);
    r = send_with(ini, "user@example.org", &why, NULL);
    is_int(r, MAIL_OK, "starttls + AUTH: sent (%s)", why != NULL ? why : "");
    free(why);
    {
        json_t *j = sink_record(&s, 1);

        is_str(j != NULL ? json_string_value(json_object_get(j, "auth_user"))
                         : NULL,
               "bob", "starttls + AUTH: authenticated as bob");
        json_decref(j);
    }
    snprintf(ini, sizeof(ini),
             "smtp_host = 127.0.0.1\nsmtp_port = %d\ntls = starttls\n"
             "ca_file = %s/ca.pem\nusername = bob\npassword = wrongpass\n",
             s.port, certs);
    r = send_with(ini, "user@example.org", &why, NULL);
    ok(r == MAIL_FAILED && why != NULL && strstr(why, "AUTH") != NULL,
       "wrong password fails: %s", why != NULL ? why : "");
    ok(why == NULL || strstr(why, "wrongpass") == NULL,
       "the reason does not contain the password");
    free(why);
    is_int(sink_count(&s), 1, "wrong password: nothing delivered");
    sink_stop(&s);

    /* AUTH over plain text, when the operator chose tls = none. */
    sink_start(&p, "auth-plain", "--auth", "carol:pw", "--auth-plain-ok", NULL);
    snprintf(ini, sizeof(ini),
             "smtp_host = 127.0.0.1\nsmtp_port = %d\nusername = carol\n"
             "password = pw\n",
             p.port);
    r = send_with(ini, "user@example.org", &why, NULL);
    is_int(r, MAIL_OK, "plain + AUTH (tls = none): sent (%s)",
           why != NULL ? why : "");
    free(why);
    sink_stop(&p);
}

static void
test_failures(void)
{
    struct sink h;
    struct sink rj;
    struct sink ht;
    char ini[600];
    char *why = NULL;
    enum mail_result r;
    double t;
    int fd;
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    char cert[400];
    char key[400];

    sink_start(&h, "hang", "--hang", NULL);
    snprintf(ini, sizeof(ini), "smtp_host = 127.0.0.1\nsmtp_port = %d\n",
             h.port);
    r = send_with(ini, "user@example.org", &why, &t);
    ok(r == MAIL_FAILED && t < 4.0,
       "no greeting: fails in %.1f s (timeout 2 s): %s", t,
       why != NULL ? why : "");
    free(why);
    snprintf(ini, sizeof(ini),
             "smtp_host = 127.0.0.1\nsmtp_port = %d\ntls = starttls\n", h.port);
    r = send_with(ini, "user@example.org", &why, &t);
    ok(r == MAIL_FAILED && t < 4.0,
       "no greeting (starttls): fails in %.1f s: %s", t,
       why != NULL ? why : "");
    free(why);
    snprintf(ini, sizeof(ini),
             "smtp_host = 127.0.0.1\nsmtp_port = %d\ntls = tls\n", h.port);
    r = send_with(ini, "user@example.org", &why, &t);
    ok(r == MAIL_FAILED && t < 4.0,
       "no TLS handshake (tls): fails in %.1f s: %s", t,
       why != NULL ? why : "");
    free(why);
    sink_stop(&h);

    /* A port nobody listens on. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &alen);
    close(fd);
    snprintf(ini, sizeof(ini), "smtp_host = 127.0.0.1\nsmtp_port = %d\n",
             ntohs(a.sin_port));
    r = send_with(ini, "user@example.org", &why, &t);
    ok(r == MAIL_FAILED && t < 1.0 && why != NULL &&
           strstr(why, "connect") != NULL,
       "connection refused: fails fast (%.2f s): %s", t,
       why != NULL ? why : "");
    free(why);

    sink_start(&rj, "reject", "--reject", NULL);
    snprintf(ini, sizeof(ini), "smtp_host = 127.0.0.1\nsmtp_port = %d\n",
             rj.port);
    r = send_with(ini, "nobody@example.org", &why, NULL);
    ok(r == MAIL_REFUSED && why != NULL && strstr(why, "550") != NULL,
       "recipient rejected: MAIL_REFUSED: %s", why != NULL ? why : "");
    free(why);
    is_int(sink_count(&rj), 0, "rejected: nothing stored");
    sink_stop(&rj);

    /* STARTTLS required but the server does not offer it. */
    snprintf(cert, sizeof(cert), "%s/server.pem", certs);
    snprintf(key, sizeof(key), "%s/server.key", certs);
    sink_start(&ht, "nostarttls", NULL);
    snprintf(ini, sizeof(ini),
             "smtp_host = 127.0.0.1\nsmtp_port = %d\ntls = starttls\n"
             "ca_file = %s/ca.pem\n",
             ht.port, certs);
    r = send_with(ini, "user@example.org", &why, NULL);
    ok(r == MAIL_FAILED && why != NULL && strstr(why, "STARTTLS") != NULL,
       "starttls not offered: fails: %s", why != NULL ? why : "");
    free(why);
    is_int(sink_count(&ht), 0, "starttls not offered: nothing sent in clear");
    sink_stop(&ht);
}

static void
test_outbox(void)
{
    char dir[400];
    char ini[600];
    char *why = NULL;
    enum mail_result r;
    DIR *d;
    struct dirent *e;
    int emls = 0;
    int others = 0;
    char path[800] = "";
    bool refused;

    snprintf(dir, sizeof(dir), "%s/outbox", tmpdir);
    mkdir(dir, 0700);
    snprintf(ini, sizeof(ini), "outbox_dir = %s\n", dir);
    r = send_with(ini, "user@example.org", &why, NULL);
    is_int(r, MAIL_OK, "outbox: stored (%s)", why != NULL ? why : "");
    free(why);
    d = opendir(dir);
    for (e = d != NULL ? readdir(d) : NULL; e != NULL; e = readdir(d)) {
        size_t l = strlen(e->d_name);

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (l > 4 && strcmp(e->d_name + l - 4, ".eml") == 0) {
            emls++;
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        } else {
            others++;
        }
    }
    if (d != NULL)
        closedir(d);
    is_int(emls, 1, "outbox: one .eml file");
    is_int(others, 0, "outbox: no temporary files left");
    if (path[0] != '\0') {
        struct stat st;
        FILE *f = fopen(path, "rb");
        char buf[65536];
        size_t n = f != NULL ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
        char *p;
        bool crlf = true;

        if (f != NULL)
            fclose(f);
        buf[n] = '\0';
        ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644,
           "outbox: mode 0644");
        for (p = buf; *p != '\0'; p++)
            if (*p == '\n' && (p == buf || p[-1] != '\r'))
                crlf = false;
        ok(crlf && strstr(buf, "Content-Transfer-Encoding: "
                               "quoted-printable") != NULL,
           "outbox: the normalised message (CRLF, QP)");
    }
    snprintf(ini, sizeof(ini), "outbox_dir = %s/missing\n", tmpdir);
    why = NULL;
    refused = mailer_refused(ini, &why);
    ok(refused && why != NULL && strstr(why, "outbox_dir") != NULL,
       "outbox: missing directory refused at start: %s",
       why != NULL ? why : "");
    free(why);
}

/* A config mailer_new() must refuse, with a reason that names want. */
static void
config_refused(const char *ini, const char *want, const char *label)
{
    char *why = NULL;
    bool refused = mailer_refused(ini, &why);

    ok(refused && why != NULL && strstr(why, want) != NULL, "%s: %s", label,
       why != NULL ? why : "(accepted)");
    free(why);
}

static void
test_config_errors(void)
{
    config_refused("from = nobody\n", "[email] from",
                   "from without an address refused");
    config_refused("username = u\n", "password",
                   "username without password refused");
    config_refused("tls = starttls\nca_file = /nonexistent.pem\n", "ca_file",
                   "unreadable ca_file refused");
    config_refused("hostname = bad host\n", "hostname", "bad hostname refused");
}

struct worker {
    struct mailer *m;
    char to[64];
    enum mail_result r;
    char *why;
};

static void *
worker_main(void *arg)
{
    struct worker *w = arg;

    w->r = mail_send(w->m, w->to, message, message_len, &w->why);
    return NULL;
}

static void
test_concurrency(void)
{
    struct sink s;
    char ini[600];
    char *why = NULL;
    struct config *cfg;
    struct mailer *m;
    struct worker w[8];
    pthread_t t[8];
    int i;
    int good = 0;
    bool seen[8] = {false};
    char cert[400];
    char key[400];

    snprintf(cert, sizeof(cert), "%s/server.pem", certs);
    snprintf(key, sizeof(key), "%s/server.key", certs);
    sink_start(&s, "concurrent", "--mode", "starttls", "--tls-cert", cert,
               "--tls-key", key, "--auth", "dave:pw8", NULL);
    snprintf(ini, sizeof(ini),
             "smtp_host = 127.0.0.1\nsmtp_port = %d\ntls = starttls\n"
             "ca_file = %s/ca.pem\nusername = dave\npassword = pw8\n"
             "timeout = 10\n",
             s.port, certs);
    m = mailer_from(ini, &cfg, &why);
    ok(m != NULL, "concurrency: mailer (%s)", why != NULL ? why : "");
    free(why);
    if (m == NULL) {
        sink_stop(&s);
        return;
    }
    for (i = 0; i < 8; i++) {
        w[i].m = m;
        snprintf(w[i].to, sizeof(w[i].to), "user%d@example.org", i);
        w[i].why = NULL;
        pthread_create(&t[i], NULL, worker_main, &w[i]);
    }
    for (i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        if (w[i].r == MAIL_OK)
            good++;
        else
            diag("thread %d: %s", i, w[i].why != NULL ? w[i].why : "");
        free(w[i].why);
    }
    is_int(good, 8, "concurrency: 8 threads sent at once");
    for (i = 1; i <= 8; i++) {
        json_t *j = sink_record(&s, i);
        json_t *rcpt = j != NULL ? json_object_get(j, "rcpt_tos") : NULL;
        int k;

        if (rcpt != NULL &&
            sscanf(json_string_value(json_array_get(rcpt, 0)) != NULL
                       ? json_string_value(json_array_get(rcpt, 0))
                       : "",
                   "user%d@", &k) == 1 &&
            k >= 0 && k < 8)
            seen[k] = true;
        json_decref(j);
    }
    for (i = 0, good = 0; i < 8; i++)
        good += seen[i] ? 1 : 0;
    is_int(good, 8, "concurrency: all 8 recipients arrived");
    mailer_free(m);
    config_free(cfg);
    sink_stop(&s);
}

static void
make_message(void)
{
    static const char unit[] = "Gr\xc3\xbc\xc3\x9f"
                               "e \xe6\x97\xa5\xe6\x9c\xac ";
    size_t n = 0;
    char *line = xmalloc(5100);

    while (n + sizeof(unit) - 1 < 5000) {
        memcpy(line + n, unit, sizeof(unit) - 1);
        n += sizeof(unit) - 1;
    }
    line[n] = '\0';
    message = xasprintf("From: Glia Test <noreply@glia.test>\n"
                        "To: user@example.org\n"
                        "Subject: Best\xc3\xa4tigen Sie Ihre Adresse\n"
                        "MIME-Version: 1.0\n"
                        "Content-Type: text/plain; charset=UTF-8\n\n"
                        "Your code: 123456\n%s\n.\n..leading dots\n",
                        line);
    message_len = strlen(message);
    free(line);
}

static void
cleanup(void)
{
    const char *argv[] = {"/bin/rm", "-rf", tmpdir, NULL};

    if (tmpdir[0] != '\0' && getenv("MAIL_TEST_KEEP") == NULL)
        run_wait(argv);
}

int
main(void)
{
    char mk[600];
    const char *check[] = {PYTHON, "-c", "import aiosmtpd", NULL};
    const char *certs_argv[4];

    signal(SIGPIPE, SIG_IGN);
    if (getenv("top_srcdir") != NULL)
        srcdir = getenv("top_srcdir");
    log_set_level(getenv("MAIL_TEST_DEBUG") != NULL ? LOG_LVL_DEBUG
                                                    : LOG_LVL_ERROR);
    if (sodium_init() < 0)
        skip_all("sodium_init failed");
    if (access(PYTHON, X_OK) != 0 || run_wait(check) != 0)
        skip_all("python3-aiosmtpd is not installed");
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/glia-mail-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        skip_all("mkdtemp failed");
    atexit(cleanup);
    snprintf(sink_py, sizeof(sink_py), "%s/tests/helpers/smtp_sink.py", srcdir);
    snprintf(certs, sizeof(certs), "%s/certs", tmpdir);
    snprintf(mk, sizeof(mk), "%s/tests/helpers/make-certs.sh", srcdir);
    certs_argv[0] = "/bin/sh";
    certs_argv[1] = mk;
    certs_argv[2] = certs;
    certs_argv[3] = NULL;
    switch (run_wait(certs_argv)) {
    case 0:
        break;
    case 77:
        skip_all("openssl is not installed");
    default:
        skip_all("make-certs.sh failed");
    }
    make_message();
    plan_no_plan();
    test_config_errors();
    test_plain();
    test_starttls();
    test_implicit_tls();
    test_auth();
    test_failures();
    test_outbox();
    test_concurrency();
    free(message);
    return done_testing();
}
