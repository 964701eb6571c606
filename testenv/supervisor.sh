# shellcheck shell=bash
# The process supervisor shared by scripts/testenv (etcd, kube-apiserver,
# kube-controller-manager) and testenv/postgres.sh (PostgreSQL): spawning daemons,
# judging whether they are alive, stopping them, choosing ports, locking DIR, and the
# watchdog that tears everything down when the owner (a test binary) exits.
# Sourced, never run. The caller sets SV_PROG (the message prefix) and CMD (the
# subcommand), then calls sv_set_dir.
#
# Liveness model (issue 15). A daemon is recorded at spawn as `PID START` in
# DIR/run/<name>.pid, START being field 22 of /proc/PID/stat (starttime, clock ticks
# after boot; proc(5)). It is alive while /proc/PID/stat can be read, shows that same
# START, and its state is not Z (zombie) or X (dead). START is fixed when the process
# is forked and survives execve, so it identifies the process across the exec of a
# large binary and tells a recycled PID apart. The command line is never consulted: a
# read of /proc/PID/cmdline is empty while the kernel is in the middle of execve (the
# new mm has no argument area until the ELF loader finishes, and that waits on the
# disk when the page cache is cold), and taking that for death made `up` fail on 2 of
# 4 cold starts. When a daemon this shell spawned has exited, `wait` gives its exit
# status, and the failure message carries it plus the lines its log got meanwhile.

SV_PROG="${SV_PROG:-supervisor}"
FAIL_REASON=""   # why the command failed; `up` repeats it as its last stderr line
SV_BIND_ATTEMPTS="${TRIAGE_TESTENV_BIND_ATTEMPTS:-5}"
declare -A SV_CHILD=()   # name -> pid, for daemons spawned by this shell (`wait`able)

die() { FAIL_REASON="$*"; echo "$SV_PROG ${CMD:-}: error: $*" >&2; exit 1; }
log() { echo "$SV_PROG ${CMD:-}: $*" >&2; }
sq() { local v="$1"; printf "'%s'" "${v//\'/\'\\\'\'}"; }   # single-quote for sh

sv_now_us() { echo "${EPOCHREALTIME/[.,]/}"; }   # microseconds since the epoch
sv_since() { # <start-us> [elapsed-ms] -> "4.2s": time since start (or the given milliseconds)
  local ms="${2:-$(( ($(sv_now_us) - $1) / 1000 ))}"
  printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100))
}

# ---------------------------------------------------------------- DIR

sv_set_dir() { # <dir>: DIR (absolute), RUN (pid files), LOGS
  [[ -n "$1" ]] || die "empty --dir"
  DIR="$(realpath -m -- "$1")"
  [[ "$DIR" != "/" ]] || die "refusing --dir /"
  RUN="$DIR/run"; LOGS="$DIR/logs"
}

sv_dir_arg() { # <default-dir> [--dir DIR]: the only option `env` and `status` take
  local dir="$1"; shift
  while (($#)); do
    case "$1" in
      --dir) [[ $# -ge 2 ]] || die "--dir needs a value"; dir="$2"; shift ;;
      *) die "unknown argument '$1' (usage: $CMD [--dir DIR])" ;;
    esac
    shift
  done
  sv_set_dir "$dir"
}

sv_lock() { # <timeout-seconds>: serialize commands on one DIR (fd 9, which daemons never inherit)
  mkdir -p "$DIR"
  exec 9>"$DIR/.lock"
  flock -w "$1" 9 || die "another $SV_PROG command holds $DIR/.lock"
}

# ---------------------------------------------------------------- processes

sv_stat() { # <pid>: sets SV_STATE and SV_START from one read of /proc/PID/stat; 1 if no such process
  local stat rest f
  SV_STATE=X; SV_START=""
  [[ "$1" =~ ^[0-9]+$ ]] || return 1
  read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
  # field 2 (comm) may hold spaces and parentheses: the fields after it follow the last ") "
  rest="${stat##*) }"
  read -ra f <<<"$rest"
  [[ "${f[19]:-}" =~ ^[0-9]+$ ]] || return 1
  SV_STATE="${f[0]}"; SV_START="${f[19]}"
}

sv_proc_start() { # <pid> -> its start time (field 22 of /proc/PID/stat)
  sv_stat "$1" || return 1
  echo "$SV_START"
}

sv_alive() { # <pid> <start>: that very process exists and is not a zombie
  sv_stat "$1" || return 1
  [[ "$SV_START" == "$2" && "$SV_STATE" != Z && "$SV_STATE" != X ]]
}

sv_record() { # <name> <pid>: RUN/<name>.pid = "PID START"
  # a child that already exited and was reaped has no stat: START 0 never matches
  sv_stat "$2" || SV_START=0
  printf '%s %s\n' "$2" "$SV_START" >"$RUN/$1.pid.tmp"
  mv -f "$RUN/$1.pid.tmp" "$RUN/$1.pid"
}

sv_recorded_pid() { # <name> -> the recorded pid, alive or not
  local pid _rest
  read -r pid _rest 2>/dev/null <"$RUN/$1.pid" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  echo "$pid"
}

sv_pid() { # <name> -> its pid while the recorded process is alive
  local pid start _rest
  read -r pid start _rest 2>/dev/null <"$RUN/$1.pid" || return 1
  [[ "$pid" =~ ^[0-9]+$ && "$start" =~ ^[0-9]+$ ]] || return 1
  sv_alive "$pid" "$start" || return 1
  echo "$pid"
}

sv_spawn() { # <name> <command...>: a daemon in its own session, stdin closed, output appended to LOGS/<name>.log
  local name="$1"; shift
  # setsid(1) only forks when the caller leads a process group; a background job of a
  # script (no job control) does not, so it execs in place and $! is the daemon itself:
  # this shell's child, whose exit status `wait` can give. fd 9 (the DIR lock) is closed
  # so a daemon never holds it.
  setsid "$@" </dev/null >>"$LOGS/$name.log" 2>&1 9>&- &
  SV_CHILD[$name]=$!
  sv_record "$name" "$!"
}

sv_how_ended() { # <name> -> "exit status N" / "killed by signal S" of a daemon this shell spawned
  local pid="${SV_CHILD[$1]:-}" rc=0
  [[ -n "$pid" ]] || { echo "exit status unknown: not started by this process"; return 0; }
  if sv_pid "$1" >/dev/null; then echo "still running"; return 0; fi   # never block in `wait`
  # bash keeps the status of a reaped background child, so this works after the zombie is gone
  wait "$pid" 2>/dev/null || rc=$?
  if ((rc > 128)); then
    echo "killed by signal $(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
  else
    echo "exit status $rc"
  fi
}

sv_stop() { # <name> <grace-seconds>: TERM, then KILL after the grace; returns 1 if it was not running
  local name="$1" grace="$2" pid t
  pid="$(sv_pid "$name")" || return 1
  [[ "$pid" != "$$" ]] || return 1   # the watchdog running `down` itself
  kill -TERM "$pid" 2>/dev/null || true
  t=$((SECONDS + grace))
  while sv_pid "$name" >/dev/null && ((SECONDS < t)); do sleep 0.1; done
  if sv_pid "$name" >/dev/null; then
    log "$name (pid $pid) still running ${grace}s after TERM, sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    # gone before its data and ports are reused
    t=$((SECONDS + 5))
    while sv_pid "$name" >/dev/null && ((SECONDS < t)); do sleep 0.1; done
  fi
  return 0
}

# ---------------------------------------------------------------- logs

sv_log_size() { # <name> -> bytes in LOGS/<name>.log (a mark for sv_log_since)
  local file="$LOGS/$1.log"
  if [[ -f "$file" ]]; then stat -c %s -- "$file"; else echo 0; fi
}

sv_log_since() { # <name> <mark>: what the log got after the mark
  local file="$LOGS/$1.log"
  [[ -f "$file" ]] || return 0
  tail -c "+$(($2 + 1))" -- "$file"
}

sv_tail_log() { # <name> [mark]: the last lines (written after mark) on stderr
  local file="$LOGS/$1.log" lines
  [[ -f "$file" ]] || return 0
  lines="$(sv_log_since "$1" "${2:-0}" | tail -n 15)"
  echo "---- last lines of $file ----" >&2
  if [[ -n "$lines" ]]; then printf '%s\n' "$lines" >&2; else echo "(nothing written)" >&2; fi
}

# ---------------------------------------------------------------- starting

sv_wait_ready() { # <deadline> <name> <what> <probe...>
  # 0 once the probe passes; 2 as soon as <name> has exited (FAIL_REASON says how it
  # ended); 1 at the deadline (SECONDS) while it still runs.
  local deadline="$1" name="$2" what="$3"
  shift 3
  while true; do
    if ! sv_pid "$name" >/dev/null; then
      FAIL_REASON="$name exited during startup ($(sv_how_ended "$name"))"
      return 2
    fi
    "$@" && return 0
    if ((SECONDS >= deadline)); then
      FAIL_REASON="timed out waiting for $what ($name pid $(sv_recorded_pid "$name") still running)"
      return 1
    fi
    sleep 0.25
  done
}

sv_start() { # <name> <attempt-fn>: start a daemon whose ports are chosen by <attempt-fn>
  # <attempt-fn> chooses ports, spawns <name> and waits for it, returning like
  # sv_wait_ready. Ports are free when chosen but only bound later, so another process
  # may take one meanwhile: when <name> exited and the lines its log got during this
  # attempt say "address already in use", the attempt is repeated with new ports, at
  # most SV_BIND_ATTEMPTS times. Any other failure is final: logged with the log's tail.
  local name="$1" fn="$2" attempt mark rc
  for ((attempt = 1; ; attempt++)); do
    mark="$(sv_log_size "$name")"
    rc=0
    "$fn" || rc=$?
    ((rc == 0)) && return 0
    if ((rc == 2 && attempt < SV_BIND_ATTEMPTS)) &&
      grep -qi 'address already in use' < <(sv_log_since "$name" "$mark"); then
      log "$name: a chosen port was taken before it could bind it (attempt $attempt of $SV_BIND_ATTEMPTS); choosing new ports"
      continue
    fi
    log "$FAIL_REASON"
    sv_tail_log "$name" "$mark"
    return 1
  done
}

sv_free_ports() { # <n> -> n distinct loopback ports, free when asked, none adjacent to another
  # 20000-31999: below the ephemeral range (32768+), so outgoing connections do not
  # take them. Free *now* only: callers go through sv_start, which retries a lost race.
  python3 - "$1" <<'PY'
import random, socket, sys
n, got, socks = int(sys.argv[1]), [], []
while len(got) < n:
    p = random.randrange(20000, 32000)
    if p in got or p + 1 in got or p - 1 in got:
        continue
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        s.close(); continue
    socks.append(s); got.append(p)
print(" ".join(map(str, got)))
PY
}

# ---------------------------------------------------------------- watchdog

sv_start_watchdog() { # <owner-pid> <script>: a process that runs `<script> down --dir DIR` once the owner exits
  local owner="$1" script="$2" start old
  start="$(sv_proc_start "$owner")" || die "--owner-pid $owner: no such process"
  if old="$(sv_pid watchdog)"; then kill -TERM "$old" 2>/dev/null || true; fi
  mkdir -p "$RUN" "$LOGS"
  sv_spawn watchdog bash "$script" __watchdog "$DIR" "$owner" "$start"
  log "watchdog (pid ${SV_CHILD[watchdog]}) will run \`down\` when pid $owner exits"
}

sv_watchdog() { # <owner-pid> <owner-start> <script>: the watchdog process itself
  local owner="$1" start="$2" script="$3" i
  log "$(date -Is) watching pid $owner"
  # the spawner records run/watchdog.pid right after forking this process
  for ((i = 0; i < 100; i++)); do [[ "$(sv_recorded_pid watchdog)" == "$$" ]] && break; sleep 0.05; done
  # the owner's start time, so a recycled PID does not keep us waiting
  while sv_alive "$owner" "$start"; do
    # someone else ran `down` (or replaced this watchdog): nothing left to guard
    [[ "$(sv_recorded_pid watchdog)" == "$$" ]] || { log "$(date -Is) superseded, exiting"; exit 0; }
    sleep 1
  done
  log "$(date -Is) owner pid $owner exited; tearing down $DIR"
  exec bash "$script" down --dir "$DIR"   # same pid: `down` must not stop itself
}
