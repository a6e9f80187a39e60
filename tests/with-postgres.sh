#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# Run a command inside a throwaway PostgreSQL cluster (PgBouncer's fixture):
# initdb into a temp dir, start it on a Unix socket only (no TCP port, so
# parallel tests never collide), export GLIA_TEST_DSN and GLIA_TEST_PGCTL,
# run the command, then stop the cluster and remove everything.
# initdb refuses to run as root, so as root the cluster runs as "postgres".
# No PostgreSQL server installed: TAP "skip all" (exit 77).
set -u
if [ -z "${PG_BINDIR:-}" ] || [ ! -x "$PG_BINDIR/initdb" ]; then
    PG_BINDIR=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
if [ -z "$PG_BINDIR" ] || [ ! -x "$PG_BINDIR/initdb" ]; then
    echo "1..0 # SKIP no PostgreSQL server (initdb) installed"
    exit 77
fi

tmp=$(mktemp -d /tmp/glia-pg.XXXXXX) || exit 99
chmod 755 "$tmp"
if [ "$(id -u)" = 0 ]; then
    chown postgres: "$tmp"
    as_pg="runuser -u postgres --"
else
    as_pg=""
fi
opts="-k $tmp -c listen_addresses= -c fsync=off -c full_page_writes=off -c synchronous_commit=off"

# A pg_ctl wrapper the tests use to stop and restart the server.
cat > "$tmp/pgctl" <<EOS
#!/bin/sh
exec $as_pg "$PG_BINDIR/pg_ctl" -D "$tmp/data" -l "$tmp/postgres.log" -o "$opts" "\$@" >/dev/null
EOS
chmod 755 "$tmp/pgctl"

cleanup() {
    "$tmp/pgctl" stop -m immediate >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! $as_pg "$PG_BINDIR/initdb" -D "$tmp/data" -A trust -U glia -E UTF8 \
        --locale=C --nosync >"$tmp/initdb.log" 2>&1; then
    echo "Bail out! initdb failed:"; sed 's/^/# /' "$tmp/initdb.log"
    exit 99
fi
if ! "$tmp/pgctl" start -w; then
    echo "Bail out! PostgreSQL did not start:"; sed 's/^/# /' "$tmp/postgres.log"
    exit 99
fi

GLIA_TEST_DSN="host=$tmp user=glia dbname=postgres"
GLIA_TEST_PGCTL="$tmp/pgctl"
export GLIA_TEST_DSN GLIA_TEST_PGCTL
"$@"
status=$?
exit $status
