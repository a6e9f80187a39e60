/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A tiny TAP producer for the Automake tap-driver. Every test program calls
 * plan() (or plan_no_plan()), then ok()/is_*(), and returns done_testing().
 */
#ifndef GLIA_TAP_H
#define GLIA_TAP_H

#include <stdbool.h>

/** Announce the number of tests. */
void plan(int n);
/** Run without a fixed plan; done_testing() prints it at the end. */
void plan_no_plan(void);
/** Skip the whole program (exit 77 is SKIP for Automake's harness). */
void skip_all(const char *why) __attribute__((noreturn));
/** Record one test result. @return cond */
bool ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** ok() comparing integers; prints both on failure. */
bool is_int(long long got, long long want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** ok() comparing strings (NULL-safe); prints both on failure. */
bool is_str(const char *got, const char *want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** Print a diagnostic line ("# ..."). */
void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** Record n skipped tests. */
void skip(int n, const char *why);
/** @return the process exit status: 0 if all passed and the plan held. */
int done_testing(void);

#endif
