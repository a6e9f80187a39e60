/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The SMTP relay: the connection libesmtp talks to.
 *
 * Why a relay. libesmtp 1.1 runs the SMTP dialogue well, but it cannot do
 * implicit TLS (port 465), it connects with a blocking connect() that no
 * timeout bounds, it does not send SNI, its own certificate name check
 * knows no IP addresses, and when AUTH fails or is not offered it carries
 * on with MAIL FROM anyway (a server that accepts unauthenticated mail then
 * gets it). So libesmtp connects, in plain text, to a loopback port owned
 * by a thread of ours, and that thread owns the real connection:
 *
 *   - connect: non-blocking, bounded by [email] timeout per address tried;
 *   - tls = tls: TLS handshake right away; tls = starttls: the relay reads
 *     the greeting, sends EHLO and STARTTLS itself, refuses plain text that
 *     arrives before the handshake (STARTTLS injection), shakes hands, and
 *     then hands libesmtp the original greeting -- libesmtp's EHLO is then
 *     the one RFC 3207 requires after TLS;
 *   - TLS: OpenSSL's own chain and host name (or IP address) verification
 *     with SNI, TLS 1.2 or later, unless [email] verify_tls = false;
 *   - every step (each server reply, each write) bounded by the timeout;
 *   - libesmtp's commands are inspected until MAIL FROM: when AUTH is
 *     required, MAIL FROM is held back (never reaches the server) unless
 *     the server accepted an AUTH, and the session is cut. Only the
 *     command verbs and the server's replies are looked at; client lines
 *     (which carry the password during AUTH) are never stored.
 *
 * The loopback port lives for one send. Another local process could race
 * libesmtp to it; the relay accepts only a connection whose other end is a
 * socket of this process (checked through /proc/self/fd), so such a
 * process gets nothing, and the send just fails.
 *
 * Writes use MSG_NOSIGNAL where we write; OpenSSL and libesmtp write with
 * write(), so the process must ignore SIGPIPE (glia.c does).
 */
#include "mail/mail.h"
#include "mail/mail_internal.h"
#include "util/log.h"
#include "util/mem.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* Longest command line inspected before MAIL FROM (AUTH lines included). */
#define CLINE_MAX 4096
/* Longest server reply line kept for the log. */
#define SLINE_MAX 512
/* Largest reply (greeting, EHLO) read before the relay starts relaying. */
#define REPLY_MAX 8192

struct relay {
    struct relay_params p; /* strings borrowed from the caller */
    int listen_fd;
    struct sockaddr_in listen_addr;
    int cancel[2]; /* the caller writes to [1] to wake the thread */
    pthread_t thread;
    int client_fd; /* libesmtp's connection */
    int server_fd; /* the real server */
    SSL *ssl;

    char rbuf[REPLY_MAX]; /* server bytes not yet consumed (plain phase) */
    size_t rlen;

    char cline[CLINE_MAX]; /* partial command line from libesmtp */
    size_t clen;
    char sline[SLINE_MAX]; /* partial reply line from the server */
    size_t slen;
    bool passthrough; /* MAIL FROM went through: stop inspecting */
    bool auth_pending;

    /* results, read by the caller after relay_finish() */
    char error[MH_ERR_SIZE];
    char last_reply[MH_ERR_SIZE];
    char auth_reply[MH_ERR_SIZE];
    bool authenticated;
    bool auth_failed;
};

static void set_error(struct relay *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_error(struct relay *r, const char *fmt, ...)
{
    va_list ap;

    if (r->error[0] != '\0')
        return; /* the first failure is the interesting one */
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof(r->error), fmt, ap);
    va_end(ap);
}

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A retryable errno from a non-blocking call. */
static bool
again(int e)
{
#if EAGAIN == EWOULDBLOCK
    return e == EAGAIN || e == EINTR;
#else
    return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
#endif
}

static int
set_nonblock_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -1;
    return 0;
}

/* Keep a printable, single-line copy of a server reply for the log. */
static void
sanitize(char *dst, size_t dstlen, const char *src, size_t n)
{
    size_t o = 0;
    size_t i;

    for (i = 0; i < n && o + 1 < dstlen; i++) {
        unsigned char c = (unsigned char)src[i];

        if (c == '\r' || c == '\n')
            continue;
        dst[o++] = (c >= 32 && c < 127) ? (char)c : '?';
    }
    dst[o] = '\0';
}

/* Wait until fd is ready for events. @return 1 ready, 0 deadline passed,
 * -1 cancelled by the caller or poll failed. */
static int
wait_fd(struct relay *r, int fd, short events, long long deadline)
{
    for (;;) {
        struct pollfd pfd[2];
        long long left = deadline - now_ms();
        int n;

        if (left <= 0)
            return 0;
        pfd[0].fd = fd;
        pfd[0].events = events;
        pfd[0].revents = 0;
        pfd[1].fd = r->cancel[0];
        pfd[1].events = POLLIN;
        pfd[1].revents = 0;
        n = poll(pfd, 2, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || pfd[1].revents != 0)
            return -1;
        if (n == 0)
            return 0;
        return 1;
    }
}

static int
timeout_s(const struct relay *r)
{
    return r->p.timeout_ms / 1000;
}

/* ---- the loopback side ------------------------------------------------ */

/* Is the peer of an accepted loopback connection one of our own sockets,
 * connected to our listener? */
static bool
peer_is_ours(const struct relay *r, const struct sockaddr_in *peer)
{
    DIR *d = opendir("/proc/self/fd");
    bool found = false;

    if (d == NULL)
        return true; /* no /proc: cannot tell; see the file comment */
    while (!found) {
        struct dirent *e = readdir(d);
        struct sockaddr_in a;
        struct sockaddr_in b;
        socklen_t la = sizeof(a);
        socklen_t lb = sizeof(b);
        char *end;
        long fd;

        if (e == NULL)
            break;
        fd = strtol(e->d_name, &end, 10);
        if (*end != '\0' || end == e->d_name || fd < 0 || fd > 1 << 24)
            continue;
        if (getsockname((int)fd, (struct sockaddr *)&a, &la) != 0 ||
            la != sizeof(a) || a.sin_family != AF_INET ||
            a.sin_port != peer->sin_port ||
            a.sin_addr.s_addr != peer->sin_addr.s_addr)
            continue;
        if (getpeername((int)fd, (struct sockaddr *)&b, &lb) == 0 &&
            lb == sizeof(b) && b.sin_family == AF_INET &&
            b.sin_port == r->listen_addr.sin_port &&
            b.sin_addr.s_addr == r->listen_addr.sin_addr.s_addr)
            found = true;
    }
    closedir(d);
    return found;
}

static int
accept_client(struct relay *r)
{
    long long deadline = now_ms() + r->p.timeout_ms;

    for (;;) {
        struct sockaddr_in peer;
        socklen_t plen = sizeof(peer);
        int w = wait_fd(r, r->listen_fd, POLLIN, deadline);
        int fd;

        if (w == 0)
            set_error(r, "internal: libesmtp did not connect to the relay");
        if (w <= 0)
            return -1;
        fd = accept(r->listen_fd, (struct sockaddr *)&peer, &plen);
        if (fd < 0) {
            if (again(errno) || errno == ECONNABORTED)
                continue;
            set_error(r, "internal: relay accept: %s", strerror(errno));
            return -1;
        }
        if (plen == sizeof(peer) && peer.sin_family == AF_INET &&
            peer_is_ours(r, &peer) && set_nonblock_cloexec(fd) == 0) {
            r->client_fd = fd;
            return 0;
        }
        LOG_WARN("mail: dropped a foreign connection to the SMTP relay's "
                 "loopback port");
        close(fd);
    }
}

static int
client_write_all(struct relay *r, const char *p, size_t n)
{
    long long deadline = now_ms() + r->p.timeout_ms;

    while (n > 0) {
        ssize_t w = send(r->client_fd, p, n, MSG_NOSIGNAL);

        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && again(errno)) {
            if (wait_fd(r, r->client_fd, POLLOUT, deadline) <= 0)
                return -1;
            continue;
        }
        return -1; /* libesmtp has gone: nothing to report */
    }
    return 0;
}

/* ---- the server side -------------------------------------------------- */

static int
connect_server(struct relay *r)
{
    struct addrinfo hints;
    struct addrinfo *res;
    struct addrinfo *ai;
    int rc;
    char last[160] = "no address";

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(r->p.host, r->p.port, &hints, &res);
    if (rc != 0) {
        set_error(r, "cannot resolve SMTP server %s: %s", r->p.host,
                  gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        long long deadline = now_ms() + r->p.timeout_ms;
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        int err = 0;
        socklen_t elen = sizeof(err);
        int w;

        if (fd < 0) {
            snprintf(last, sizeof(last), "%s", strerror(errno));
            continue;
        }
        if (set_nonblock_cloexec(fd) != 0) {
            snprintf(last, sizeof(last), "%s", strerror(errno));
            close(fd);
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            r->server_fd = fd;
            break;
        }
        if (errno != EINPROGRESS) {
            snprintf(last, sizeof(last), "%s", strerror(errno));
            close(fd);
            continue;
        }
        w = wait_fd(r, fd, POLLOUT, deadline);
        if (w < 0) {
            close(fd);
            freeaddrinfo(res);
            return -1;
        }
        if (w == 0) {
            snprintf(last, sizeof(last), "no answer within %d s", timeout_s(r));
            close(fd);
            continue;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
            err = errno;
        if (err != 0) {
            snprintf(last, sizeof(last), "%s", strerror(err));
            close(fd);
            continue;
        }
        r->server_fd = fd;
        break;
    }
    freeaddrinfo(res);
    if (r->server_fd < 0) {
        set_error(r, "cannot connect to SMTP server %s port %s: %s", r->p.host,
                  r->p.port, last);
        return -1;
    }
    return 0;
}

/* Read from the server (plain or TLS). @return octets read, 0 on EOF, -1
 * on error, -2 if nothing is available yet (*want_write: TLS needs the
 * socket writable first). */
static ssize_t
server_read(struct relay *r, char *buf, size_t n, bool *want_write)
{
    *want_write = false;
    if (r->ssl != NULL) {
        int got;
        int e;

        ERR_clear_error();
        got = SSL_read(r->ssl, buf, n > 1 << 30 ? 1 << 30 : (int)n);
        if (got > 0)
            return got;
        e = SSL_get_error(r->ssl, got);
        if (e == SSL_ERROR_WANT_READ)
            return -2;
        if (e == SSL_ERROR_WANT_WRITE) {
            *want_write = true;
            return -2;
        }
        return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
    }
    for (;;) {
        ssize_t got = recv(r->server_fd, buf, n, 0);

        if (got >= 0)
            return got;
        if (errno == EINTR)
            continue;
        return again(errno) ? -2 : -1;
    }
}

static int
server_write_all(struct relay *r, const char *p, size_t n)
{
    long long deadline = now_ms() + r->p.timeout_ms;

    while (n > 0) {
        short ev = POLLOUT;

        if (r->ssl != NULL) {
            int w;
            int e;

            ERR_clear_error();
            w = SSL_write(r->ssl, p, n > 1 << 30 ? 1 << 30 : (int)n);
            if (w > 0) {
                p += w;
                n -= (size_t)w;
                continue;
            }
            e = SSL_get_error(r->ssl, w);
            if (e == SSL_ERROR_WANT_READ)
                ev = POLLIN;
            else if (e != SSL_ERROR_WANT_WRITE)
                goto fail;
        } else {
            ssize_t w = send(r->server_fd, p, n, MSG_NOSIGNAL);

            if (w > 0) {
                p += w;
                n -= (size_t)w;
                continue;
            }
            if (w < 0 && !again(errno))
                goto fail;
        }
        switch (wait_fd(r, r->server_fd, ev, deadline)) {
        case 1:
            continue;
        case 0:
            set_error(r, "the SMTP server took more than %d s to accept data",
                      timeout_s(r));
            return -1;
        default:
            return -1;
        }
    }
    return 0;
fail:
    set_error(r, "lost the connection to the SMTP server while writing");
    return -1;
}

/* Read one complete reply in the plain phase (before relaying). The raw
 * octets go to raw (if not NULL). @return the reply code, or -1. */
static int
read_reply(
    struct relay *r, const char *what, char *raw, size_t rawsz, size_t *rawlen)
{
    long long deadline = now_ms() + r->p.timeout_ms;

    for (;;) {
        size_t pos = 0;
        bool want_write;
        ssize_t got;
        int w;

        while (pos < r->rlen) {
            char *line = r->rbuf + pos;
            char *nl = memchr(line, '\n', r->rlen - pos);
            size_t len;

            if (nl == NULL)
                break;
            len = (size_t)(nl - line) + 1;
            pos += len;
            if (len < 4 || line[0] < '0' || line[0] > '9' || line[1] < '0' ||
                line[1] > '9' || line[2] < '0' || line[2] > '9') {
                set_error(r, "malformed SMTP reply to %s", what);
                return -1;
            }
            if (line[3] == '-')
                continue;
            sanitize(r->last_reply, sizeof(r->last_reply), line, len);
            if (raw != NULL) {
                if (pos > rawsz) {
                    set_error(r, "SMTP reply to %s too long", what);
                    return -1;
                }
                memcpy(raw, r->rbuf, pos);
                *rawlen = pos;
            }
            memmove(r->rbuf, r->rbuf + pos, r->rlen - pos);
            r->rlen -= pos;
            return (line[0] - '0') * 100 + (line[1] - '0') * 10 +
                   (line[2] - '0');
        }
        if (r->rlen == sizeof(r->rbuf)) {
            set_error(r, "SMTP reply to %s too long", what);
            return -1;
        }
        got = server_read(r, r->rbuf + r->rlen, sizeof(r->rbuf) - r->rlen,
                          &want_write);
        if (got > 0) {
            r->rlen += (size_t)got;
            continue;
        }
        if (got != -2) {
            set_error(r,
                      "the SMTP server closed the connection before its "
                      "reply to %s",
                      what);
            return -1;
        }
        w = wait_fd(r, r->server_fd, POLLIN, deadline);
        if (w == 0)
            set_error(r, "no reply to %s from the SMTP server within %d s",
                      what, timeout_s(r));
        if (w <= 0)
            return -1;
    }
}

/* Does an EHLO reply (raw, n octets) announce STARTTLS? */
static bool
offers_starttls(const char *raw, size_t n)
{
    size_t pos = 0;

    while (pos < n) {
        const char *line = raw + pos;
        const char *nl = memchr(line, '\n', n - pos);
        size_t len = nl == NULL ? n - pos : (size_t)(nl - line) + 1;

        if (len >= 12 && strncasecmp(line + 4, "STARTTLS", 8) == 0 &&
            (line[12] == '\r' || line[12] == '\n' || line[12] == ' '))
            return true;
        pos += len;
    }
    return false;
}

static bool
is_ip_literal(const char *host)
{
    unsigned char tmp[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, host, tmp) == 1 ||
           inet_pton(AF_INET6, host, tmp) == 1;
}

static int
tls_handshake(struct relay *r)
{
    long long deadline = now_ms() + r->p.timeout_ms;
    bool ip = is_ip_literal(r->p.host);

    ERR_clear_error();
    r->ssl = SSL_new(r->p.ssl_ctx);
    if (r->ssl == NULL || SSL_set_fd(r->ssl, r->server_fd) != 1) {
        set_error(r, "internal: cannot set up TLS");
        return -1;
    }
    if (!ip) {
        /* SNI; the macro takes a non-const pointer. */
        char sni[256];

        snprintf(sni, sizeof(sni), "%s", r->p.host);
        SSL_set_tlsext_host_name(r->ssl, sni);
    }
    if (r->p.verify) {
        SSL_set_verify(r->ssl, SSL_VERIFY_PEER, NULL);
        if ((ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(r->ssl),
                                                r->p.host)
                : SSL_set1_host(r->ssl, r->p.host)) != 1) {
            set_error(r, "internal: cannot set the TLS peer name");
            return -1;
        }
    } else {
        SSL_set_verify(r->ssl, SSL_VERIFY_NONE, NULL);
    }
    for (;;) {
        int rc = SSL_connect(r->ssl);
        int e;
        int w;
        long vr;
        unsigned long ec;

        if (rc == 1)
            return 0;
        e = SSL_get_error(r->ssl, rc);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            w = wait_fd(r, r->server_fd,
                        e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
            if (w == 0)
                set_error(r, "TLS handshake with %s not done within %d s",
                          r->p.host, timeout_s(r));
            if (w <= 0)
                return -1;
            continue;
        }
        vr = SSL_get_verify_result(r->ssl);
        ec = ERR_peek_error();
        if (r->p.verify && vr != X509_V_OK)
            set_error(r, "TLS: certificate of SMTP server %s not accepted: %s",
                      r->p.host, X509_verify_cert_error_string(vr));
        else
            set_error(r, "TLS handshake with SMTP server %s failed: %s",
                      r->p.host,
                      ec != 0 ? ERR_reason_error_string(ec) != NULL
                                    ? ERR_reason_error_string(ec)
                                    : "unknown error"
                              : "connection closed");
        return -1;
    }
}

/* tls = starttls: greeting, EHLO, STARTTLS, handshake; then give libesmtp
 * the server's greeting. */
static int
starttls(struct relay *r)
{
    char greeting[REPLY_MAX];
    size_t glen = 0;
    char raw[REPLY_MAX];
    size_t rawlen = 0;
    char cmd[300];
    int code;

    code = read_reply(r, "the connection (greeting)", greeting,
                      sizeof(greeting), &glen);
    if (code < 0)
        return -1;
    if (code != 220) {
        set_error(r, "SMTP server refused the connection: %s", r->last_reply);
        return -1;
    }
    snprintf(cmd, sizeof(cmd), "EHLO %s\r\n", r->p.ehlo_name);
    if (server_write_all(r, cmd, strlen(cmd)) != 0)
        return -1;
    code = read_reply(r, "EHLO", raw, sizeof(raw), &rawlen);
    if (code < 0)
        return -1;
    if (code != 250) {
        set_error(r, "SMTP server refused EHLO: %s", r->last_reply);
        return -1;
    }
    if (!offers_starttls(raw, rawlen)) {
        set_error(r,
                  "SMTP server %s does not offer STARTTLS ([email] tls = "
                  "starttls)",
                  r->p.host);
        return -1;
    }
    if (server_write_all(r, "STARTTLS\r\n", 10) != 0)
        return -1;
    code = read_reply(r, "STARTTLS", NULL, 0, NULL);
    if (code < 0)
        return -1;
    if (code != 220) {
        set_error(r, "SMTP server refused STARTTLS: %s", r->last_reply);
        return -1;
    }
    if (r->rlen != 0) {
        set_error(r, "SMTP server sent data before the TLS handshake "
                     "(STARTTLS injection?)");
        return -1;
    }
    if (tls_handshake(r) != 0)
        return -1;
    return client_write_all(r, greeting, glen);
}

/* ---- relaying ------------------------------------------------------------ */

static bool
verb_is(const char *line, size_t len, const char *verb)
{
    size_t n = strlen(verb);

    return len >= n && strncasecmp(line, verb, n) == 0;
}

/* A complete command line from libesmtp. @return 0 to forward it, -1 to
 * cut the session. */
static int
inspect_command(struct relay *r, const char *line, size_t len)
{
    if (r->auth_pending)
        return 0; /* a SASL response: opaque */
    if (verb_is(line, len, "AUTH ")) {
        r->auth_pending = true;
        return 0;
    }
    if (verb_is(line, len, "STARTTLS")) {
        set_error(r, "internal: libesmtp tried STARTTLS through the relay");
        return -1;
    }
    if (verb_is(line, len, "MAIL FROM:")) {
        if (r->p.require_auth && !r->authenticated) {
            if (r->auth_failed)
                set_error(r, "SMTP AUTH failed: %s", r->auth_reply);
            else
                set_error(r,
                          "SMTP server %s offered no usable AUTH "
                          "mechanism (PLAIN, LOGIN, CRAM-MD5)",
                          r->p.host);
            return -1;
        }
        r->passthrough = true;
    }
    return 0;
}

/* Bytes from libesmtp: inspected line by line until MAIL FROM, then
 * passed straight through. */
static int
from_client(struct relay *r, const char *p, size_t n)
{
    while (n > 0 && !r->passthrough) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl == NULL ? n : (size_t)(nl - p) + 1;

        if (r->clen + take > sizeof(r->cline)) {
            set_error(r, "internal: overlong SMTP command from libesmtp");
            return -1;
        }
        memcpy(r->cline + r->clen, p, take);
        r->clen += take;
        p += take;
        n -= take;
        if (nl == NULL)
            break; /* wait for the rest of the line */
        if (inspect_command(r, r->cline, r->clen) != 0)
            return -1;
        if (server_write_all(r, r->cline, r->clen) != 0)
            return -1;
        r->clen = 0;
    }
    if (n > 0 && r->passthrough)
        return server_write_all(r, p, n);
    return 0;
}

/* A complete reply line from the server: remember it, follow AUTH. */
static void
inspect_reply(struct relay *r, const char *line, size_t len)
{
    int code;

    if (len < 3 || line[0] < '0' || line[0] > '9' || line[1] < '0' ||
        line[1] > '9' || line[2] < '0' || line[2] > '9')
        return;
    if (len > 3 && line[3] == '-')
        return; /* not the last line of the reply */
    sanitize(r->last_reply, sizeof(r->last_reply), line, len);
    code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (!r->auth_pending || code == 334)
        return;
    r->auth_pending = false;
    if (code / 100 == 2) {
        r->authenticated = true;
    } else {
        r->auth_failed = true;
        snprintf(r->auth_reply, sizeof(r->auth_reply), "%s", r->last_reply);
    }
}

static int
to_client(struct relay *r, const char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i] == '\n') {
            inspect_reply(r, r->sline, r->slen);
            r->slen = 0;
        } else if (r->slen < sizeof(r->sline)) {
            r->sline[r->slen++] = p[i];
        }
    }
    return client_write_all(r, p, n);
}

/* A whole session may take this many step timeouts, and no more: each
 * step is bounded, but a server trickling one byte per step is not. */
#define RELAY_SESSION_STEPS 5

static void
relay_loop(struct relay *r)
{
    char buf[16384];
    long long session_end =
        now_ms() + (long long)RELAY_SESSION_STEPS * r->p.timeout_ms;

    for (;;) {
        struct pollfd pfd[3];
        bool pending = r->ssl != NULL && SSL_pending(r->ssl) > 0;
        bool want_write = false;
        long long left = session_end - now_ms();
        int wait;
        int n;

        if (left <= 0) {
            set_error(r, "the SMTP session took longer than %d s",
                      RELAY_SESSION_STEPS * timeout_s(r));
            return;
        }
        wait = left < r->p.timeout_ms ? (int)left : r->p.timeout_ms;

        pfd[0].fd = r->client_fd;
        pfd[0].events = POLLIN;
        pfd[1].fd = r->server_fd;
        pfd[1].events = POLLIN;
        pfd[2].fd = r->cancel[0];
        pfd[2].events = POLLIN;
        pfd[0].revents = pfd[1].revents = pfd[2].revents = 0;
        n = poll(pfd, 3, pending ? 0 : wait);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || pfd[2].revents != 0)
            return; /* libesmtp is done */
        if (n == 0 && !pending) {
            if (wait < r->p.timeout_ms)
                continue; /* the session deadline: reported above */
            set_error(r, "the SMTP server sent nothing for %d s", timeout_s(r));
            return;
        }
        if (pfd[0].revents != 0) {
            ssize_t got = recv(r->client_fd, buf, sizeof(buf), 0);

            if (got == 0)
                return; /* libesmtp closed: the session is over */
            if (got < 0 && !again(errno))
                return;
            if (got > 0 && from_client(r, buf, (size_t)got) != 0)
                return;
        }
        if (pending || pfd[1].revents != 0) {
            ssize_t got = server_read(r, buf, sizeof(buf), &want_write);

            if (got == -2) {
                if (want_write && wait_fd(r, r->server_fd, POLLOUT,
                                          now_ms() + r->p.timeout_ms) <= 0)
                    return;
                continue;
            }
            if (got <= 0)
                return; /* the server closed: libesmtp sees EOF next */
            if (to_client(r, buf, (size_t)got) != 0)
                return;
        }
    }
}

static void *
relay_main(void *arg)
{
    struct relay *r = arg;

    if (accept_client(r) == 0) {
        close(r->listen_fd);
        r->listen_fd = -1;
        if (connect_server(r) == 0) {
            int rc = 0;

            if (r->p.tls == RELAY_IMPLICIT)
                rc = tls_handshake(r);
            else if (r->p.tls == RELAY_STARTTLS)
                rc = starttls(r);
            if (rc == 0)
                relay_loop(r);
        }
    }
    if (r->ssl != NULL) {
        (void)SSL_shutdown(r->ssl); /* best effort, never waits */
        SSL_free(r->ssl);
        r->ssl = NULL;
    }
    if (r->server_fd >= 0) {
        close(r->server_fd);
        r->server_fd = -1;
    }
    if (r->client_fd >= 0) {
        close(r->client_fd); /* libesmtp sees EOF: it stops waiting */
        r->client_fd = -1;
    }
    ERR_clear_error(); /* OpenSSL's per-thread error queue */
    return NULL;
}

struct relay *
relay_start(const struct relay_params *p,
            char *hostport,
            size_t hostport_len,
            char *err)
{
    struct relay *r = xcalloc(1, sizeof(*r));
    socklen_t alen = sizeof(r->listen_addr);

    r->p = *p;
    r->client_fd = -1;
    r->server_fd = -1;
    r->cancel[0] = r->cancel[1] = -1;
    r->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&r->listen_addr, 0, sizeof(r->listen_addr));
    r->listen_addr.sin_family = AF_INET;
    r->listen_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    r->listen_addr.sin_port = 0;
    if (r->listen_fd < 0 || set_nonblock_cloexec(r->listen_fd) != 0 ||
        bind(r->listen_fd, (struct sockaddr *)&r->listen_addr,
             sizeof(r->listen_addr)) != 0 ||
        listen(r->listen_fd, 4) != 0 ||
        getsockname(r->listen_fd, (struct sockaddr *)&r->listen_addr, &alen) !=
            0 ||
        pipe(r->cancel) != 0 || set_nonblock_cloexec(r->cancel[0]) != 0 ||
        set_nonblock_cloexec(r->cancel[1]) != 0) {
        snprintf(err, MH_ERR_SIZE, "internal: cannot set up the SMTP relay: %s",
                 strerror(errno));
        goto fail;
    }
    snprintf(hostport, hostport_len, "127.0.0.1:%u",
             (unsigned)ntohs(r->listen_addr.sin_port));
    if (pthread_create(&r->thread, NULL, relay_main, r) != 0) {
        snprintf(err, MH_ERR_SIZE, "internal: cannot start the SMTP relay");
        goto fail;
    }
    return r;
fail:
    if (r->listen_fd >= 0)
        close(r->listen_fd);
    if (r->cancel[0] >= 0)
        close(r->cancel[0]);
    if (r->cancel[1] >= 0)
        close(r->cancel[1]);
    free(r);
    return NULL;
}

void
relay_finish(struct relay *r)
{
    ssize_t w;

    do {
        w = write(r->cancel[1], "x", 1);
    } while (w < 0 && errno == EINTR);
    pthread_join(r->thread, NULL);
    if (r->listen_fd >= 0) {
        close(r->listen_fd);
        r->listen_fd = -1;
    }
}

const char *
relay_error(const struct relay *r)
{
    return r->error[0] != '\0' ? r->error : NULL;
}

const char *
relay_last_reply(const struct relay *r)
{
    return r->last_reply;
}

bool
relay_authenticated(const struct relay *r)
{
    return r->authenticated;
}

void
relay_free(struct relay *r)
{
    if (r == NULL)
        return;
    if (r->cancel[0] >= 0)
        close(r->cancel[0]);
    if (r->cancel[1] >= 0)
        close(r->cancel[1]);
    /* cline may still hold the AUTH line (the base64 password). */
    sodium_memzero(r, sizeof(*r));
    free(r);
}
