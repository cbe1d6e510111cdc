#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster.
#
#   tests/pg.sh cargo test --test store_cdr
#
# Starts a private cluster from Debian's `postgresql` package (apt-get install -y postgresql)
# on 127.0.0.1 and a free port, with its data and socket in a temp dir; creates the database
# `switchboard_test`; exports SWITCHBOARD_TEST_PG_URL=postgres://postgres@127.0.0.1:PORT/switchboard_test;
# runs the command; stops the cluster and removes the temp dir on exit, whatever happens.
# Exits with the command's status. As root, the server runs as the `postgres` system user
# (initdb refuses root); as any other user, it runs as that user.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARG...]   (e.g. $0 cargo test --test store_cdr)" >&2
    exit 2
fi

# Newest installed server version (Debian 12 ships 15).
bindir=""
for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && bindir="$dir"
done
if [ -z "$bindir" ]; then
    echo "$0: no PostgreSQL server found under /usr/lib/postgresql; run: apt-get install -y postgresql" >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        echo "$0: running as root but there is no 'postgres' user to run the server as" >&2
        exit 1
    fi
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi

# Always under /tmp: the postgres user must reach it (a root TMPDIR may be private) and the
# Unix socket path inside it must stay under 108 bytes.
tmp="$(mktemp -d /tmp/switchboard-pg.XXXXXX)"
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$tmp"; fi
data="$tmp/data"
log="$tmp/server.log"
started=""

cleanup() {
    status=$?
    if [ -n "$started" ]; then
        as_pg "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! as_pg "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync \
    >"$tmp/initdb.log" 2>&1; then
    cat "$tmp/initdb.log" >&2
    exit 1
fi

# A port nobody listens on; if another process takes it before the server binds, retry.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    if port_in_use "$port"; then continue; fi
    # fsync off: this cluster is thrown away; the store's own durability settings are SQLite's.
    if as_pg "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 30 \
        -o "-p $port -k $tmp -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" \
        start >/dev/null; then
        started=1
        break
    fi
done
if [ -z "$started" ]; then
    echo "$0: PostgreSQL did not start; server log:" >&2
    cat "$log" >&2 || true
    exit 1
fi

as_pg "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres switchboard_test
export SWITCHBOARD_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/switchboard_test"
echo "pg.sh: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2

# In the background, so a TERM or INT reaches our traps at once (bash would wait for a
# foreground command first); the signal is passed on to the command.
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 143' TERM
trap 'kill -INT "$child" 2>/dev/null; wait "$child"; exit 130' INT
set +e
wait "$child"
status=$?
set -e
exit "$status"
