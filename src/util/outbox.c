/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Development outboxes for mail and SMS; see outbox.h. */
#include "util/outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

static int
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int
outbox_write(const char *dir,
             const char *ext,
             const char *data,
             size_t len,
             char *err,
             size_t errlen)
{
    static const char alnum[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    struct timespec ts;
    struct tm tm;
    char stamp[32];
    char rnd[17];
    char name[4096];
    char tmp[4096];
    int fd;
    int dfd;
    size_t i;
    int n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    if (strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm) == 0)
        stamp[0] = '\0';
    for (i = 0; i < 16; i++)
        rnd[i] = alnum[randombytes_uniform((uint32_t)(sizeof(alnum) - 1))];
    rnd[16] = '\0';
    n = snprintf(name, sizeof(name), "%s/%s.%03ldZ-%s.%s", dir, stamp,
                 ts.tv_nsec / 1000000L, rnd, ext);
    if (n < 0 || (size_t)n >= sizeof(name)) {
        snprintf(err, errlen, "outbox path too long");
        return -1;
    }
    n = snprintf(tmp, sizeof(tmp), "%s/.%s.%03ldZ-%s.tmp", dir, stamp,
                 ts.tv_nsec / 1000000L, rnd);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        snprintf(err, errlen, "outbox path too long");
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "outbox: cannot create %.180s: %s", tmp,
                 strerror(errno));
        return -1;
    }
    /* The umask must not make the file unreadable for whoever collects
     * the mail (a test, a developer's mail viewer). */
    if (fchmod(fd, 0644) != 0 || write_all(fd, data, len) != 0 ||
        fsync(fd) != 0) {
        snprintf(err, errlen, "outbox: cannot write %.180s: %s", tmp,
                 strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (close(fd) != 0 || rename(tmp, name) != 0) {
        snprintf(err, errlen, "outbox: cannot store %.180s: %s", name,
                 strerror(errno));
        unlink(tmp);
        return -1;
    }
    /* Make the rename itself durable. */
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;
}
