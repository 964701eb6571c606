"""Unit tests for testenv/supervisor.sh, the process supervisor shared by
scripts/testenv and testenv/postgres.sh (issue 15: a slow start must never be taken
for a crash). Each test runs a bash snippet with the library sourced, in a private DIR.

Run: python3 -m unittest discover -s testenv
"""

import os
import socket
import subprocess
import tempfile
import textwrap
import time
import unittest

LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "supervisor.sh")


def read(path):
    with open(path) as f:
        return f.read()


def bash(snippet, directory):
    """Runs `snippet` after sourcing the library with DIR=directory; returns (rc, stdout, stderr)."""
    script = textwrap.dedent(
        """\
        set -euo pipefail
        SV_PROG=test CMD=unit
        source {lib}
        sv_set_dir {dir}
        mkdir -p "$RUN" "$LOGS"
        """
    ).format(lib=LIB, dir=directory) + textwrap.dedent(snippet)
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout, done.stderr


class Liveness(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        # anything a test left running (sleeps) is stopped through its pid file
        run = os.path.join(self.dir, "run")
        for name in os.listdir(run) if os.path.isdir(run) else []:
            if name.endswith(".pid"):
                pid = int(read(os.path.join(run, name)).split()[0])
                try:
                    os.kill(pid, 9)
                except (ProcessLookupError, PermissionError):
                    pass
        self.tmp.cleanup()

    def test_the_spawned_pid_is_the_daemon_and_is_recorded_with_its_start_time(self):
        rc, out, err = bash(
            """
            sv_spawn sleeper sleep 30
            sleep 0.3
            read -r pid start <"$RUN/sleeper.pid"
            echo "$pid $start $(cat /proc/$pid/comm) $(sv_pid sleeper)"
            """,
            self.dir,
        )
        self.assertEqual(rc, 0, err)
        pid, start, comm, alive = out.split()
        # setsid exec'd in place: the recorded pid runs `sleep` itself, no wrapper
        self.assertEqual(comm, "sleep")
        self.assertEqual(alive, pid)
        stat = read(f"/proc/{pid}/stat")
        self.assertEqual(stat.rsplit(") ", 1)[1].split()[19], start)

    def test_alive_does_not_depend_on_the_command_line(self):
        # argv[0] is replaced and nothing in the command line names the component or DIR,
        # as when /proc/PID/cmdline reads empty during the exec of a large binary
        rc, out, err = bash(
            """
            sv_spawn kube-apiserver bash -c 'sleep 0.5; exec -a x sleep 30'
            sleep 1
            pid="$(sv_pid kube-apiserver)"
            echo "$pid|$(tr '\\0' ' ' </proc/$pid/cmdline)"
            """,
            self.dir,
        )
        self.assertEqual(rc, 0, err)
        pid, cmdline = out.strip().split("|")
        self.assertTrue(pid.isdigit())
        self.assertEqual(cmdline.strip(), "x 30")

    def test_alive_through_an_exec(self):
        # polled every 10 ms across the exec: never reported dead
        rc, out, err = bash(
            """
            sv_spawn comp bash -c 'sleep 0.3; exec sleep 30'
            dead=0
            for ((i = 0; i < 60; i++)); do sv_pid comp >/dev/null || dead=$((dead + 1)); sleep 0.01; done
            echo "dead=$dead comm=$(cat /proc/$(sv_pid comp)/comm)"
            """,
            self.dir,
        )
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.strip(), "dead=0 comm=sleep")

    def test_a_recycled_pid_is_not_alive(self):
        # the pid file names a live process (this shell) but another start time
        rc, out, err = bash(
            """
            start="$(sv_proc_start $$)"
            echo "$$ $((start + 1))" >"$RUN/etcd.pid"
            sv_pid etcd && echo alive || echo dead
            echo "$$ $start" >"$RUN/etcd.pid"
            sv_pid etcd >/dev/null && echo alive || echo dead
            echo "$$" >"$RUN/etcd.pid"
            sv_pid etcd >/dev/null && echo alive || echo dead
            """,
            self.dir,
        )
        self.assertEqual(rc, 0, err)
        # a pid file without a start time (written by an older testenv) is not trusted
        self.assertEqual(out.split(), ["dead", "alive", "dead"])

    def test_a_zombie_is_dead(self):
        # a child that exited and is not reaped yet (Popen reaps only in wait/poll)
        child = subprocess.Popen(["true"])
        try:
            for _ in range(100):
                state = read(f"/proc/{child.pid}/stat").rsplit(") ", 1)[1].split()[0]
                if state == "Z":
                    break
                time.sleep(0.01)
            start = read(f"/proc/{child.pid}/stat").rsplit(") ", 1)[1].split()[19]
            os.makedirs(os.path.join(self.dir, "run"), exist_ok=True)
            with open(os.path.join(self.dir, "run", "z.pid"), "w") as f:
                f.write(f"{child.pid} {start}\n")
            rc, out, err = bash("sv_pid z && echo alive || echo dead", self.dir)
            self.assertEqual(rc, 0, err)
            self.assertEqual(out.strip(), "dead")
        finally:
            child.wait()
            os.remove(os.path.join(self.dir, "run", "z.pid"))


class StartAndExit(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_exit_during_startup_reports_the_exit_status_and_the_log_tail(self):
        rc, out, err = bash(
            """
            echo "old run: ignore me" >"$LOGS/comp.log"
            attempt() {
              sv_spawn comp bash -c 'echo "loading config"; sleep 0.5; echo "fatal: bad flag"; exit 7'
              sv_wait_ready $((SECONDS + 20)) comp "comp ready" false
            }
            sv_start comp attempt || echo "failed: $FAIL_REASON"
            """,
            self.dir,
        )
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.strip(), "failed: comp exited during startup (exit status 7)")
        self.assertIn("fatal: bad flag", err)
        self.assertIn("loading config", err)
        self.assertNotIn("old run", err)  # only what this attempt wrote
        self.assertNotIn("attempt 1 of", err)  # no retry: not a port clash

    def test_killed_during_startup_names_the_signal(self):
        rc, out, err = bash(
            """
            attempt() {
              sv_spawn comp sleep 30
              (sleep 0.5; kill -KILL "$(sv_recorded_pid comp)") &
              sv_wait_ready $((SECONDS + 20)) comp "comp ready" false
            }
            sv_start comp attempt || echo "failed: $FAIL_REASON"
            """,
            self.dir,
        )
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.strip(), "failed: comp exited during startup (killed by signal KILL)")

    def test_a_slow_start_is_waited_for(self):
        rc, out, err = bash(
            """
            attempt() {
              sv_spawn comp bash -c 'sleep 1.5; touch "$0"; exec sleep 30' "$DIR/ready"
              sv_wait_ready $((SECONDS + 20)) comp "comp ready" test -e "$DIR/ready"
            }
            sv_start comp attempt && echo "ready, pid $(sv_pid comp)"
            sv_stop comp 5 && echo stopped
            sv_pid comp || echo gone
            """,
            self.dir,
        )
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertRegex(lines[0], r"^ready, pid \d+$")
        self.assertEqual(lines[1:], ["stopped", "gone"])

    def test_timeout_while_running_is_not_called_an_exit(self):
        rc, out, err = bash(
            """
            attempt() {
              sv_spawn comp sleep 30
              sv_wait_ready $((SECONDS + 1)) comp "comp /readyz" false
            }
            sv_start comp attempt || echo "failed: $FAIL_REASON"
            sv_stop comp 5
            """,
            self.dir,
        )
        self.assertEqual(rc, 0, err)
        self.assertRegex(out.strip(), r"^failed: timed out waiting for comp /readyz \(comp pid \d+ still running\)$")

    def test_a_port_taken_before_the_daemon_binds_it_is_retried_with_a_new_port(self):
        # hold a port, make the first attempt choose it, and let a daemon that binds it fail
        holder = socket.socket()
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        try:
            rc, out, err = bash(
                f"""
                tries=0
                attempt() {{
                  tries=$((tries + 1))
                  if ((tries == 1)); then port={taken}; else port="$(sv_free_ports 1)"; fi
                  sv_spawn srv python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); print("listening", flush=True); time.sleep(30)' "$port"
                  sv_wait_ready $((SECONDS + 20)) srv "srv on $port" grep -q listening "$LOGS/srv.log"
                }}
                sv_start srv attempt && echo "tries=$tries port=$port taken={taken}"
                sv_stop srv 5
                """,
                self.dir,
            )
        finally:
            holder.close()
        self.assertEqual(rc, 0, err)
        tries, port, was_taken = out.split()
        self.assertEqual(tries, "tries=2")
        self.assertNotEqual(port.split("=")[1], was_taken.split("=")[1])
        self.assertIn("a chosen port was taken before it could bind it (attempt 1 of 5)", err)

    def test_port_clashes_are_retried_a_bounded_number_of_times(self):
        rc, out, err = bash(
            """
            SV_BIND_ATTEMPTS=3
            attempt() {
              sv_spawn srv bash -c 'echo "bind: address already in use"; exit 1'
              sv_wait_ready $((SECONDS + 20)) srv srv false
            }
            sv_start srv attempt || echo "failed: $FAIL_REASON"
            """,
            self.dir,
        )
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.strip(), "failed: srv exited during startup (exit status 1)")
        self.assertEqual(err.count("choosing new ports"), 2)

    def test_stop_kills_what_ignores_term(self):
        rc, out, err = bash(
            """
            sv_spawn stubborn bash -c 'trap "" TERM; while true; do sleep 0.1; done'
            sleep 0.3
            sv_stop stubborn 1 && echo stopped
            sv_pid stubborn || echo gone
            sv_stop stubborn 1 || echo "not running"
            """,
            self.dir,
        )
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.split("\n")[:3], ["stopped", "gone", "not running"])
        self.assertIn("still running 1s after TERM, sending KILL", err)

    def test_free_ports_are_distinct_free_and_below_the_ephemeral_range(self):
        rc, out, err = bash("sv_free_ports 5", self.dir)
        self.assertEqual(rc, 0, err)
        ports = [int(p) for p in out.split()]
        self.assertEqual(len(set(ports)), 5)
        for p in ports:
            self.assertTrue(20000 <= p < 32000, p)
            self.assertNotIn(p + 1, ports)
            s = socket.socket()
            s.bind(("127.0.0.1", p))  # free after the helper released it
            s.close()


if __name__ == "__main__":
    unittest.main()
