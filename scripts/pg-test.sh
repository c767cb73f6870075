#!/usr/bin/env bash
# pg-test.sh: the PostgreSQL + pgvector server the tests run against.
#
#   eval "$(scripts/pg-test.sh env)"   install if needed, start, and export
#                                      HEARTH_TEST_POSTGRES_URL
#   scripts/pg-test.sh start           the same, without printing the export
#   scripts/pg-test.sh stop            stop the server (data is kept)
#   scripts/pg-test.sh status          say whether it runs
#
# It needs a Debian 12 machine and root the first time (or whenever
# something is missing): it installs Debian's postgresql-15 and
# postgresql-server-dev-15, builds Debian's pgvector source package (from
# trixie, source only) against them, then initialises a throw-away cluster
# in $HEARTH_PG_DIR (default /tmp/hearth-pg) owned by the postgres user. The
# server listens on 127.0.0.1 only, on $HEARTH_PG_PORT (default 55432), with
# fsync off: it is for tests, never for data anyone wants to keep.
#
# Idempotent and fast when everything is installed and running: each step
# checks before it acts. Progress goes to stderr; `env` prints only the
# export line on stdout. Concurrent runs serialise on a lock file.
set -euo pipefail

PG_MAJOR=15
PGBIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PGBIN/pg_config
BASE=${HEARTH_PG_DIR:-/tmp/hearth-pg}
PORT=${HEARTH_PG_PORT:-55432}
DATA=$BASE/data
SOCK=$BASE/sock
DB_USER=hearth
DB_PASSWORD=hearth-test
DB_NAME=hearth_test
TRIXIE_SOURCES=/etc/apt/sources.list.d/hearth-trixie-src.sources

say() { echo "pg-test: $*" >&2; }
die() { say "error: $*"; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# as_pg runs a command as the cluster's owner: the postgres user when we are
# root (initdb refuses root), else ourselves.
as_pg() {
  if is_root; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

need_root() {
  is_root || die "$1 is missing and installing it needs root (run this script as root once)"
}

apt_updated=0
apt_update() {
  if [ "$apt_updated" -eq 0 ]; then
    say "apt-get update"
    apt-get update -qq >&2
    apt_updated=1
  fi
}

# apt_install installs the packages that are not installed yet.
apt_install() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  need_root "${missing[*]}"
  say "apt-get install ${missing[*]}"
  # The package lists may be missing or stale: update once and retry.
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
    apt_update
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
}

install_postgres() {
  if [ ! -x "$PGBIN/postgres" ] || [ ! -x "$PGBIN/initdb" ]; then
    apt_install "postgresql-$PG_MAJOR"
  fi
  [ -x "$PGBIN/postgres" ] || die "$PGBIN/postgres is missing after installing postgresql-$PG_MAJOR"
}

install_pgvector() {
  local sharedir
  sharedir=$("$PG_CONFIG" --sharedir 2>/dev/null || echo "/usr/share/postgresql/$PG_MAJOR")
  if [ -f "$sharedir/extension/vector.control" ]; then
    return 0
  fi
  need_root "pgvector"
  say "building pgvector from Debian's source package"
  apt_install "postgresql-server-dev-$PG_MAJOR" make gcc dpkg-dev
  if [ ! -f "$TRIXIE_SOURCES" ]; then
    cat >"$TRIXIE_SOURCES" <<'EOF'
# Added by Hearth's scripts/pg-test.sh: source packages only, to build
# pgvector for the test database. Binary packages still come from bookworm.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
  # Refresh only the trixie source index: fast, and leaves the other
  # lists alone.
  say "apt-get update (trixie sources)"
  apt-get update -qq -o Dir::Etc::sourcelist="$TRIXIE_SOURCES" -o Dir::Etc::sourceparts=- \
    -o APT::Get::List-Cleanup=0 >&2
  local tmp
  tmp=$(mktemp -d /tmp/hearth-pgvector.XXXXXX)
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  # apt downloads as its sandbox user when it can write there.
  if id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi
  (
    cd "$tmp"
    apt-get source -qq --download-only pgvector >&2
    dsc=$(ls pgvector_*.dsc | head -n1)
    [ -n "$dsc" ] || die "apt-get source pgvector fetched no .dsc"
    dpkg-source -x "$dsc" src >&2
    cd src
    make -s PG_CONFIG="$PG_CONFIG" >&2
    make -s PG_CONFIG="$PG_CONFIG" install >&2
  )
  rm -rf "$tmp"
  trap - EXIT
  [ -f "$sharedir/extension/vector.control" ] || die "pgvector built but vector.control is not in $sharedir/extension"
  say "pgvector installed"
}

init_cluster() {
  mkdir -p "$BASE"
  if is_root; then
    chown postgres:postgres "$BASE"
  fi
  chmod 0700 "$BASE"
  if [ ! -f "$DATA/PG_VERSION" ]; then
    say "initdb $DATA"
    rm -rf "$DATA"
    as_pg mkdir -p "$DATA" "$SOCK"
    # Unix-socket logins are trusted: the socket directory is reachable
    # only by the cluster's owner (mode 0700). TCP needs a password.
    as_pg "$PGBIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  fi
  as_pg mkdir -p "$SOCK"
  chmod 0700 "$SOCK" 2>/dev/null || as_pg chmod 0700 "$SOCK"
  # Settings live in their own file, rewritten each time (it takes effect
  # at the next start).
  as_pg tee "$DATA/hearth-test.conf" >/dev/null <<EOF
# Written by Hearth's scripts/pg-test.sh. Test server: fast, not durable.
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCK'
max_connections = 250
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 1GB
maintenance_work_mem = 512MB
max_parallel_maintenance_workers = 1
log_min_messages = warning
EOF
  if ! grep -q "^include_if_exists = 'hearth-test.conf'" "$DATA/postgresql.conf"; then
    echo "include_if_exists = 'hearth-test.conf'" | as_pg tee -a "$DATA/postgresql.conf" >/dev/null
  fi
}

running() { as_pg "$PGBIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1; }

start_server() {
  if running; then
    return 0
  fi
  say "starting PostgreSQL $PG_MAJOR on 127.0.0.1:$PORT"
  # 9>&-: the server must not inherit (and hold forever) our lock.
  as_pg "$PGBIN/pg_ctl" start -D "$DATA" -l "$BASE/server.log" -w -t 60 >/dev/null 9>&- ||
    { tail -n 20 "$BASE/server.log" >&2 || true; die "the server did not start (log: $BASE/server.log)"; }
}

wait_ready() {
  local i
  for i in $(seq 1 100); do
    if "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
      return 0
    fi
    sleep 0.1
  done
  die "the server does not accept connections on 127.0.0.1:$PORT"
}

psql_admin() {
  as_pg "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -U postgres "$@"
}

create_database() {
  psql_admin -d postgres >/dev/null <<EOF
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
    CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASSWORD';
  ELSE
    ALTER ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASSWORD';
  END IF;
END
\$\$;
SELECT 'CREATE DATABASE $DB_NAME OWNER $DB_USER'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB_NAME')
\gexec
EOF
  psql_admin -d "$DB_NAME" -c 'CREATE EXTENSION IF NOT EXISTS vector' >/dev/null
}

url() {
  echo "postgres://$DB_USER:$DB_PASSWORD@127.0.0.1:$PORT/$DB_NAME?sslmode=disable"
}

up() {
  exec 9>"${BASE}.lock"
  flock 9
  install_postgres
  install_pgvector
  init_cluster
  start_server
  wait_ready
  create_database
}

case "${1:-env}" in
  env)
    up
    echo "export HEARTH_TEST_POSTGRES_URL='$(url)'"
    ;;
  start)
    up
    say "ready: $(url)"
    ;;
  stop)
    if [ -f "$DATA/PG_VERSION" ] && running; then
      as_pg "$PGBIN/pg_ctl" stop -D "$DATA" -m fast -w >/dev/null
      say "stopped"
    else
      say "not running"
    fi
    ;;
  status)
    if [ -f "$DATA/PG_VERSION" ] && running; then
      say "running on 127.0.0.1:$PORT"
    else
      say "not running"
      exit 3
    fi
    ;;
  url)
    url
    ;;
  *)
    echo "usage: $0 env|start|stop|status|url" >&2
    exit 2
    ;;
esac
