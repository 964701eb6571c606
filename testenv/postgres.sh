#!/usr/bin/env bash
# A private PostgreSQL for triage's database tests: initdb in a temp dir, one server on a
# free loopback port (TCP only, password auth), never the system service.
#
# usage: testenv/postgres.sh <command> [options]
#   up [--dir DIR] [--owner-pid PID]   initdb + start + create user/database `bleat`,
#                                      wait until it accepts logins, print DIR/env
#   down [--dir DIR] [--purge]         stop the server, delete its data (logs kept
#                                      unless --purge, which removes DIR)
#   env [--dir DIR]                    print DIR/env (shell exports)
#   status [--dir DIR]                 "up: ..." exit 0, or "down: ..." exit 1
#
# DIR defaults to ${TRIAGE_PG_DIR:-/tmp/triage-pg}. See docs/database.md.
#
# PostgreSQL refuses to run as root: as root the server runs as ${TRIAGE_PG_USER:-postgres}
# (the Debian package's user; any unprivileged user works) and DIR is chowned to it.
set -euo pipefail

SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
PG_BIN="${TRIAGE_PG_BIN:-/usr/lib/postgresql/15/bin}"
READY_TIMEOUT="${TRIAGE_PG_READY_TIMEOUT:-60}"   # seconds, whole `up`
RUN_AS="${TRIAGE_PG_USER:-postgres}"

CMD="${1:-}"
SV_PROG=postgres.sh
# shellcheck source=testenv/supervisor.sh
source "$(dirname "$SELF")/supervisor.sh"   # die, log, sq, sv_*: the same supervisor as scripts/testenv

set_dir() { # <dir>
  sv_set_dir "$1"
  DATA="$DIR/data"
}

as_pg() { # run a command as the server's user (only needed when we are root); the
  # server must not inherit the DIR lock (fd 9), or the next `down` would wait for it
  if ((EUID == 0)); then runuser -u "$RUN_AS" -- "$@" 9>&-; else "$@" 9>&-; fi
}

postmaster_pid() { # the server's pid while it runs (recorded with its start time after `pg_ctl start`)
  sv_pid postgres
}

is_up() {
  [[ -f "$DIR/env" && -f "$DIR/port" ]] || return 1
  postmaster_pid >/dev/null || return 1
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$(<"$DIR/port")" -t 2
}

# ---------------------------------------------------------------- down

stop_all() {
  local pid
  sv_stop watchdog 5 || true
  if pid="$(postmaster_pid)"; then
    # fast: disconnect clients, shut down cleanly; immediate if that takes too long
    as_pg "$PG_BIN/pg_ctl" stop -D "$DATA" -m fast -w -t 10 >>"$LOGS/pg_ctl.log" 2>&1 \
      || as_pg "$PG_BIN/pg_ctl" stop -D "$DATA" -m immediate -w -t 5 >>"$LOGS/pg_ctl.log" 2>&1 \
      || kill -KILL "$pid" 2>/dev/null || true
    log "stopped postgres (pid $pid)"
  fi
  rm -rf -- "$DATA" "$RUN" "$DIR/env" "$DIR/port" "$DIR/pwfile"
}

cmd_down() {
  local dir="${TRIAGE_PG_DIR:-/tmp/triage-pg}" purge=0
  while (($#)); do
    case "$1" in
      --dir) [[ $# -ge 2 ]] || die "--dir needs a value"; dir="$2"; shift ;;
      --purge) purge=1 ;;
      *) die "unknown argument '$1' (usage: down [--dir DIR] [--purge])" ;;
    esac
    shift
  done
  set_dir "$dir"
  if [[ ! -f "$DIR/.triage-pg" ]]; then log "nothing to stop in $DIR (not a postgres.sh dir)"; return 0; fi
  sv_lock $((READY_TIMEOUT + 30))
  stop_all
  if ((purge)); then rm -rf -- "$DIR"; log "removed $DIR"; else log "down ($DIR; logs kept in $LOGS)"; fi
}

# ---------------------------------------------------------------- watchdog

cmd_watchdog() { # internal: <dir> <owner-pid> <owner-start>
  set_dir "$1"
  CMD=watchdog
  sv_watchdog "$2" "$3" "$SELF"
}

# ---------------------------------------------------------------- up

start_postgres() { # one attempt (sv_start repeats it when the chosen port was taken meanwhile)
  # pg_ctl is PostgreSQL's own supervisor: it forks the postmaster, waits until it accepts
  # connections (-w) and fails if it exits first. The postmaster is not our child, so its
  # exit status is pg_ctl's report and the server log (postgres.log, LOGS/postgres.log).
  PG_PORT="$(sv_free_ports 1)"
  if as_pg "$PG_BIN/pg_ctl" start -D "$DATA" -l "$LOGS/postgres.log" -w -t "$READY_TIMEOUT" -s \
      -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories='' \
          -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
          -c max_connections=50 -c shared_buffers=16MB" >>"$LOGS/pg_ctl.log" 2>&1; then
    local pid
    pid="$(head -n1 "$DATA/postmaster.pid" 2>/dev/null)"
    [[ "$pid" =~ ^[0-9]+$ ]] || { FAIL_REASON="postgres started but $DATA/postmaster.pid names no pid"; return 1; }
    sv_record postgres "$pid"
    return 0
  fi
  # a postmaster that is still running timed out; one that exited removed postmaster.pid
  local pid
  pid="$(head -n1 "$DATA/postmaster.pid" 2>/dev/null || true)"
  if [[ "$pid" =~ ^[0-9]+$ ]] && sv_stat "$pid" && [[ "$SV_STATE" != Z ]]; then
    sv_record postgres "$pid"
    FAIL_REASON="postgres not accepting connections after ${READY_TIMEOUT}s (pid $pid still running)"
    return 1
  fi
  FAIL_REASON="postgres exited during startup (pg_ctl: $(tail -n 1 "$LOGS/pg_ctl.log" 2>/dev/null))"
  return 2
}

cmd_up() {
  local dir="${TRIAGE_PG_DIR:-/tmp/triage-pg}" owner=""
  while (($#)); do
    case "$1" in
      --dir) [[ $# -ge 2 ]] || die "--dir needs a value"; dir="$2"; shift ;;
      --owner-pid) [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || die "--owner-pid needs a numeric pid"; owner="$2"; shift ;;
      *) die "unknown argument '$1' (usage: up [--dir DIR] [--owner-pid PID])" ;;
    esac
    shift
  done
  [[ -z "$owner" ]] || sv_proc_start "$owner" >/dev/null || die "--owner-pid $owner: no such process"
  local t
  for t in "$PG_BIN/initdb" "$PG_BIN/pg_ctl" "$PG_BIN/pg_isready" "$PG_BIN/psql"; do
    [[ -x "$t" ]] || die "$t not found (install postgresql-15 or set TRIAGE_PG_BIN)"
  done
  for t in python3 setsid flock openssl; do command -v "$t" >/dev/null || die "$t not found in PATH"; done
  if ((EUID == 0)); then
    id -u "$RUN_AS" >/dev/null 2>&1 || die "running as root and user '$RUN_AS' does not exist (set TRIAGE_PG_USER)"
  fi
  set_dir "$dir"
  sv_lock $((READY_TIMEOUT + 30))
  if is_up; then
    log "already up (127.0.0.1:$(<"$DIR/port")); reusing it"
    [[ -z "$owner" ]] || sv_start_watchdog "$owner" "$SELF"
    cat "$DIR/env"
    return 0
  fi
  stop_all
  touch "$DIR/.triage-pg"
  mkdir -p "$RUN" "$LOGS"
  local t0; t0="$(date +%s%N)"
  trap 'rc=$?; if ((rc != 0)); then
          log "failed; stopping what was started"; stop_all
          echo "postgres.sh up: error: ${FAIL_REASON:-interrupted (exit $rc)} (logs: $LOGS)" >&2
        fi' EXIT
  trap 'exit 130' INT TERM HUP
  [[ -z "$owner" ]] || sv_start_watchdog "$owner" "$SELF"

  local admin_pw bleat_pw port
  admin_pw="$(openssl rand -hex 16)"; bleat_pw="$(openssl rand -hex 16)"
  if ((EUID == 0)); then
    # the server's user must own DATA and reach it through DIR
    chown "$RUN_AS" "$DIR" "$LOGS"; chmod 755 "$DIR"
  fi
  ( umask 077; printf '%s\n' "$admin_pw" >"$DIR/pwfile" )
  ((EUID == 0)) && chown "$RUN_AS" "$DIR/pwfile"
  # --no-sync and fsync=off: a throwaway server; durability buys nothing here
  as_pg "$PG_BIN/initdb" -D "$DATA" -U postgres --auth=scram-sha-256 --pwfile="$DIR/pwfile" \
    -E UTF8 --locale=C --no-sync >"$LOGS/initdb.log" 2>&1 \
    || { tail -n 15 "$LOGS/initdb.log" >&2; die "initdb failed (log: $LOGS/initdb.log)"; }
  rm -f "$DIR/pwfile"
  local t_init=$(( ($(date +%s%N) - t0) / 1000000 ))

  sv_start postgres start_postgres || exit 1
  port="$PG_PORT"
  echo "$port" >"$DIR/port"
  local t_start=$(( ($(date +%s%N) - t0) / 1000000 ))

  # the application's role and database, as the migration Job sees them
  PGPASSWORD="$admin_pw" "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres \
    -v ON_ERROR_STOP=1 -q -v pw="$bleat_pw" >>"$LOGS/setup.log" 2>&1 <<'SQL' || die "creating user/database bleat failed (log: $LOGS/setup.log)"
CREATE ROLE bleat LOGIN PASSWORD :'pw';
CREATE DATABASE bleat OWNER bleat;
SQL

  {
    echo "export PGHOST='127.0.0.1'"
    echo "export PGPORT='$port'"
    echo "export PGUSER='bleat'"
    echo "export PGPASSWORD=$(sq "$bleat_pw")"
    echo "export PGDATABASE='bleat'"
    echo "export TRIAGE_TEST_DB_URL=$(sq "postgres://bleat:$bleat_pw@127.0.0.1:$port/bleat")"
    echo "export TRIAGE_TEST_DB_ADMIN_URL=$(sq "postgres://postgres:$admin_pw@127.0.0.1:$port/postgres")"
    echo "export TRIAGE_TEST_DB_DIR=$(sq "$DIR")"
  } >"$DIR/env.tmp"
  chmod 600 "$DIR/env.tmp"
  mv -f "$DIR/env.tmp" "$DIR/env"
  trap - EXIT INT TERM HUP
  log "up in $(( ($(date +%s%N) - t0) / 1000000 )) ms (initdb ${t_init} ms, accepting connections at ${t_start} ms; 127.0.0.1:$port, pid $(postmaster_pid)); source $DIR/env"
  cat "$DIR/env"
}

# ---------------------------------------------------------------- env / status

cmd_env() {
  sv_dir_arg "${TRIAGE_PG_DIR:-/tmp/triage-pg}" "$@"
  DATA="$DIR/data"
  [[ -f "$DIR/env" ]] || die "not up ($DIR/env missing): run testenv/postgres.sh up --dir $DIR"
  cat "$DIR/env"
}

cmd_status() {
  sv_dir_arg "${TRIAGE_PG_DIR:-/tmp/triage-pg}" "$@"
  DATA="$DIR/data"
  if is_up; then
    echo "up: 127.0.0.1:$(<"$DIR/port") dir=$DIR postgres=$(postmaster_pid)$(sv_pid watchdog >/dev/null && echo " watchdog=$(sv_pid watchdog)")"
    return 0
  fi
  echo "down: $DIR"
  return 1
}

case "$CMD" in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  env) shift; cmd_env "$@" ;;
  status) shift; cmd_status "$@" ;;
  __watchdog) shift; cmd_watchdog "$@" ;;
  -h|--help|help) sed -n '2,17p' "$SELF" | sed 's/^# \{0,1\}//' ;;
  "") sed -n '2,17p' "$SELF" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  *) die "unknown command '$CMD' (up, down, env, status)" ;;
esac
