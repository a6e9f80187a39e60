#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# Automake's LOG_COMPILER: DB and HTTP tests get a throwaway PostgreSQL
# cluster each; shell tests run under sh; unit tests run as they are.
case "$1" in
*/http/test_fed_*) exec "$@" ;; # needs no database
*/db/* | */http/*) exec sh "${top_srcdir:-.}/tests/with-postgres.sh" "$@" ;;
*.sh) exec sh "$@" ;;
*) exec "$@" ;;
esac
