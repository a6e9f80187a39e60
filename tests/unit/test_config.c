/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Config parsing: good files, defaults, and every kind of bad value. */
#include "tap.h"
#include "util/config.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/glia-conf.XXXXXX";

static const char base[] = "[general]\nserver_name = id.example.org\n"
                           "[db]\ndsn = dbname=glia\n"
                           "[crypto]\nsigning_key_file = keys/signing.key\n";

/* Write text to dir/glia.conf and load it. */
static struct config *
load(const char *text, char **why)
{
    char *path = xasprintf("%s/glia.conf", dir);
    FILE *f = fopen(path, "w");
    struct config *cfg;

    fputs(text, f);
    fclose(f);
    *why = NULL;
    cfg = config_load(path, why);
    free(path);
    return cfg;
}

/* Expect text to fail with a message containing want. */
static void
bad(const char *text, const char *want, const char *name)
{
    char *why;
    struct config *cfg = load(text, &why);

    ok(cfg == NULL && why != NULL && strstr(why, want) != NULL, "%s", name);
    if (why != NULL && strstr(why, want) == NULL)
        diag("message was: %s (wanted %s)", why, want);
    config_free(cfg);
    free(why);
}

static char *
with(const char *extra)
{
    return xasprintf("%s%s", base, extra);
}

int
main(void)
{
    struct config *cfg;
    char *why;
    char *text;

    plan_no_plan();
    if (mkdtemp(dir) == NULL)
        skip_all("mkdtemp failed");

    cfg = load(base, &why);
    ok(cfg != NULL, "minimal config loads");
    if (cfg == NULL)
        diag("%s", why);
    else {
        char *key = xasprintf("%s/keys/signing.key", dir);

        is_str(cfg->general_server_name, "id.example.org", "server_name");
        is_str(cfg->general_public_baseurl, "https://id.example.org",
               "public_baseurl defaults to https://server_name");
        is_int(cfg->http_port, 8090, "default port");
        is_str(cfg->http_bind_address, "127.0.0.1", "default bind address");
        ok(cfg->federation_verify_tls, "verify_tls defaults to true");
        ok(!cfg->federation_allow_private_addresses,
           "private addresses refused by default");
        is_int(cfg->metrics_port, 0, "metrics off by default");
        is_str(cfg->email_tls, "none", "email tls default");
        is_str(cfg->crypto_signing_key_file, key,
               "relative path taken from the config file's directory");
        ok(cfg->email_outbox_dir == NULL, "unset path is NULL");
        free(key);
    }
    config_free(cfg);

    text = xasprintf("[general]\nserver_name = localhost:8090\n"
                     "public_baseurl = http://localhost:8090//\n"
                     "log_level = debug\n"
                     "[http]\nport = 0\nthreads = 16\n"
                     "[db]\ndsn = host=/tmp dbname=x\n"
                     "[crypto]\nsigning_key_file = /abs/key\n"
                     "[email]\ntls = starttls\nusername = u\npassword = p\n"
                     "outbox_dir = out\n"
                     "[federation]\nverify_tls = no\n"
                     "allow_private_addresses = On\n"
                     "[metrics]\nport = 9100\n");
    cfg = load(text, &why);
    free(text);
    ok(cfg != NULL, "full config loads");
    if (cfg != NULL) {
        is_str(cfg->general_public_baseurl, "http://localhost:8090",
               "trailing slashes dropped from public_baseurl");
        is_int(cfg->http_port, 0, "port 0 allowed (pick a free port)");
        is_int(cfg->http_threads, 16, "threads");
        is_str(cfg->crypto_signing_key_file, "/abs/key", "absolute path kept");
        ok(!cfg->federation_verify_tls, "boolean 'no'");
        ok(cfg->federation_allow_private_addresses, "boolean 'On'");
        is_str(cfg->email_tls, "starttls", "enum value");
        is_int(cfg->metrics_port, 9100, "metrics port");
    } else {
        diag("%s", why);
    }
    config_free(cfg);

    text = with("[http]\nprot = 1\n");
    bad(text, "glia.conf:8: [http] prot: unknown key",
        "unknown key, with line");
    free(text);
    text = with("[htp]\nport = 1\n");
    bad(text, "[htp]: unknown section", "unknown section");
    free(text);
    text = with("[http]\nport = eighty\n");
    bad(text, "[http] port: \"eighty\" is not an integer", "non-integer");
    free(text);
    text = with("[http]\nport = 70000\n");
    bad(text, "out of range [0, 65535]", "integer out of range");
    free(text);
    text = with("[http]\nthreads = 0\n");
    bad(text, "[http] threads: 0 is out of range", "zero threads");
    free(text);
    text = with("[federation]\nverify_tls = maybe\n");
    bad(text, "is not a boolean", "bad boolean");
    free(text);
    text = with("[email]\ntls = ssl\n");
    bad(text, "\"ssl\" is not one of none|starttls|tls", "bad choice");
    free(text);
    text = with("[http]\nport = 1\nport = 2\n");
    bad(text, "glia.conf:9: [http] port: set more than once", "duplicate key");
    free(text);
    bad("[general]\nserver_name = a\n[db]\ndsn = x\n",
        "[crypto] signing_key_file: required but not set", "missing required");
    text = xasprintf("%s", "[general]\nserver_name = bad name\n[db]\ndsn=x\n"
                           "[crypto]\nsigning_key_file = k\n");
    bad(text, "is not a server name", "invalid server_name");
    free(text);
    text = with("[general]\npublic_baseurl = ftp://x\n");
    bad(text, "public_baseurl: must start with http", "bad public_baseurl");
    free(text);
    text = with("[email]\npassword = p\n");
    bad(text, "password: set without [email] username", "password alone");
    free(text);
    text = with("this is not ini\n");
    bad(text, "glia.conf:7:", "syntax error has a line number");
    free(text);
    cfg = config_load("/nonexistent/glia.conf", &why);
    ok(cfg == NULL && strstr(why, "cannot open") != NULL, "missing file");
    free(why);

    {
        char *path = xasprintf("%s/glia.conf", dir);

        unlink(path);
        free(path);
        rmdir(dir);
    }
    return done_testing();
}
