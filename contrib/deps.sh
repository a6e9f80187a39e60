# SPDX-License-Identifier: AGPL-3.0-or-later
# Sourced by contrib/dev-run and contrib/dev-test: install the Debian 12
# packages glia needs to build, run and test, if any are missing.
# Each package, and why:
GLIA_DEPS="
gcc make autoconf automake autoconf-archive pkg-config
libmicrohttpd-dev libpq-dev libjansson-dev libsodium-dev libesmtp-dev
libcurl4-gnutls-dev libinih-dev libunistring-dev libssl-dev
g++ libphonenumber-dev libgnutls28-dev
postgresql
clang clang-format
python3 python3-signedjson python3-canonicaljson python3-aiosmtpd
chromium
curl ca-certificates openssl
"
# gcc..pkg-config: the autotools build.  *-dev: the libraries glia links.
# postgresql: initdb/pg_ctl for the private dev cluster and the DB tests.
# clang: the ASan+UBSan build; clang-format: the format check.
# python3-signedjson/-canonicaljson: an independent Matrix implementation
#   the tests verify glia's signatures against.  curl: the quick start check.
# openssl: the test CA and certificates of the fake homeserver.
# libunistring: Unicode case folding of email addresses (as Python's
#   str.casefold(), which sydent uses), instead of tables of our own.
# libssl: certificate and host name checks for SMTP over TLS.
# libgnutls28-dev: libmicrohttpd's TLS is GnuTLS; the replication listener
#   reads the peer's client certificate from the GnuTLS session.
# libphonenumber (and g++ for its one-file wrapper): phone numbers parsed
#   and validated with Google's per-country metadata, which sydent uses
#   too (through its Python port); no table of our own could keep up.
# python3-aiosmtpd: the SMTP server the mail tests send to.
# chromium: a real browser opens the emailed link in the tests.

glia_install_deps() {
    missing=""
    for p in $GLIA_DEPS; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
            grep -q "install ok installed"; then
            missing="$missing $p"
        fi
    done
    [ -z "$missing" ] && return 0
    echo "glia: installing missing packages:$missing"
    if [ "$(id -u)" = 0 ]; then
        sudo=""
    elif command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        echo "glia: not root and no sudo: install these yourself:$missing" >&2
        return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    # shellcheck disable=SC2086
    $sudo apt-get install -y -qq --no-install-recommends $missing
}

# Run "./configure ARGS" in DIR unless it was already configured with ARGS.
glia_configure() {
    dir=$1
    shift
    top=$(cd "$(dirname "$0")/.." && pwd)
    [ -x "$top/configure" ] || (cd "$top" && ./bootstrap)
    mkdir -p "$dir"
    if [ ! -f "$dir/Makefile" ] || [ "$(cat "$dir/.glia-configure" 2>/dev/null)" != "$*" ]; then
        (cd "$dir" && "$top/configure" "$@") || return 1
        echo "$*" > "$dir/.glia-configure"
    fi
}
