/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Email syntax and canonical form (Unicode case folding, as Python's). */
#include "tap.h"
#include "util/email.h"

#include <stdlib.h>
#include <string.h>

static void
good(const char *in, const char *want)
{
    char *out = NULL;

    ok(email_canonicalise(in, &out) == 0 && out != NULL &&
           strcmp(out, want) == 0,
       "%s -> %s", in, want);
    if (out != NULL && strcmp(out, want) != 0)
        diag("got %s", out);
    free(out);
}

static void
bad(const char *in, const char *why)
{
    char *out = NULL;

    ok(email_canonicalise(in, &out) != 0 && out == NULL, "refused: %s", why);
    free(out);
}

int
main(void)
{
    plan_no_plan();
    good("alice@example.org", "alice@example.org");
    good("Alice@Example.ORG", "alice@example.org");
    good("Strauß@Example.com", "strauss@example.com");
    good("ΣΑΣ@example.gr", "σασ@example.gr");
    good("ﬁle@X.ORG", "file@x.org");
    good("first.last+tag@sub.example.co.uk",
         "first.last+tag@sub.example.co.uk");
    good("o'brien@example.ie", "o'brien@example.ie");
    good("user@localhost", "user@localhost");
    good("日本@例え.jp", "日本@例え.jp");
    bad("", "empty");
    bad("alice", "no @");
    bad("@example.org", "no local part");
    bad("alice@", "no domain");
    bad("a@b@c.org", "two @");
    bad("a b@example.org", "space");
    bad("alice@example.org\r\nBcc: x@y.z", "header injection");
    bad("\"quoted\"@example.org", "quoted local part");
    bad(".alice@example.org", "leading dot");
    bad("al..ice@example.org", "double dot");
    bad("alice@-example.org", "hyphen at a label's start");
    bad("alice@example-.org", "hyphen at a label's end");
    bad("alice@exa_mple.org", "underscore in the domain");
    bad("alice@[192.0.2.1]", "address literal");
    bad("alice@example..org", "empty label");
    bad("al<ice@example.org", "angle bracket");
    bad("\xff\xfe@example.org", "invalid UTF-8");
    {
        char local[80];

        memset(local, 'a', 65);
        strcpy(local + 65, "@x.org");
        bad(local, "65-character local part");
    }
    return done_testing();
}
