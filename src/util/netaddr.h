/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * IP address lists ("127.0.0.1, ::1, 10.0.0.0/8") and the helpers around
 * them: which reverse proxies to believe, and how to key rate limits by
 * client address.
 */
#ifndef GLIA_UTIL_NETADDR_H
#define GLIA_UTIL_NETADDR_H

#include <stdbool.h>
#include <stddef.h>

struct sockaddr;
struct netlist;

/**
 * Parse a comma-separated list of addresses and CIDR prefixes.
 * @param spec the list; NULL or "" gives an empty list
 * @param[out] why on failure (caller frees)
 * @return the list (free with netlist_free()), or NULL
 */
struct netlist *netlist_parse(const char *spec, char **why);
void netlist_free(struct netlist *l);
/** @return true if the textual address ip is in l. */
bool netlist_contains(const struct netlist *l, const char *ip);

/**
 * Write a socket address as text, without the port; IPv4-mapped IPv6
 * addresses are written as IPv4. @return 0, or -1 for other families.
 */
int netaddr_format(const struct sockaddr *sa, char *out, size_t outlen);
/**
 * The client behind trusted proxies: walk X-Forwarded-For from the right,
 * skipping addresses in trusted, and take the first one that is not.
 * @param peer the TCP peer (text)
 * @param xff the X-Forwarded-For header, or NULL
 * @param[out] out the client address (text)
 */
void netaddr_client(const char *peer,
                    const char *xff,
                    const struct netlist *trusted,
                    char *out,
                    size_t outlen);
/**
 * The rate-limit key of an address: IPv4 as it is, IPv6 by its /64 (one
 * host usually owns a whole /64, so per-address keys would be free to
 * multiply).
 */
void netaddr_limit_key(const char *ip, char *out, size_t outlen);

#endif
