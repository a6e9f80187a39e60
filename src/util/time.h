/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Clocks: wall time in Matrix milliseconds, and a monotonic clock for
 * durations. */
#ifndef GLIA_UTIL_TIME_H
#define GLIA_UTIL_TIME_H

#include <stdint.h>

/** @return milliseconds since the Unix epoch (Matrix timestamps). */
int64_t time_now_ms(void);
/** @return a monotonic clock in microseconds, for measuring durations. */
int64_t time_mono_us(void);
/**
 * Exponential backoff: the wait after `failures` consecutive failures,
 * 1 s after the first, doubling, capped at max_ms.
 */
int64_t time_backoff_ms(int failures, int64_t max_ms);

#endif
