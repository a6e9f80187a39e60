/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Development outboxes ([email] outbox_dir, [sms] outbox_dir): each
 * message becomes one file. Files appear atomically -- written to a hidden
 * temporary name, fsync()ed, renamed, and the directory fsync()ed -- so a
 * reader polling the directory never sees half a message. Names sort by
 * creation time: <UTC yyyymmddThhmmss.mmmZ>-<16 random>.<ext>.
 */
#ifndef GLIA_UTIL_OUTBOX_H
#define GLIA_UTIL_OUTBOX_H

#include <stddef.h>

/**
 * Write one message into dir.
 * @param ext the file name extension ("eml", "sms")
 * @param[out] err on failure, why (errlen bytes)
 * @return 0, or -1
 */
int outbox_write(const char *dir,
                 const char *ext,
                 const char *data,
                 size_t len,
                 char *err,
                 size_t errlen);

#endif
