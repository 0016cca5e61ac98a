#!/usr/bin/env bash
# Throwaway MariaDB and PostgreSQL servers for the integration and crash tests.
#
# Usage: scripts/test-servers.sh start|stop|status|env
#        scripts/test-servers.sh kill|restart mariadb|postgresql
#
#   start    initialise (first time) and start every server; waits until each accepts connections
#   stop     stop every server (data kept, so a later start is quick)
#   status   print which servers are up; exit 1 if any is down
#   env      print the settings the tests read, as shell assignments (eval "$(... env)")
#   kill     SIGKILL one server (a crash, for crash tests); restart: kill, then start again
#
# Everything lives under $XATM_TEST_SERVERS_DIR (default <repo>/build/test-servers): data,
# sockets and logs. No server listens on TCP: MariaDB runs with skip-networking and PostgreSQL
# with listen_addresses='', so tests never collide with a system service or each other's ports.
# Servers run as the unprivileged users `mysql` and `postgres` when started by root (PostgreSQL
# refuses root); started by another user, they run as that user.
#
# Instances: `mariadb` (MariaDB 10.11), `postgresql` (max_prepared_transactions=64), and
# `postgresql-noprep` (max_prepared_transactions=0, to test that the driver refuses it).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base="${XATM_TEST_SERVERS_DIR:-${repo_root}/build/test-servers}"
pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
user_name=xatm
user_password=xatm
database=xatm_test

die() { echo "test-servers: $*" >&2; exit 1; }
as_user() {  # as_user USER command...: run as USER when we are root, else as ourselves
  local who="$1"; shift
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$who" -- "$@"; else "$@"; fi
}
owner_for() { if [ "$(id -u)" -eq 0 ]; then echo "$1"; else id -un; fi; }

# Every directory on the way to $base must be traversable by the server users.
prepare_base() {
  mkdir -p "$base"
  base="$(cd "$base" && pwd)"
  if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$base"; then
    die "$base is not reachable by the 'postgres' user; set XATM_TEST_SERVERS_DIR to a directory it can reach"
  fi
  # unix socket paths are limited to 107 bytes
  [ ${#base} -le 80 ] || die "$base is too long for unix socket paths; set XATM_TEST_SERVERS_DIR"
}

# --- MariaDB ---------------------------------------------------------------------------------

my_dir() { echo "$base/mariadb"; }
my_socket() { echo "$(my_dir)/mysqld.sock"; }
my_client() { mariadb --no-defaults --socket="$(my_socket)" -uroot "$@"; }

mariadb_up() { mariadb-admin --no-defaults --socket="$(my_socket)" -uroot ping >/dev/null 2>&1; }

mariadb_start() {
  local dir; dir="$(my_dir)"
  mariadb_up && return 0
  local owner; owner="$(owner_for mysql)"
  if [ ! -d "$dir/data/mysql" ]; then
    mkdir -p "$dir/data"; chown -R "$owner" "$dir"
    mariadb-install-db --no-defaults --datadir="$dir/data" --user="$owner" \
      --auth-root-authentication-method=socket --skip-test-db >"$dir/install.log" 2>&1 ||
      { cat "$dir/install.log" >&2; die "mariadb-install-db failed"; }
  fi
  chown -R "$owner" "$dir"
  # innodb_flush_log_at_trx_commit=1: prepared branches must survive a kill -9 (docs/driver-mysql.md).
  setsid mariadbd --no-defaults --user="$owner" --datadir="$dir/data" --socket="$(my_socket)" \
    --pid-file="$dir/mysqld.pid" --log-error="$dir/error.log" --skip-networking \
    --innodb-flush-log-at-trx-commit=1 --innodb-buffer-pool-size=64M \
    --max-connections=200 --lock-wait-timeout=10 --innodb-lock-wait-timeout=5 \
    </dev/null >/dev/null 2>&1 &
  for _ in $(seq 1 300); do mariadb_up && break; sleep 0.1; done
  mariadb_up || { tail -n 30 "$dir/error.log" >&2; die "mariadb did not start"; }
  my_client <<SQL
CREATE DATABASE IF NOT EXISTS ${database};
CREATE USER IF NOT EXISTS '${user_name}'@'localhost' IDENTIFIED BY '${user_password}';
GRANT ALL PRIVILEGES ON *.* TO '${user_name}'@'localhost';
SQL
}

mariadb_stop() {
  mariadb_up || return 0
  mariadb-admin --no-defaults --socket="$(my_socket)" -uroot shutdown >/dev/null 2>&1 || true
  for _ in $(seq 1 300); do mariadb_up || return 0; sleep 0.1; done
  die "mariadb did not stop"
}

mariadb_kill() {
  local pid_file; pid_file="$(my_dir)/mysqld.pid"
  [ -f "$pid_file" ] || return 0
  kill -9 "$(cat "$pid_file")" 2>/dev/null || true
  for _ in $(seq 1 100); do mariadb_up || break; sleep 0.1; done
  rm -f "$pid_file" "$(my_socket)" "$(my_socket).lock"
}

# --- PostgreSQL ------------------------------------------------------------------------------

pg_dir() { echo "$base/$1"; }         # instance directory: data/, the socket, the log
pg_port() { [ "$1" = postgresql ] && echo 5432 || echo 5433; }
pg_up() { "$pg_bin/pg_isready" -q -h "$(pg_dir "$1")" -p "$(pg_port "$1")" >/dev/null 2>&1; }

pg_start() {
  local name="$1" prepared="$2" dir; dir="$(pg_dir "$name")"
  pg_up "$name" && return 0
  local owner; owner="$(owner_for postgres)"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    mkdir -p "$dir"; chown "$owner" "$dir"; chmod 700 "$dir"
    printf '%s\n' "$user_password" >"$dir/pwfile"; chown "$owner" "$dir/pwfile"
    as_user "$owner" "$pg_bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" \
      --auth-local=scram-sha-256 --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; die "initdb failed for $name"; }
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
port = $(pg_port "$name")
max_prepared_transactions = $prepared
max_connections = 200
shared_buffers = 32MB
fsync = on
CONF
  fi
  rm -f "$dir/data/postmaster.pid"  # stale after a kill -9; pg_ctl checks the process anyway
  as_user "$owner" "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    >/dev/null || { tail -n 30 "$dir/server.log" >&2; die "postgresql ($name) did not start"; }
  PGPASSWORD="$user_password" "$pg_bin/psql" -q -h "$dir" -p "$(pg_port "$name")" -U postgres \
    -d postgres -v ON_ERROR_STOP=1 >/dev/null <<SQL
SELECT 'CREATE ROLE ${user_name} LOGIN PASSWORD ''${user_password}'''
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${user_name}') \gexec
SELECT 'CREATE DATABASE ${database} OWNER ${user_name}'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${database}') \gexec
SQL
}

pg_stop() {
  local name="$1" dir; dir="$(pg_dir "$name")"
  [ -f "$dir/data/postmaster.pid" ] || return 0
  as_user "$(owner_for postgres)" "$pg_bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

pg_kill() {
  local name="$1" dir; dir="$(pg_dir "$name")"
  [ -f "$dir/data/postmaster.pid" ] || return 0
  local pid; pid="$(head -n 1 "$dir/data/postmaster.pid")"
  # the postmaster and every backend: a whole-server crash. The postmaster is stopped first: a
  # live one that sees its children die starts a recovery process before its own kill lands,
  # and that orphan keeps the shared memory (the next start fails "still in use").
  kill -STOP "$pid" 2>/dev/null || true
  pkill -9 -P "$pid" 2>/dev/null || true
  kill -9 "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
}

# --- commands --------------------------------------------------------------------------------

print_env() {
  cat <<ENV
XATM_TEST_SERVERS_DIR='$base'
XATM_TEST_SERVERS_SCRIPT='$repo_root/scripts/test-servers.sh'
XATM_TEST_MYSQL_SOCKET='$(my_socket)'
XATM_TEST_MYSQL_USER='$user_name'
XATM_TEST_MYSQL_PASSWORD='$user_password'
XATM_TEST_MYSQL_DATABASE='$database'
XATM_TEST_PG_CONNINFO='host=$(pg_dir postgresql) port=$(pg_port postgresql) user=$user_name password=$user_password dbname=$database'
XATM_TEST_PG_NOPREPARE_CONNINFO='host=$(pg_dir postgresql-noprep) port=$(pg_port postgresql-noprep) user=$user_name password=$user_password dbname=$database'
ENV
}

start_one() {
  case "$1" in
    mariadb) mariadb_start ;;
    postgresql) pg_start postgresql 64 ;;
    postgresql-noprep) pg_start postgresql-noprep 0 ;;
    *) die "unknown server '$1' (mariadb, postgresql, postgresql-noprep)" ;;
  esac
}

kill_one() {
  case "$1" in
    mariadb) mariadb_kill ;;
    postgresql|postgresql-noprep) pg_kill "$1" ;;
    *) die "unknown server '$1' (mariadb, postgresql, postgresql-noprep)" ;;
  esac
}

command="${1:-}"
prepare_base
case "$command" in
  start)
    for server in mariadb postgresql postgresql-noprep; do start_one "$server"; done
    echo "test-servers: mariadb, postgresql and postgresql-noprep are up under $base"
    ;;
  stop)
    mariadb_stop; pg_stop postgresql; pg_stop postgresql-noprep
    ;;
  status)
    down=0
    if mariadb_up; then echo "mariadb: up"; else echo "mariadb: down"; down=1; fi
    for name in postgresql postgresql-noprep; do
      if pg_up "$name"; then echo "$name: up"; else echo "$name: down"; down=1; fi
    done
    exit "$down"
    ;;
  env) print_env ;;
  kill) kill_one "${2:?which server}" ;;
  restart) kill_one "${2:?which server}"; start_one "$2" ;;
  *) die "usage: $0 start|stop|status|env|kill NAME|restart NAME" ;;
esac
