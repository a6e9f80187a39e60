/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* TAP producer; see tap.h. */
#include "tap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int planned = -1;
static int run;
static int failed;

void
plan(int n)
{
    planned = n;
    printf("1..%d\n", n);
    fflush(stdout);
}

void
plan_no_plan(void)
{
    planned = -1;
}

void
skip_all(const char *why)
{
    printf("1..0 # SKIP %s\n", why);
    fflush(stdout);
    exit(77);
}

/* Shared tail of ok()/is_*: prints the "ok N - name" line. */
__attribute__((format(printf, 2, 0))) static bool
vok(bool cond, const char *fmt, va_list ap)
{
    run++;
    if (!cond)
        failed++;
    printf("%sok %d - ", cond ? "" : "not ", run);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    return cond;
}

bool
ok(bool cond, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vok(cond, fmt, ap);
    va_end(ap);
    return cond;
}

bool
is_int(long long got, long long want, const char *fmt, ...)
{
    va_list ap;
    bool cond = got == want;

    va_start(ap, fmt);
    vok(cond, fmt, ap);
    va_end(ap);
    if (!cond)
        diag("  got: %lld, expected: %lld", got, want);
    return cond;
}

bool
is_str(const char *got, const char *want, const char *fmt, ...)
{
    va_list ap;
    bool cond;

    if (got == NULL || want == NULL)
        cond = got == want;
    else
        cond = strcmp(got, want) == 0;
    va_start(ap, fmt);
    vok(cond, fmt, ap);
    va_end(ap);
    if (!cond) {
        diag("  got:      %s", got != NULL ? got : "(null)");
        diag("  expected: %s", want != NULL ? want : "(null)");
    }
    return cond;
}

void
diag(const char *fmt, ...)
{
    va_list ap;

    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

void
skip(int n, const char *why)
{
    for (int i = 0; i < n; i++) {
        run++;
        printf("ok %d # SKIP %s\n", run, why);
    }
    fflush(stdout);
}

int
done_testing(void)
{
    if (planned < 0)
        printf("1..%d\n", run);
    else if (planned != run)
        diag("planned %d tests but ran %d", planned, run);
    fflush(stdout);
    if (failed > 0 || (planned >= 0 && planned != run))
        return 1;
    return 0;
}
