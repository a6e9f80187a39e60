/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Logging and the three failure tiers of STYLE 2.5:
 *   ASSERT(x)     an invariant of our own code; abort.
 *   BUG(msg)      should not happen, but the process can keep serving:
 *                 log file:line, the caller answers 500.
 *   LOG_CLIENT()  the client sent something wrong: debug-level only.
 * Lines go to stderr (systemd's journal picks them up). Never pass a secret
 * (signing key, token, client_secret, password) to these functions.
 */
#ifndef GLIA_UTIL_LOG_H
#define GLIA_UTIL_LOG_H

#include <stdlib.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/** Set the most verbose level that is printed. */
void log_set_level(enum log_level lvl);
/** Parse "error", "warn", "info" or "debug". @return 0, or -1 if unknown. */
int log_level_parse(const char *s, enum log_level *out);
/** @return true if messages at lvl are printed (to skip costly formatting). */
int log_enabled(enum log_level lvl);
/** Print one line at lvl. */
void log_msg(enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define LOG_ERROR(...)  log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define LOG_WARN(...)   log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define LOG_INFO(...)   log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define LOG_DEBUG(...)  log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define LOG_CLIENT(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#define ASSERT(x)                                                              \
    do {                                                                       \
        if (!(x)) {                                                            \
            log_msg(LOG_LVL_ERROR, "assertion failed at %s:%d: %s", __FILE__,  \
                    __LINE__, #x);                                             \
            abort();                                                           \
        }                                                                      \
    } while (0)

#define BUG(msg)                                                               \
    log_msg(LOG_LVL_ERROR, "BUG at %s:%d: %s", __FILE__, __LINE__, msg)

#endif
