/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Templates: the Jinja subset, legacy %-format, brands, load errors, the
 * default brand and templates_check. */
#include "mail/template.h"
#include "tap.h"
#include "util/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[] = "/tmp/glia-tmpl.XXXXXX";
static int ncase;

/* Write text to tmp/<sub>/<brand>/<file>, creating the directories. */
static void
put(const char *sub, const char *brand, const char *file, const char *text)
{
    char *d1 = xasprintf("%s/%s", tmp, sub);
    char *d2 = xasprintf("%s/%s", d1, brand);
    char *path = xasprintf("%s/%s", d2, file);
    FILE *f;

    mkdir(d1, 0700);
    mkdir(d2, 0700);
    f = fopen(path, "wb");
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
    free(d1);
    free(d2);
    free(path);
}

/* A set of variables from key, value, ..., NULL. */
static struct tmpl_vars *
vars_of(const char *key, ...)
{
    struct tmpl_vars *v = tmpl_vars_new();
    va_list ap;

    va_start(ap, key);
    while (key != NULL) {
        const char *value = va_arg(ap, const char *);

        tmpl_vars_set(v, key, value);
        key = va_arg(ap, const char *);
    }
    va_end(ap);
    return v;
}

/* Load a one-template brand and render it. @return the text (freed by
 * the caller) or a copy of the load error prefixed with "ERROR: ". */
static char *
render_one(const char *file, const char *text, const struct tmpl_vars *v)
{
    char *sub = xasprintf("c%d", ++ncase);
    char *dir = xasprintf("%s/%s", tmp, sub);
    char *why = NULL;
    char *name = xstrdup(file);
    char *out;
    struct templates *t;
    size_t len = strlen(name);

    put(sub, "b", file, text);
    if (len > 3 && strcmp(name + len - 3, ".j2") == 0)
        name[len - 3] = '\0';
    t = templates_load(dir, "b", &why);
    if (t == NULL) {
        out = xasprintf("ERROR: %s", why);
    } else {
        out = templates_render(t, NULL, name, v, &why);
        if (out == NULL)
            out = xasprintf("ERROR: %s", why);
    }
    free(why);
    templates_free(t);
    free(name);
    free(dir);
    free(sub);
    return out;
}

/* Render a template and compare the result. */
static void
is_render(const char *file,
          const char *text,
          const struct tmpl_vars *v,
          const char *want,
          const char *what)
{
    char *got = render_one(file, text, v);

    is_str(got, want, "%s", what);
    free(got);
}

/* The load must fail with a message containing want. */
static void
load_fails(const char *file, const char *text, const char *want)
{
    char *got = render_one(file, text, NULL);

    ok(strncmp(got, "ERROR: ", 7) == 0 && strstr(got, want) != NULL,
       "load error: %s", want);
    if (strstr(got, want) == NULL)
        diag("got: %s", got);
    free(got);
}

static void
test_vars(void)
{
    struct tmpl_vars *v = tmpl_vars_new();

    ok(tmpl_vars_get(v, "a") == NULL, "vars: unset key is NULL");
    tmpl_vars_set(v, "a", "1");
    tmpl_vars_set(v, "b", "2");
    tmpl_vars_set(v, "a", "3");
    is_str(tmpl_vars_get(v, "a"), "3", "vars: set replaces");
    is_str(tmpl_vars_get(v, "b"), "2", "vars: other key kept");
    tmpl_vars_set(v, "a", NULL);
    ok(tmpl_vars_get(v, "a") == NULL, "vars: NULL value removes");
    is_str(tmpl_vars_get(v, "b"), "2", "vars: removal keeps the rest");
    tmpl_vars_set(v, "zz", NULL);
    tmpl_vars_free(v);
    tmpl_vars_free(NULL);
}

static void
test_output(void)
{
    struct tmpl_vars *v = vars_of("x", "<a href=\"u\">&'", "name", "World", "u",
                                  "a b&c/d~_.-\xc3\xa9?=#+", "empty", "", NULL);

    is_render("t.txt.j2", "Hello {{ name }}!", v, "Hello World!", "{{ var }}");
    is_render("t.txt.j2", "{{name}}{{  name  }}", v, "WorldWorld",
              "whitespace inside {{ }} optional");
    is_render("t.html.j2", "{{ x }}", v, "&lt;a href=&#34;u&#34;&gt;&amp;&#39;",
              "autoescape, markupsafe's entities");
    is_render("t.eml.j2", "{{ x }}", v, "&lt;a href=&#34;u&#34;&gt;&amp;&#39;",
              "autoescape applies to every .j2, as in sydent");
    is_render("t.html.j2", "{{ x|safe }}", v, "<a href=\"u\">&'",
              "safe disables escaping");
    is_render("t.html.j2", "{{ x | e }}|{{ x | escape }}", v,
              "&lt;a href=&#34;u&#34;&gt;&amp;&#39;|"
              "&lt;a href=&#34;u&#34;&gt;&amp;&#39;",
              "e and escape");
    is_render("t.html.j2", "{{ x | e | e }}", v,
              "&lt;a href=&#34;u&#34;&gt;&amp;&#39;", "escaping twice is once");
    is_render("t.html.j2", "{{ x | safe | e }}", v, "<a href=\"u\">&'",
              "escape of a safe value does nothing");
    is_render("t.html.j2", "{{ u | urlencode }}", v,
              "a%20b%26c/d~_.-%C3%A9%3F%3D%23%2B",
              "urlencode: quote() with / kept, UTF-8 bytes");
    is_render("t.html.j2", "{{ x | urlencode }}", v,
              "%3Ca%20href%3D%22u%22%3E%26%27", "urlencode of markup");
    is_render("t.html.j2", "{{ x | e | urlencode }}", v,
              "%26lt%3Ba%20href%3D%26%2334%3Bu%26%2334%3B%26gt%3B%26amp%3B"
              "%26%2339%3B",
              "filters chain left to right");
    is_render("t.html.j2", "[{{ nosuch }}][{{ nosuch | urlencode }}]", v,
              "[][]", "undefined renders empty");
    is_render("t.html.j2", "a {# a comment {{ x }} #}b{#\n#}c", v, "a bc",
              "comments");
    is_render("t.html.j2", "{ not a tag } {x} %} }}", v,
              "{ not a tag } {x} %} }}", "lone braces are text");
    is_render("t.html.j2", "line\n", v, "line",
              "one trailing newline dropped, as Jinja does");
    is_render("t.html.j2", "line\n\n", v, "line\n", "only one");
    is_render("t.html.j2", "a\r\nb\rc\n", v, "a\nb\nc",
              "CRLF and CR become LF");
    is_render("t.html.j2", "\xef\xbb\xbf{{ name }}", v, "World",
              "a leading BOM is dropped");
    is_render("t.html.j2", "a  \n  {{- name -}}  \n  b", v, "aWorldb",
              "{{- -}} strips whitespace and newlines");
    is_render("t.html.j2", "a\n  {%- if name -%}\n  X\n  {%- endif %}\nb", v,
              "aX\nb", "{%- -%}");
    is_render("t.html.j2", "a\n{#- c -#}\nb", v, "ab", "{#- -#}");
    is_render("t.html.j2", "a {%+ if name +%} b {% endif %}", v, "a  b ",
              "{%+ +%} accepted");
    tmpl_vars_free(v);
}

static void
test_if(void)
{
    struct tmpl_vars *v = vars_of("t", "m.space", "yes", "1", "empty", "", "q",
                                  "it's \"q\"", NULL);

    is_render("t.j2", "{% if yes %}Y{% endif %}", v, "Y", "if true");
    is_render("t.j2", "{% if empty %}Y{% endif %}", v, "", "empty is false");
    is_render("t.j2", "{% if nosuch %}Y{% else %}N{% endif %}", v, "N",
              "undefined is false");
    is_render("t.j2", "{% if not nosuch %}Y{% endif %}", v, "Y", "not");
    is_render("t.j2", "{% if not not yes %}Y{% endif %}", v, "Y", "not not");
    is_render("t.j2", "{% if t == \"m.space\" %}space{% else %}room{% endif %}",
              v, "space", "== true");
    is_render("t.j2", "{% if t == 'm.room' %}space{% else %}room{% endif %}", v,
              "room", "== false, single quotes");
    is_render("t.j2", "{% if t != \"m.space\" %}A{% else %}B{% endif %}", v,
              "B", "!=");
    is_render("t.j2", "{% if nosuch == \"\" %}A{% else %}B{% endif %}", v, "B",
              "undefined == \"\" is false (Jinja's Undefined)");
    is_render("t.j2", "{% if nosuch != \"x\" %}A{% endif %}", v, "A",
              "undefined != \"x\"");
    is_render("t.j2", "{% if nosuch == other %}A{% endif %}", v, "A",
              "undefined == undefined");
    is_render("t.j2", "{% if q == 'it\\'s \"q\"' %}A{% endif %}", v, "A",
              "escapes in string literals");
    is_render("t.j2", "{%if t==\"m.space\"%}A{%endif%}", v, "A",
              "no spaces needed");
    is_render("t.j2",
              "{% if nosuch %}1{% elif empty %}2{% elif yes %}3{% else %}4"
              "{% endif %}",
              v, "3", "elif");
    is_render("t.j2", "{% if nosuch %}1{% elif empty %}2{% else %}4{% endif %}",
              v, "4", "else after elif");
    is_render("t.j2",
              "{% if yes %}a{% if t == \"m.space\" %}b{% if empty %}c{% else %}"
              "d{% endif %}{% endif %}e{% else %}f{% endif %}",
              v, "abde", "nesting");
    is_render("t.j2", "{% if yes %}%{% endif %} 100%", v, "% 100%",
              "a % in Jinja text is literal");
    tmpl_vars_free(v);
}

static void
test_legacy(void)
{
    struct tmpl_vars *v =
        vars_of("link", "https://x/?a=1&b=<\"'>", "n", "5", NULL);

    is_render("t.eml", "L: %(link)s", v, "L: https://x/?a=1&b=<\"'>",
              "legacy %(var)s is raw in .eml");
    is_render("t.eml", "%(link_forhtml)s", v,
              "https://x/?a=1&amp;b=&lt;&quot;&#x27;&gt;",
              "%(var_forhtml)s: html.escape() entities");
    is_render("t.eml", "%(link_forurl)s", v,
              "https%3A//x/%3Fa%3D1%26b%3D%3C%22%27%3E",
              "%(var_forurl)s: urllib quote, / kept");
    is_render("t.eml", "100%% of %(n)s%%", v, "100% of 5%", "%%");
    is_render("t.eml", "[%(nosuch)s][%(nosuch_forurl)s]", v, "[][]",
              "unknown variable renders empty");
    is_render("t.eml", "{{ link }} {# x #}", v, "{{ link }} {# x #}",
              "Jinja syntax is text in legacy templates");
    is_render("t.eml", "end\n", v, "end\n", "legacy keeps the last newline");
    is_render("verify_response_template.html", "<p>%(link)s</p>", v,
              "<p>https://x/?a=1&amp;b=&lt;&quot;&#x27;&gt;</p>",
              "legacy .html: %(var)s escaped too");
    is_render("t.html", "%(link_forhtml)s", v,
              "https://x/?a=1&amp;b=&lt;&quot;&#x27;&gt;",
              "legacy .html: _forhtml escaped once");
    is_render("t.htm", "%(link_forurl)s", v,
              "https%3A//x/%3Fa%3D1%26b%3D%3C%22%27%3E",
              "legacy .htm: _forurl");
    tmpl_vars_free(v);
}

static void
test_header_injection(void)
{
    struct tmpl_vars *v =
        vars_of("s", "Hi\r\nBcc: victim@example.org\n\n--b", NULL);

    is_render("t.eml.j2", "Subject: {{ s | safe }}", v,
              "Subject: Hi  Bcc: victim@example.org  --b",
              "email: CR/LF in values become spaces");
    is_render("t.eml", "Subject: %(s)s", v,
              "Subject: Hi  Bcc: victim@example.org  --b", "legacy email too");
    is_render("t.html.j2", "{{ s | safe }}", v,
              "Hi\r\nBcc: victim@example.org\n\n--b",
              "pages keep newlines in values");
    tmpl_vars_free(v);
}

static void
test_load_errors(void)
{
    char big[TMPL_FILE_MAX + 2];
    char deep[32 * 12 + 1];
    char *why = NULL;
    size_t i;
    struct templates *t;

    load_fails("t.j2", "a\nb {{ x ", "t.j2:2: {{ is not closed");
    load_fails("t.j2", "\n\n{% if x }}", "t.j2:3: {% is not closed");
    load_fails("t.j2", "{# x", "t.j2:1: {# is not closed");
    load_fails("t.j2", "a\n{{ x | upper }}", "t.j2:2: unknown filter: upper");
    load_fails("t.j2", "{{ x | }}", "expected a filter name");
    load_fails("t.j2", "{{ x(1) }}", "t.j2:1: unsupported expression");
    load_fails("t.j2", "{{ x y }}", "unsupported expression");
    load_fails("t.j2", "{{ \"lit\" }}", "unsupported expression");
    load_fails("t.j2", "{{ }}", "unsupported expression");
    load_fails("t.j2", "\n{% for x in y %}{% endfor %}",
               "t.j2:2: unknown tag: for");
    load_fails("t.j2", "{% include \"x\" %}", "unknown tag: include");
    load_fails("t.j2", "{% %}", "empty or unsupported");
    load_fails("t.j2", "{% if x %}\n\nabc",
               "t.j2:3: {% if %} not closed: "
               "opened at line 1");
    load_fails("t.j2", "a\n{% endif %}", "t.j2:2: {% endif %} without");
    load_fails("t.j2", "{% else %}", "{% else %} without");
    load_fails("t.j2", "{% elif x %}", "{% elif %} without");
    load_fails("t.j2", "{% if a %}{% else %}{% else %}{% endif %}",
               "{% else %} after else");
    load_fails("t.j2", "{% if a %}{% else %}{% elif b %}{% endif %}",
               "{% elif %} after else");
    load_fails("t.j2", "{% if a and b %}{% endif %}", "unsupported condition");
    load_fails("t.j2", "{% if a == %}{% endif %}", "expected a variable");
    load_fails("t.j2", "{% if true %}{% endif %}", "unsupported word");
    load_fails("t.j2", "{% if a == \"x %}{% endif %}", "is not closed");
    load_fails("t.j2", "{% if a == \"\\d\" %}{% endif %}",
               "unsupported escape");
    load_fails("t.j2", "{% endif x %}", "unexpected text after endif");
    load_fails("t.j2", "ok\nok\n\xc3\x28 bad", "t.j2:3: invalid UTF-8");
    load_fails("t.j2", "\xed\xa0\x80", "t.j2:1: invalid UTF-8");
    load_fails("t.j2", "\xc0\xaf", "invalid UTF-8");
    load_fails("t.j2", "\xf4\x90\x80\x80", "invalid UTF-8");
    load_fails("t.j2", "trunc \xe2\x82", "invalid UTF-8");
    load_fails("t.eml", "a\n%d", "t.eml:2: unsupported % format");
    load_fails("t.eml", "100%", "unsupported % format");
    load_fails("t.eml", "%(x)d", "only %(name)s");
    load_fails("t.eml", "%(x", "only %(name)s");
    load_fails("t.eml", "%()s", "only %(name)s");

    deep[0] = '\0';
    for (i = 0; i < 33; i++)
        strcat(deep, "{%if a%}");
    load_fails("t.j2", deep, "nested too deeply");

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    load_fails("t.j2", big, "larger than");
    big[TMPL_FILE_MAX] = '\0';
    {
        char *got = render_one("t.eml", big, NULL);

        ok(strlen(got) == TMPL_FILE_MAX, "a file of TMPL_FILE_MAX loads");
        free(got);
    }

    /* NUL bytes cannot go through put(): write by hand. */
    {
        char *d = xasprintf("%s/nul", tmp);
        char *p;
        FILE *f;

        put("nul", "b", "x.txt", "");
        p = xasprintf("%s/b/t.txt", d);
        f = fopen(p, "wb");
        fwrite("ab\n\0cd", 1, 6, f);
        fclose(f);
        t = templates_load(d, "b", &why);
        ok(t == NULL && why != NULL && strstr(why, "t.txt:2: NUL") != NULL,
           "load error: NUL byte");
        free(why);
        free(p);
        free(d);
    }

    t = templates_load("/nonexistent/glia", "b", &why);
    ok(t == NULL && why != NULL && strstr(why, "/nonexistent/glia") != NULL,
       "load error: missing directory");
    free(why);
    {
        char *d = xasprintf("%s/c1", tmp);

        t = templates_load(d, "nosuch", &why);
        ok(t == NULL && why != NULL &&
               strstr(why, "default brand \"nosuch\"") != NULL,
           "load error: missing default brand");
        free(why);
        free(d);
    }
}

/* A templates directory with a default brand "main" and a brand "alt". */
static void
test_brands(void)
{
    char *d = xasprintf("%s/brands", tmp);
    char *why = NULL;
    char *out;
    struct templates *t;
    struct tmpl_vars *v = vars_of("x", "1", NULL);

    put("brands", "main", "a.eml.j2", "main a.j2 {{ x }}");
    put("brands", "main", "b.eml", "main b %(x)s");
    put("brands", "main", "c.eml", "main c legacy");
    put("brands", "main", "c.eml.j2", "main c j2");
    put("brands", "main", "README.md", "{{ ignored, not a template");
    put("brands", "main", "logo.png", "\x89PNG\xff");
    put("brands", "alt", "a.eml", "alt a %(x)s");
    put("brands", ".hidden", "a.eml.j2", "{{ broken");
    t = templates_load(d, "main", &why);
    ok(t != NULL, "brands load (other files and dot-dirs ignored)");
    if (t == NULL) {
        diag("%s", why);
        free(why);
        free(d);
        tmpl_vars_free(v);
        return;
    }
    ok(templates_has_brand(t, "main") && templates_has_brand(t, "alt"),
       "has_brand");
    ok(!templates_has_brand(t, "nosuch") && !templates_has_brand(t, NULL) &&
           !templates_has_brand(t, ".hidden"),
       "has_brand: unknown, NULL, dot-dir");

    out = templates_render(t, "alt", "a.eml", v, &why);
    is_str(out, "alt a 1", "brand's own template");
    free(out);
    out = templates_render(t, "alt", "b.eml", v, &why);
    is_str(out, "main b 1", "brand lacking a template borrows the default's");
    free(out);
    out = templates_render(t, "nosuch", "a.eml", v, &why);
    is_str(out, "main a.j2 1", "unknown brand: default brand");
    free(out);
    out = templates_render(t, NULL, "a.eml", v, &why);
    is_str(out, "main a.j2 1", "NULL brand: default brand");
    free(out);
    out = templates_render(t, "../main", "a.eml", v, &why);
    is_str(out, "main a.j2 1", "a path is just an unknown brand");
    free(out);
    out = templates_render(t, "main", "c.eml", v, &why);
    is_str(out, "main c j2", ".j2 preferred over legacy");
    free(out);
    out = templates_render(t, "alt", "nosuch.eml", v, &why);
    ok(out == NULL && why != NULL && strstr(why, "nosuch.eml") != NULL,
       "missing everywhere: NULL and why");
    free(why);
    out = templates_render(t, "main", "b.eml", NULL, &why);
    is_str(out, "main b ", "NULL vars: all undefined");
    free(out);
    templates_free(t);
    tmpl_vars_free(v);
    free(d);
}

/* The path of a fixture directory (caller frees). */
static char *
srcpath(const char *rel)
{
    const char *srcdir = getenv("srcdir");

    if (srcdir == NULL || srcdir[0] == '\0')
        srcdir = ".";
    return xasprintf("%s/%s", srcdir, rel);
}

/* Longest line of s, in octets. */
static size_t
longest_line(const char *s)
{
    size_t max = 0;

    while (*s != '\0') {
        size_t n = strcspn(s, "\n");

        if (n > max)
            max = n;
        s += n;
        if (*s == '\n')
            s++;
    }
    return max;
}

/* The text between the first occurrence of from and the next of to. */
static char *
between(const char *s, const char *from, const char *to)
{
    const char *a = strstr(s, from);
    const char *b;

    if (a == NULL)
        return xstrdup("");
    a += strlen(from);
    b = strstr(a, to);
    return b == NULL ? xstrdup(a) : xstrndup(a, (size_t)(b - a));
}

static const char vlink[] =
    "https://id.example.org/_matrix/identity/api/v1/validate/email/"
    "submitToken?token=aBcD1234aBcD1234aBcD1234aBcD1234&client_secret="
    "s3cr3t&sid=1648700459";
static const char vlink_html[] =
    "https://id.example.org/_matrix/identity/api/v1/validate/email/"
    "submitToken?token=aBcD1234aBcD1234aBcD1234aBcD1234&amp;client_secret="
    "s3cr3t&amp;sid=1648700459";

static struct tmpl_vars *
mail_vars(void)
{
    return vars_of(
        "to", "alice@example.org", "from", "glia <noreply@id.example.org>",
        "date", "Tue, 05 Mar 2024 10:00:00 +0000", "messageid",
        "<1709632800000abcdefghijklmnop@id.example.org>", "multipart_boundary",
        "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4", "link", vlink, "token",
        "aBcD1234aBcD1234aBcD1234aBcD1234", "ipaddress", "192.0.2.7", NULL);
}

static void
test_sydentlike(void)
{
    char *d = srcpath("tests/templates");
    char *why = NULL;
    char *out;
    char *part;
    struct templates *t = templates_load(d, "sydentlike", &why);
    struct tmpl_vars *v = mail_vars();

    ok(t != NULL, "sydent-style fixtures load");
    if (t == NULL) {
        diag("%s", why);
        free(why);
        free(d);
        tmpl_vars_free(v);
        return;
    }
    out =
        templates_render(t, "sydentlike", "verification_template.eml", v, &why);
    ok(out != NULL && strncmp(out, "Date: Tue, 05 Mar 2024", 22) == 0,
       "sydent-style .eml.j2 renders");
    ok(out != NULL && strstr(out, "From: glia <noreply@id.example.org>\n"),
       "|safe header keeps < >");
    ok(out != NULL && strstr(out, "\tboundary=\"Z9y8X7w6V5u4T3s2R1q0P9o8N7m6"
                                  "L5k4\"\n\n--Z9y8X7w6V5u4T3s2R1q0P9o8N7m6"
                                  "L5k4\nContent-Type: text/plain") != NULL,
       "folded boundary header and first boundary");
    ok(out != NULL && strstr(out, "legacy twin") == NULL,
       ".j2 chosen over the legacy twin");
    part = between(out == NULL ? "" : out, "text/plain", "text/html");
    ok(strstr(part, vlink) != NULL && strstr(part, "came from 192.0.2.7.") &&
           strstr(part, "code aBcD1234"),
       "text part: raw link, ip, token");
    free(part);
    part = between(out == NULL ? "" : out, "text/html", "\n--Z9y8");
    ok(strstr(part, vlink_html) != NULL && strstr(part, vlink) == NULL,
       "html part: link &amp;-escaped");
    ok(strstr(part, "width: 100%;") != NULL, "%% literal in Jinja CSS");
    free(part);
    ok(out != NULL && strlen(out) > 2 &&
           strcmp(out + strlen(out) - 3, "4--") == 0,
       "ends with the closing boundary, no newline (Jinja)");
    free(out);

    out = templates_render(t, "sydentlegacy", "verification_template.eml", v,
                           &why);
    ok(out != NULL && strncmp(out, "Date: Tue", 9) == 0 &&
           strstr(out, "\nFrom: glia <noreply@id.example.org>\n") != NULL,
       "legacy .eml renders raw headers");
    ok(out != NULL && strstr(out, "Confirm with:\n\n") != NULL &&
           strstr(out, vlink) != NULL,
       "legacy %%(link)s raw");
    ok(out != NULL &&
           strstr(out, "href=\"https://id.example.org/_matrix/"
                       "identity/api/v1/validate/email/submitToken"
                       "?token=aBcD1234aBcD1234aBcD1234aBcD1234&amp;"
                       "client_secret=s3cr3t&amp;sid=1648700459\"") != NULL,
       "legacy %%(link_forhtml)s");
    ok(out != NULL && strstr(out, "link=https%3A//id.example.org/_matrix/"
                                  "identity/api/v1/validate/email/submitToken"
                                  "%3Ftoken%3DaBcD1234aBcD1234aBcD1234aBcD1234"
                                  "%26client_secret%3Ds3cr3t%26sid%3D"
                                  "1648700459\"") != NULL,
       "legacy %%(link_forurl)s");
    ok(out != NULL && strstr(out, "width: 100%\"") != NULL, "legacy %%%%");
    ok(out != NULL && strcmp(out + strlen(out) - 3, "--\n") == 0,
       "legacy keeps the final newline");
    free(out);

    tmpl_vars_free(v);
    v = vars_of("message", "Verification <failed> & \"you\" 'know'", NULL);
    out = templates_render(t, "sydentlegacy", "verify_response_template.html",
                           v, &why);
    ok(out != NULL &&
           strstr(out, "<p>Verification &lt;failed&gt; &amp; "
                       "&quot;you&quot; &#x27;know&#x27;</p>") != NULL,
       "sydent's legacy response page, borrowed by a brand, escapes message");
    ok(out != NULL && strstr(out, "width: 100%; }") != NULL,
       "response page %%%%");
    free(out);
    tmpl_vars_free(v);

    v = mail_vars();
    tmpl_vars_set(v, "room_type", "m.space");
    tmpl_vars_set(v, "sender_display_name", "Bob <b>");
    tmpl_vars_set(v, "bracketed_room_name", "(Fun & games) ");
    tmpl_vars_set(v, "room_id", "!abc:example.org");
    out = templates_render(t, "sydentlike", "invite_template.eml", v, &why);
    ok(out != NULL && strstr(out, "Bob <b> wants you in the space (Fun & "
                                  "games) on") != NULL,
       "sydent-style invite: room_type == \"m.space\", |safe text");
    ok(out != NULL &&
           strstr(out, "/#/room/%21abc%3Aexample.org?email=alice"
                       "%40example.org&signurl=https%3A%2F%2Fid") != NULL,
       "sydent-style invite: |urlencode");
    ok(out != NULL && strstr(out, "<p>Bob &lt;b&gt; wants you in the space "
                                  "(Fun &amp; games) on") != NULL,
       "sydent-style invite: html part escaped");
    free(out);
    tmpl_vars_free(v);
    templates_free(t);
    free(d);
}

static const char headers[] =
    "Date: Tue, 05 Mar 2024 10:00:00 +0000\nFrom: glia "
    "<noreply@id.example.org>\nTo: alice@example.org\nMessage-ID: "
    "<1709632800000abcdefghijklmnop@id.example.org>\nSubject: ";

static void
test_default_brand(void)
{
    char *d = srcpath("templates");
    char *why = NULL;
    char *out;
    char *part;
    struct templates *t = templates_load(d, "glia", &why);
    struct tmpl_vars *v = mail_vars();
    char *big;

    ok(t != NULL, "default brand loads");
    if (t == NULL) {
        diag("%s", why);
        free(why);
        free(d);
        tmpl_vars_free(v);
        return;
    }
    out = templates_render(t, NULL, "verification_template.eml", v, &why);
    ok(out != NULL, "verification mail renders");
    if (out == NULL)
        out = xstrdup("");
    ok(strncmp(out, headers, strlen(headers)) == 0, "headers first, raw");
    ok(strstr(out,
              "MIME-Version: 1.0\nContent-Type: multipart/alternative;"
              "\n boundary=\"Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4\"\n\n") != NULL,
       "multipart header");
    ok(longest_line(out) <= 998, "no line over 998 octets (%zu)",
       longest_line(out));
    part = between(out, "Content-Type: text/plain", "\n--Z9y8");
    ok(strstr(part, vlink) != NULL && strstr(part, "&amp;") == NULL,
       "text part: link unescaped");
    ok(strstr(part, "aBcD1234aBcD1234aBcD1234aBcD1234\n") != NULL &&
           strstr(part, "192.0.2.7") != NULL && strstr(part, "24 hours"),
       "text part: token, ip, expiry");
    free(part);
    part = between(out, "Content-Type: text/html", "\n--Z9y8");
    ok(strstr(part, vlink_html) != NULL && strstr(part, vlink) == NULL,
       "html part: link &amp;-escaped");
    ok(strstr(part, "<meta name=\"viewport\"") != NULL &&
           strstr(part, "<script") == NULL && strstr(part, "<img") == NULL,
       "html part: viewport, no script, no images");
    free(part);
    ok(strlen(out) > 40 && strcmp(out + strlen(out) - 36,
                                  "--Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4--") == 0,
       "closing boundary");
    free(out);

    tmpl_vars_set(v, "ipaddress", "<script>alert(\"x\")</script>");
    out = templates_render(t, "nosuch", "verification_template.eml", v, &why);
    part = between(out == NULL ? "" : out, "text/html", "\n--Z9y8");
    ok(strstr(part, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") !=
               NULL &&
           strstr(part, "<script") == NULL,
       "html injection through a variable is escaped");
    free(part);
    free(out);

    big = xmalloc(10 * 1024 + 1);
    memset(big, 'k', 10 * 1024);
    big[10 * 1024] = '\0';
    tmpl_vars_set(v, "token", big);
    out = templates_render(t, NULL, "verification_template.eml", v, &why);
    ok(out != NULL && strstr(out, big) != NULL, "a 10 KiB variable renders");
    free(out);
    free(big);

    tmpl_vars_free(v);
    v = vars_of("message",
                "Verification successful! Please return to your "
                "<Matrix> client & continue.",
                "success", "true", NULL);
    out = templates_render(t, NULL, "verify_response_template.html", v, &why);
    ok(out != NULL && strstr(out, "<p>Verification successful! Please return "
                                  "to your &lt;Matrix&gt; client &amp; "
                                  "continue.</p>") != NULL,
       "response page: message escaped");
    ok(out != NULL && strstr(out, "<title>Email address confirmed</title>") &&
           strstr(out, "<main class=\"ok\">") != NULL &&
           strstr(out, "width=device-width") != NULL,
       "response page: success wording, mobile viewport");
    ok(out != NULL && strstr(out, "<script") == NULL, "response page: no JS");
    free(out);
    tmpl_vars_set(v, "success", "");
    out = templates_render(t, NULL, "verify_response_template.html", v, &why);
    ok(out != NULL && strstr(out, "<title>Verification failed</title>") &&
           strstr(out, "<main>") != NULL,
       "response page: failure wording");
    free(out);
    tmpl_vars_free(v);

    v = mail_vars();
    tmpl_vars_set(v, "token", "InViTeToKeN");
    tmpl_vars_set(v, "ephemeral_private_key", "ephKey_-");
    tmpl_vars_set(v, "sender", "@bob:example.org");
    tmpl_vars_set(v, "sender_display_name", "Bob \"<b>\"");
    tmpl_vars_set(v, "bracketed_verified_sender", "(@bob:example.org) ");
    tmpl_vars_set(v, "room_id", "!room:example.org");
    tmpl_vars_set(v, "room_name", "Fun & games");
    tmpl_vars_set(v, "bracketed_room_name", "(Fun & games) ");
    tmpl_vars_set(v, "room_type", "m.space");
    tmpl_vars_set(v, "room_avatar_url", "mxc://example.org/abc");
    tmpl_vars_set(v, "web_client_location", "https://app.example.org");
    tmpl_vars_set(v, "signurl",
                  "https://id.example.org/_matrix/identity/api/v1/"
                  "sign-ed25519?token=InViTeToKeN&private_key=ephKey_-");
    out = templates_render(t, NULL, "invite_template.eml", v, &why);
    ok(out != NULL, "invite mail renders");
    if (out == NULL)
        out = xstrdup("");
    ok(strstr(out, "\nSubject: Bob \"<b>\" invited you to a space on "
                   "Matrix\nMIME-Version: 1.0\n") != NULL,
       "invite: built subject when subject_header_value is unset");
    ok(longest_line(out) <= 998, "invite: no line over 998 octets (%zu)",
       longest_line(out));
    part = between(out, "Content-Type: text/plain", "\n--Z9y8");
    ok(strstr(part, "Bob \"<b>\" (@bob:example.org) has invited you to join "
                    "a space (Fun & games) on Matrix.") != NULL,
       "invite text: space wording, raw names");
    ok(strstr(part,
              "https://app.example.org/#/room/%21room%3Aexample.org?"
              "email=alice%40example.org&signurl=https%3A//id.example."
              "org/_matrix/identity/api/v1/sign-ed25519%3Ftoken%3D"
              "InViTeToKeN%26private_key%3DephKey_-&room_name=Fun%20%26"
              "%20games&room_avatar_url=mxc%3A//example.org/abc&"
              "inviter_name=Bob%20%22%3Cb%3E%22&room_type=m.space\n") != NULL,
       "invite text: join link");
    free(part);
    part = between(out, "Content-Type: text/html", "\n--Z9y8");
    ok(strstr(part, "<strong>Bob &#34;&lt;b&gt;&#34;</strong> "
                    "(@bob:example.org) has invited you to join a space "
                    "<strong>Fun &amp; games</strong> on Matrix.") != NULL,
       "invite html: escaped names");
    ok(strstr(part,
              "href=\"https://app.example.org/#/room/%21room%3Aexample."
              "org?email=alice%40example.org&amp;signurl=https%3A//") != NULL,
       "invite html: join link");
    free(part);
    free(out);
    tmpl_vars_set(v, "room_type", NULL);
    tmpl_vars_set(v, "subject_header_value", "=?utf-8?q?Custom?=");
    out = templates_render(t, NULL, "invite_template.eml", v, &why);
    ok(out != NULL &&
           strstr(out, "\nSubject: =?utf-8?q?Custom?=\nMIME-Version") != NULL &&
           strstr(out, "join a room (Fun") != NULL,
       "invite: subject_header_value, room wording");
    free(out);
    tmpl_vars_free(v);
    templates_free(t);
    free(d);
}

/* Collects templates_check's warnings into one string. */
static void
collect(void *cls, const char *msg)
{
    char **all = cls;
    char *next = xasprintf("%s%s\n", *all == NULL ? "" : *all, msg);

    free(*all);
    *all = next;
}

static void
test_check(void)
{
    char *d = srcpath("templates");
    char *why = NULL;
    char *all = NULL;
    struct templates *t = templates_load(d, "glia", &why);

    if (t != NULL)
        templates_check(t, collect, &all);
    else
        diag("%s", why);
    XFREE(why);
    ok(t != NULL && all == NULL, "default brand: no warnings");
    if (all != NULL)
        diag("%s", all);
    templates_free(t);
    free(all);
    all = NULL;
    free(d);

    d = srcpath("tests/templates");
    t = templates_load(d, "sydentlike", &why);
    if (t != NULL)
        templates_check(t, collect, &all);
    else
        diag("%s", why);
    XFREE(why);
    if (all == NULL)
        all = xstrdup("");
    ok(strstr(all, "longline/verification_template.eml:2: line of 1200 "
                   "octets") != NULL,
       "check: long line");
    ok(strstr(all, "sydentlike/invite_template.eml.j2:16: {{ "
                   "web_client_location }} in a mail text/plain part is "
                   "HTML-escaped") != NULL,
       "check: unsafe {{ }} in a text part");
    ok(strstr(all, "\"longline\" has no verify_response_template.html: the "
                   "default brand's is used") != NULL,
       "check: template missing from a brand");
    ok(strstr(all, "brand \"sydentlike\": verification_template.eml is never "
                   "used") != NULL,
       "check: shadowed legacy file");
    ok(strstr(all, "does not set the variable") == NULL,
       "check: fixtures use known variables only");
    templates_free(t);
    free(all);
    all = NULL;
    free(d);

    d = xasprintf("%s/check", tmp);
    put("check", "b", "verification_template.eml.j2",
        "Subject: {{ nosuch }} {{ link }}\n\n{{ link }} {{ nosuch }}"
        "{% if other == 'x' %}{% endif %}");
    put("check", "b", "extra.txt", "x");
    t = templates_load(d, "b", &why);
    if (t != NULL)
        templates_check(t, collect, &all);
    else
        diag("%s", why);
    XFREE(why);
    if (all == NULL)
        all = xstrdup("");
    ok(strstr(all, "verification_template.eml.j2:1: glia does not set the "
                   "variable \"nosuch\"") != NULL &&
           strstr(all, "variable \"other\"") != NULL,
       "check: unknown variables");
    {
        const char *first = strstr(all, "variable \"nosuch\"");

        ok(first != NULL && strstr(first + 1, "variable \"nosuch\"") == NULL,
           "check: each unknown variable once");
    }
    ok(strstr(all, ":1: {{ link }} in a mail header") != NULL,
       "check: unsafe {{ }} in a header");
    ok(strstr(all, "(the default) has no invite_template.eml: requests that "
                   "need it fail") != NULL,
       "check: default brand missing a template");
    ok(strstr(all, "extra.txt: not a template glia uses") != NULL,
       "check: unused file");
    templates_free(t);
    free(all);
    free(d);
}

static void
test_output_cap(void)
{
    size_t n = TMPL_OUTPUT_MAX / 3 + 1;
    char *big = xmalloc(n + 1);
    struct tmpl_vars *v;
    char *out;

    memset(big, 'x', n);
    big[n] = '\0';
    v = vars_of("x", big, NULL);
    out = render_one("t.j2", "{{ x }}{{ x }}{{ x }}", v);
    ok(strstr(out, "ERROR: ") == out && strstr(out, "larger than") != NULL,
       "output cap");
    free(out);
    out = render_one("t.j2", "{{ x | urlencode }}", v);
    ok(strlen(out) == n, "below the cap");
    free(out);
    tmpl_vars_free(v);
    free(big);
}

int
main(void)
{
    char *cmd;

    plan_no_plan();
    if (mkdtemp(tmp) == NULL)
        skip_all("mkdtemp failed");
    test_vars();
    test_output();
    test_if();
    test_legacy();
    test_header_injection();
    test_load_errors();
    test_brands();
    test_sydentlike();
    test_default_brand();
    test_check();
    test_output_cap();
    cmd = xasprintf("rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        diag("could not remove %s", tmp);
    free(cmd);
    return done_testing();
}
