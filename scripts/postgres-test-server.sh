#!/usr/bin/env bash
# A throwaway PostgreSQL for tests.
#
#   scripts/postgres-test-server.sh start DIR   # prints postgres://switchyard@127.0.0.1:PORT/switchyard_test
#   scripts/postgres-test-server.sh stop DIR    # stops it and removes DIR
#
# start: initdb a cluster under DIR, run it on 127.0.0.1 on a free port (TCP only, no Unix
# socket, trust authentication from loopback only, fsync off), create the database
# `switchyard_test`, and print its URL on stdout (also written to DIR/url). Everything else
# goes to stderr; the server log is DIR/postgres.log.
# PostgreSQL refuses to run as root: when run as root, the server runs as the `postgres` user
# if it exists (the Debian package creates it), else as a system user `switchyard-pg` created
# here. DIR and its parents must then be reachable by that user (a DIR under /tmp always is).
# Needs the server binaries: initdb and pg_ctl on PATH, or under /usr/lib/postgresql/*/bin
# (Debian: apt-get install -y postgresql).
#
# Typical use:
#   url=$(scripts/postgres-test-server.sh start /tmp/sy-pg)
#   SWITCHYARD_TEST_POSTGRES_URL=$url cargo test -p store
#   scripts/postgres-test-server.sh stop /tmp/sy-pg
set -euo pipefail

DB_USER=switchyard
DB_NAME=switchyard_test
MARKER=.switchyard-postgres-test-server

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}

die() {
  echo "postgres-test-server: $*" >&2
  exit 1
}

# The directory holding initdb, pg_ctl and createdb.
find_bindir() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v initdb)")"
    return
  fi
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do
    if [[ -x $d/initdb && -x $d/pg_ctl ]]; then
      echo "$d"
      return
    fi
  done
  die "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or under /usr/lib/postgresql/*/bin.
Install them, e.g. on Debian/Ubuntu: apt-get install -y postgresql"
}

# The OS user the server runs as ("" = the current user).
server_user() {
  if [[ $(id -u) -ne 0 ]]; then
    echo ""
  elif id -u postgres >/dev/null 2>&1; then
    echo postgres
  else
    if ! id -u switchyard-pg >/dev/null 2>&1; then
      useradd --system --no-create-home --shell /usr/sbin/nologin switchyard-pg >&2 ||
        die "cannot create system user switchyard-pg (PostgreSQL refuses to run as root)"
    fi
    echo switchyard-pg
  fi
}

# Runs a command as the server user.
as_server_user() {
  local user=$1
  shift
  if [[ -z $user ]]; then
    "$@"
  else
    runuser -u "$user" -- "$@"
  fi
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
  local dir=$1 bindir user data port attempt
  bindir=$(find_bindir)
  if [[ -e $dir && ! -f $dir/$MARKER ]] && [[ -n $(ls -A "$dir" 2>/dev/null) ]]; then
    die "$dir exists and is not empty; choose a new directory"
  fi
  if [[ -f $dir/$MARKER && -f $dir/data/postmaster.pid ]]; then
    die "a server is already running in $dir (stop it first)"
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  touch "$dir/$MARKER"
  rm -rf "$dir/data"
  user=$(server_user)
  if [[ -n $user ]]; then
    chown "$user" "$dir"
    as_server_user "$user" test -w "$dir" ||
      die "user $user cannot write $dir (are its parent directories private?); use a DIR under /tmp"
  fi
  data=$dir/data
  as_server_user "$user" "$bindir/initdb" -D "$data" -U "$DB_USER" --auth=trust \
    --encoding=UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 ||
    die "initdb failed; see $dir/initdb.log"
  # Trust, from loopback only.
  cat >"$data/pg_hba.conf" <<'EOF'
host all all 127.0.0.1/32 trust
EOF
  for attempt in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 40000))
    port_in_use "$port" && continue
    if as_server_user "$user" "$bindir/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 \
      -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >&2; then
      local url="postgres://$DB_USER@127.0.0.1:$port/$DB_NAME"
      "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$DB_USER" "$DB_NAME" >&2 ||
        die "createdb failed (server log: $dir/postgres.log)"
      echo "$url" >"$dir/url"
      echo "$url"
      return 0
    fi
    echo "postgres-test-server: start on port $port failed (attempt $attempt), trying another port" >&2
  done
  die "could not start PostgreSQL; see $dir/postgres.log"
}

stop() {
  local dir=$1 bindir user
  [[ -d $dir ]] || return 0
  [[ -f $dir/$MARKER ]] || die "$dir was not made by this script; not removing it"
  if [[ -f $dir/data/postmaster.pid ]]; then
    bindir=$(find_bindir)
    user=$(stat -c %U "$dir/data")
    [[ $user == "$(id -un)" ]] && user=""
    as_server_user "$user" "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >&2 ||
      echo "postgres-test-server: pg_ctl stop failed; removing $dir anyway" >&2
  fi
  rm -rf "$dir"
}

[[ $# -eq 2 ]] || usage
case $1 in
  start) start "$2" ;;
  stop) stop "$2" ;;
  *) usage ;;
esac
