# Sourced by scripts/test: starts a throwaway PostgreSQL on loopback unless
# VERWERKINGEN_TEST_POSTGRES_URL already names one, and stops it on exit.
start_throwaway_postgres() {
  local bindir
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bindir" ] && command -v initdb >/dev/null; then bindir=$(dirname "$(command -v initdb)"); fi
  if [ -z "$bindir" ]; then
    echo "PostgreSQL is not installed: its tests will be skipped (apt-get install postgresql)" >&2
    return 0
  fi
  PG_TMP=$(mktemp -d /tmp/verwerkingen-pg.XXXXXX)
  local as=()
  if [ "$(id -u)" = 0 ]; then chown postgres "$PG_TMP"; as=(runuser -u postgres --); fi
  PG_AS=("${as[@]}")
  PG_BIN=$bindir
  "${as[@]}" "$bindir/initdb" -D "$PG_TMP/data" -A trust -U postgres >"$PG_TMP/initdb.log" 2>&1
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "${as[@]}" "$bindir/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w \
    -o "-p $port -k $PG_TMP -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
  export VERWERKINGEN_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$port/postgres"
  trap stop_throwaway_postgres EXIT
  echo "throwaway PostgreSQL on 127.0.0.1:$port" >&2
}

stop_throwaway_postgres() {
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_TMP"
}
