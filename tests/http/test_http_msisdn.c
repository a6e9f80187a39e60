/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Phone number validation end to end, against a fake SMS gateway
 * (tests/helpers/fake_sms.py) that records what it receives: each provider
 * (OpenMarket, Twilio, generic HTTP, the outbox) sends the code, the test
 * reads it from the gateway and submits it, then binds the number and looks
 * it up. Also: normalisation, the legacy v1 flow Synapse uses, the lockout
 * after wrong codes, rejected destinations, the per-country limit, and a
 * gateway that refuses or is down.
 */
#include "crypto/crypto.h"
#include "httptest.h"
#include "pgtest.h"
#include "tap.h"
#include "util/mem.h"

#include <ctype.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define V2 "/_matrix/identity/v2"
#define V1 "/_matrix/identity/api/v1"

static struct glia_proc g;
static char dir[] = "/tmp/glia-msisdn.XXXXXX";
static char gw_log[300];
static char sms_outbox[300];
static unsigned int gw_port;
static pid_t gw_pid;

static void
start_gateway(void)
{
    char *portfile = xasprintf("%s/gw.port", dir);
    char *script =
        xasprintf("%s/tests/helpers/fake_sms.py",
                  getenv("top_srcdir") != NULL ? getenv("top_srcdir") : ".");
    char *log = xasprintf("%s/gw.stderr", dir);
    const char *argv[] = {"/usr/bin/python3", script, portfile, gw_log, NULL};

    gw_port = httptest_spawn(argv, portfile, log, &gw_pid);
    free(portfile);
    free(script);
    free(log);
}

static void
stop_gateway(void)
{
    if (gw_pid > 0) {
        kill(gw_pid, SIGTERM);
        waitpid(gw_pid, NULL, 0);
        gw_pid = 0;
    }
}

/* Start glia with the common settings and sms_conf. */
static void
start(const char *sms_conf)
{
    /* No allow_private_addresses: the gateway (on loopback) is the
     * operator's URL, reachable without it. */
    char *conf = xasprintf("[federation]\nallow_private_addresses = false\n"
                           "[ratelimit]\naddress_burst = 100\n"
                           "ip_burst = 1000\n%s",
                           sms_conf);

    httptest_start(&g, conf);
    free(conf);
}

static void
stop(void)
{
    is_int(httptest_stop(&g, SIGTERM), 0, "clean exit");
    httptest_cleanup(&g);
}

/* How many requests the gateway has received. */
static int
gateway_count(void)
{
    FILE *f = fopen(gw_log, "r");
    int n = 0;
    int c;

    if (f == NULL)
        return 0;
    while ((c = fgetc(f)) != EOF)
        if (c == '\n')
            n++;
    fclose(f);
    return n;
}

/* The last request the gateway received (caller json_decref()s). */
static json_t *
gateway_last(void)
{
    FILE *f = fopen(gw_log, "r");
    static char line[65536];
    json_t *last = NULL;

    if (f == NULL)
        return json_object();
    while (fgets(line, sizeof(line), f) != NULL) {
        json_decref(last);
        last = json_loads(line, 0, NULL);
    }
    fclose(f);
    return last != NULL ? last : json_object();
}

/* The first run of 6 digits in text (static), or "". */
static const char *
code_in(const char *text)
{
    static char code[7];

    code[0] = '\0';
    for (const char *p = text != NULL ? text : ""; *p != '\0'; p++) {
        size_t n = 0;

        while (isdigit((unsigned char)p[n]))
            n++;
        if (n == 6) {
            memcpy(code, p, 6);
            code[6] = '\0';
            return code;
        }
        if (n > 0)
            p += n - 1;
    }
    return code;
}

/* requestToken. @return status; *sid the sid (static) */
static long
request(const char *prefix,
        const char *token,
        const char *country,
        const char *number,
        const char *secret,
        int attempt,
        struct http_resp *out)
{
    char *path = xasprintf("%s/validate/msisdn/requestToken", prefix);
    char *body = xasprintf("{\"client_secret\":\"%s\",\"country\":\"%s\","
                           "\"phone_number\":\"%s\",\"send_attempt\":%d}",
                           secret, country, number, attempt);
    long st = http_call(&g, "POST", path, token, body, out);

    free(path);
    free(body);
    return st;
}

static long
submit(const char *prefix,
       const char *token,
       const char *sid,
       const char *secret,
       const char *code,
       struct http_resp *out)
{
    char *path = xasprintf("%s/validate/msisdn/submitToken", prefix);
    char *body = xasprintf("{\"sid\":\"%s\",\"client_secret\":\"%s\","
                           "\"token\":\"%s\"}",
                           sid, secret, code);
    long st = http_call(&g, "POST", path, token, body, out);

    free(path);
    free(body);
    return st;
}

/* A full validation through the v2 API; @return true if it succeeded. The
 * code comes from text_of(the gateway's last request). */
static bool
validate(const char *country,
         const char *number,
         const char *secret,
         const char *(*text_of)(json_t *req),
         char *sid_out,
         size_t sid_len)
{
    struct http_resp r;
    json_t *req;
    char sid[128] = "";
    char code[8];
    bool ok_ = false;

    if (request(V2, "atok", country, number, secret, 1, &r) == 200 &&
        json_is_string(json_object_get(r.json, "sid")))
        snprintf(sid, sizeof(sid), "%s",
                 json_string_value(json_object_get(r.json, "sid")));
    http_resp_free(&r);
    req = gateway_last();
    snprintf(code, sizeof(code), "%s", code_in(text_of(req)));
    json_decref(req);
    if (sid[0] != '\0' && code[0] != '\0' &&
        submit(V2, "atok", sid, secret, code, &r) == 200)
        ok_ = json_is_true(json_object_get(r.json, "success"));
    if (sid[0] != '\0' && code[0] != '\0')
        http_resp_free(&r);
    if (sid_out != NULL)
        snprintf(sid_out, sid_len, "%s", sid);
    return ok_;
}

/* The text of each provider's request. */
static const char *
openmarket_text(json_t *req)
{
    static char text[1024];
    json_t *b =
        json_loads(json_string_value(json_object_get(req, "body")) != NULL
                       ? json_string_value(json_object_get(req, "body"))
                       : "",
                   0, NULL);
    const char *t = json_string_value(json_object_get(
        json_object_get(json_object_get(b, "mobileTerminate"), "message"),
        "content"));

    snprintf(text, sizeof(text), "%s", t != NULL ? t : "");
    json_decref(b);
    return text;
}

static const char *
raw_body(json_t *req)
{
    static char text[4096];
    const char *b = json_string_value(json_object_get(req, "body"));

    snprintf(text, sizeof(text), "%s", b != NULL ? b : "");
    return text;
}

static const char *
header(json_t *req, const char *name)
{
    const char *v = json_string_value(
        json_object_get(json_object_get(req, "headers"), name));

    return v != NULL ? v : "";
}

/* The newest .sms file of the outbox, parsed (caller json_decref()s). */
static json_t *
outbox_last(void)
{
    DIR *d = opendir(sms_outbox);
    struct dirent *e;
    char newest[256] = "";
    json_t *j = NULL;

    if (d == NULL)
        return json_object();
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".sms") != NULL && strcmp(e->d_name, newest) > 0)
            snprintf(newest, sizeof(newest), "%s", e->d_name);
    closedir(d);
    if (newest[0] != '\0') {
        char *path = xasprintf("%s/%s", sms_outbox, newest);

        j = json_load_file(path, 0, NULL);
        free(path);
    }
    return j != NULL ? j : json_object();
}

static void
openmarket(void)
{
    char *conf = xasprintf("[sms]\nprovider = openmarket\n"
                           "url = http://127.0.0.1:%u/openmarket/sms/v4/mt\n"
                           "username = om\npassword = s3cret\n"
                           "originators = 44:short:12345, default:alpha:Glia\n"
                           "deny_countries = 7\nv1_clients = 127.0.0.1/32\n",
                           gw_port);
    struct http_resp r;
    json_t *req;
    json_t *b;
    char sid[128];
    char code[8];
    int before;

    start(conf);
    free(conf);
    is_int(request(V2, "atok", "GB", "07911 123456", "s1", 1, &r), 200,
           "openmarket: requestToken");
    is_str(json_string_value(json_object_get(r.json, "msisdn")), "447911123456",
           "msisdn: E.164 digits");
    is_str(json_string_value(json_object_get(r.json, "intl_fmt")),
           "+44 7911 123456", "intl_fmt");
    snprintf(sid, sizeof(sid), "%s",
             json_is_string(json_object_get(r.json, "sid"))
                 ? json_string_value(json_object_get(r.json, "sid"))
                 : "");
    http_resp_free(&r);
    req = gateway_last();
    is_str(json_string_value(json_object_get(req, "path")),
           "/openmarket/sms/v4/mt", "the gateway got the message");
    {
        char *want = xasprintf("Basic %s", "b206czNjcmV0"); /* om:s3cret */

        is_str(header(req, "authorization"), want, "with Basic auth");
        free(want);
    }
    b = json_loads(raw_body(req), 0, NULL);
    is_str(json_string_value(json_object_get(
               json_object_get(json_object_get(b, "mobileTerminate"),
                               "destination"),
               "address")),
           "447911123456", "to the number");
    is_int(json_integer_value(json_object_get(
               json_object_get(json_object_get(b, "mobileTerminate"), "source"),
               "ton")),
           3, "from the short code (TON 3)");
    json_decref(b);
    snprintf(code, sizeof(code), "%s", code_in(openmarket_text(req)));
    json_decref(req);
    is_int((long)strlen(code), 6, "a 6-digit code");
    before = gateway_count();
    is_int(request(V2, "atok", "GB", "07911 123456", "s1", 1, &r), 200,
           "the same send_attempt again");
    is_str(json_string_value(json_object_get(r.json, "sid")), sid,
           "the same session");
    http_resp_free(&r);
    is_int(gateway_count(), before, "and no second message");

    /* Three wrong codes lock the session, even against the right one. */
    for (int i = 0; i < 3; i++) {
        is_int(submit(V2, "atok", sid, "s1",
                      strcmp(code, "000000") ? "000000" : "111111", &r),
               400, "wrong code %d: 400", i + 1);
        is_str(http_resp_errcode(&r), "M_TOKEN_INCORRECT", "M_TOKEN_INCORRECT");
        http_resp_free(&r);
    }
    is_int(submit(V2, "atok", sid, "s1", code, &r), 400,
           "locked after [sms] max_attempts");
    ok(strcmp(http_resp_errcode(&r), "M_TOKEN_INCORRECT") != 0,
       "even the right code is refused (%s)", http_resp_errcode(&r));
    http_resp_free(&r);

    /* A fresh session validates, binds and is found. */
    ok(validate("GB", "+44 7911 123456", "s2", openmarket_text, sid,
                sizeof(sid)),
       "a new session validates with the texted code");
    {
        char *body = xasprintf("{\"sid\":\"%s\",\"client_secret\":\"s2\","
                               "\"mxid\":\"@alice:hs.test\"}",
                               sid);

        is_int(http_call(&g, "POST", V2 "/3pid/bind", "atok", body, &r), 200,
               "bind the number");
        is_str(json_string_value(json_object_get(r.json, "medium")), "msisdn",
               "medium msisdn");
        is_str(json_string_value(json_object_get(r.json, "address")),
               "447911123456", "address: the msisdn");
        http_resp_free(&r);
        free(body);
    }
    http_call(&g, "GET", V1 "/lookup?medium=msisdn&address=447911123456", NULL,
              NULL, &r);
    is_str(json_string_value(json_object_get(r.json, "mxid")), "@alice:hs.test",
           "and looked up");
    http_resp_free(&r);

    /* Refusals. */
    is_int(request(V2, "atok", "GB", "123", "s3", 1, &r), 400,
           "an invalid number: 400");
    is_str(http_resp_errcode(&r), "M_INVALID_ADDRESS", "M_INVALID_ADDRESS");
    http_resp_free(&r);
    before = gateway_count();
    is_int(request(V2, "atok", "RU", "+7 912 345-67-89", "s3", 1, &r), 400,
           "a denied country: 400");
    is_str(http_resp_errcode(&r), "M_DESTINATION_REJECTED",
           "M_DESTINATION_REJECTED");
    http_resp_free(&r);
    is_int(request(V2, "atok", "GB", "09098 790000", "s3", 1, &r), 400,
           "a premium-rate number: 400");
    is_str(http_resp_errcode(&r), "M_DESTINATION_REJECTED",
           "M_DESTINATION_REJECTED");
    http_resp_free(&r);
    is_int(gateway_count(), before, "no message for refused numbers");
    is_int(request(V2, NULL, "GB", "07911 123456", "s3", 1, &r), 401,
           "v2 needs a token");
    http_resp_free(&r);

    /* The legacy flow Synapse uses when it delegates phone validation:
     * v1, no token, then getValidated3pid. */
    is_int(request(V1, NULL, "US", "650 253 0000", "v1s", 1, &r), 200,
           "v1 requestToken");
    snprintf(sid, sizeof(sid), "%s",
             json_is_string(json_object_get(r.json, "sid"))
                 ? json_string_value(json_object_get(r.json, "sid"))
                 : "");
    http_resp_free(&r);
    req = gateway_last();
    snprintf(code, sizeof(code), "%s", code_in(openmarket_text(req)));
    json_decref(req);
    is_int(submit(V1, NULL, sid, "v1s", code, &r), 200, "v1 submitToken");
    http_resp_free(&r);
    {
        char *path = xasprintf(V1 "/3pid/getValidated3pid?sid=%s&"
                                  "client_secret=v1s",
                               sid);

        is_int(http_call(&g, "GET", path, NULL, NULL, &r), 200,
               "v1 getValidated3pid");
        is_str(json_string_value(json_object_get(r.json, "address")),
               "16502530000", "the validated msisdn");
        is_str(json_string_value(json_object_get(r.json, "medium")), "msisdn",
               "medium");
        http_resp_free(&r);
        free(path);
    }
    /* The link form. */
    is_int(request(V2, "atok", "FR", "06 12 34 56 78", "pg", 1, &r), 200,
           "requestToken for the page");
    snprintf(sid, sizeof(sid), "%s",
             json_is_string(json_object_get(r.json, "sid"))
                 ? json_string_value(json_object_get(r.json, "sid"))
                 : "");
    http_resp_free(&r);
    req = gateway_last();
    {
        char *path = xasprintf(V2 "/validate/msisdn/submitToken?sid=%s&"
                                  "client_secret=pg&token=%s",
                               sid, code_in(openmarket_text(req)));

        is_int(http_call(&g, "GET", path, NULL, NULL, &r), 200,
               "GET submitToken: the page");
        ok(strstr(r.body, "phone number is verified") != NULL,
           "says the phone number is verified");
        http_resp_free(&r);
        free(path);
    }
    json_decref(req);

    /* The gateway goes down. */
    stop_gateway();
    is_int(request(V2, "atok", "GB", "07911 123458", "down", 1, &r), 400,
           "the gateway is down: 400");
    is_str(http_resp_errcode(&r), "M_SEND_ERROR", "M_SEND_ERROR");
    http_resp_free(&r);
    start_gateway();
    stop();
}

static const char *
twilio_text(json_t *req)
{
    static char text[1024];
    const char *b = raw_body(req);
    const char *p = strstr(b, "Body=");

    size_t w = 0;

    /* Form-decode the Body value. */
    for (p = p != NULL ? p + 5 : "";
         *p != '\0' && *p != '&' && w + 1 < sizeof(text); p++) {
        if (*p == '%' && isxdigit((unsigned char)p[1]) &&
            isxdigit((unsigned char)p[2])) {
            char hex[3] = {p[1], p[2], '\0'};

            text[w++] = (char)strtol(hex, NULL, 16);
            p += 2;
        } else {
            text[w++] = *p == '+' ? ' ' : *p;
        }
    }
    text[w] = '\0';
    return text;
}

static void
twilio(void)
{
    char *conf = xasprintf("[sms]\nprovider = twilio\n"
                           "url = http://127.0.0.1:%u/twilio/Messages.json\n"
                           "username = AC123\npassword = tok\n"
                           "originators = default:long:15005550006\n",
                           gw_port);
    json_t *req;

    start(conf);
    free(conf);
    ok(validate("US", "(650) 253-0000", "t1", twilio_text, NULL, 0),
       "twilio: validated with the texted code");
    {
        struct http_resp r;

        is_int(request(V1, NULL, "US", "650 253 0000", "t2", 1, &r), 403,
               "v1 requestToken without [sms] v1_clients: 403");
        is_str(http_resp_errcode(&r), "M_FORBIDDEN", "M_FORBIDDEN");
        http_resp_free(&r);
    }
    req = gateway_last();
    is_str(json_string_value(json_object_get(req, "path")),
           "/twilio/Messages.json", "posted to the Messages resource");
    is_str(header(req, "content-type"), "application/x-www-form-urlencoded",
           "as a form");
    is_str(header(req, "authorization"), "Basic QUMxMjM6dG9r",
           "Basic auth: account SID and token");
    ok(strncmp(raw_body(req),
               "To=%2B16502530000&From=%2B15005550006&Body=", 43) == 0,
       "To and From in E.164 with '+'");
    json_decref(req);
    stop();
}

static void
generic_http(void)
{
    char *conf = xasprintf(
        "[sms]\nprovider = http\nurl = http://127.0.0.1:%u/custom/send\n"
        "http_auth = Bearer k3y\n"
        "http_body = {\"recipient\": \"{number}\", \"msg\": \"{message}\", "
        "\"sender\": \"{from}\"}\n"
        "message_template = Glia says: {token} \"quoted\"\n",
        gw_port);
    json_t *req;
    json_t *b;

    start(conf);
    free(conf);
    ok(validate("DE", "030 123456", "h1", raw_body, NULL, 0),
       "http: validated with the texted code");
    req = gateway_last();
    is_str(header(req, "authorization"), "Bearer k3y", "the configured header");
    b = json_loads(raw_body(req), 0, NULL);
    ok(b != NULL, "the body is JSON (values escaped)");
    is_str(json_string_value(json_object_get(b, "recipient")), "+4930123456",
           "recipient");
    ok(strstr(json_string_value(json_object_get(b, "msg")) != NULL
                  ? json_string_value(json_object_get(b, "msg"))
                  : "",
              "Glia says: ") != NULL &&
           strstr(json_string_value(json_object_get(b, "msg")) != NULL
                      ? json_string_value(json_object_get(b, "msg"))
                      : "",
                  "\"quoted\"") != NULL,
       "the message from message_template");
    is_str(json_string_value(json_object_get(b, "sender")), "Matrix",
           "the default originator");
    json_decref(b);
    json_decref(req);
    stop();

    /* A gateway that refuses. */
    conf = xasprintf("[sms]\nprovider = http\nurl = http://127.0.0.1:%u/fail\n",
                     gw_port);
    start(conf);
    free(conf);
    {
        struct http_resp r;

        is_int(request(V2, "atok", "DE", "030 123456", "f1", 1, &r), 400,
               "the gateway refuses: 400");
        is_str(http_resp_errcode(&r), "M_SEND_ERROR", "M_SEND_ERROR");
        http_resp_free(&r);
    }
    stop();
}

static void
outbox_and_limits(void)
{
    char *conf = xasprintf("[sms]\nprovider = outbox\noutbox_dir = %s\n"
                           "[ratelimit]\nsms_country_burst = 2\n"
                           "sms_country_interval = 3600\n",
                           sms_outbox);
    struct http_resp r;
    json_t *m;
    char text[256];
    char sid[128];

    start(conf);
    free(conf);
    is_int(request(V2, "atok", "FR", "06 12 34 56 78", "o1", 1, &r), 200,
           "outbox: requestToken");
    snprintf(sid, sizeof(sid), "%s",
             json_is_string(json_object_get(r.json, "sid"))
                 ? json_string_value(json_object_get(r.json, "sid"))
                 : "");
    http_resp_free(&r);
    m = outbox_last();
    is_str(json_string_value(json_object_get(m, "to")), "+33612345678",
           "a .sms file for the number");
    snprintf(text, sizeof(text), "%s",
             json_is_string(json_object_get(m, "text"))
                 ? json_string_value(json_object_get(m, "text"))
                 : "");
    json_decref(m);
    is_int(submit(V2, "atok", sid, "o1", code_in(text), &r), 200,
           "the code from the file validates");
    http_resp_free(&r);
    is_int(request(V2, "atok", "FR", "06 12 34 56 79", "o2", 1, &r), 200,
           "a second French number");
    http_resp_free(&r);
    is_int(request(V2, "atok", "FR", "06 12 34 56 70", "o3", 1, &r), 429,
           "a third: the per-country limit");
    is_str(http_resp_errcode(&r), "M_LIMIT_EXCEEDED", "M_LIMIT_EXCEEDED");
    http_resp_free(&r);
    is_int(request(V2, "atok", "GB", "07911 123457", "o5", 1, &r), 200,
           "other countries still get messages");
    http_resp_free(&r);
    stop();

    /* No provider: phone validation says so. */
    start("");
    is_int(request(V2, "atok", "GB", "07911 123456", "n1", 1, &r), 400,
           "[sms] provider = none: 400");
    is_str(http_resp_errcode(&r), "M_SEND_ERROR", "M_SEND_ERROR");
    http_resp_free(&r);
    stop();
}

int
main(void)
{
    char *cmd;

    plan_no_plan();
    pgtest_reset();
    if (mkdtemp(dir) == NULL)
        skip_all("mkdtemp failed");
    snprintf(gw_log, sizeof(gw_log), "%s/gateway.log", dir);
    snprintf(sms_outbox, sizeof(sms_outbox), "%s/sms", dir);
    mkdir(sms_outbox, 0755);
    start_gateway();
    httptest_seed_account("@alice:hs.test", "atok");

    openmarket();
    twilio();
    generic_http();
    outbox_and_limits();

    stop_gateway();
    cmd = xasprintf("rm -rf %s", dir);
    if (system(cmd) != 0)
        diag("could not remove %s", dir);
    free(cmd);
    return done_testing();
}
