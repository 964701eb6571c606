"""Unit tests of the world simulator's pure parts (run by scripts/test:
`python3 -m unittest discover -s testenv`). R4's script runs use bash only, no
database."""

import unittest

import world

POD_SPEC = {
    "containers": [{
        "name": "migrate", "image": "postgres:15-alpine",
        "command": ["/bin/bash", "/migrations/migrate.sh"],
        "env": [
            {"name": "DB_HOST", "value": "bleat-db"},
            {"name": "DB_NAME", "value": "bleat"},
            {"name": "DB_USER", "valueFrom": {"secretKeyRef": {"name": "bleat-db-credentials", "key": "username"}}},
            {"name": "PGPASSWORD", "valueFrom": {"secretKeyRef": {"name": "bleat-db-credentials", "key": "password"}}},
        ],
        "volumeMounts": [{"name": "migrations", "mountPath": "/migrations", "readOnly": True}],
    }],
    "volumes": [{"name": "migrations", "configMap": {"name": "bleat-migrations", "defaultMode": 493}}],
}


def job(**spec):
    return {"metadata": {"name": "migrate"}, "spec": spec, "status": {}}


class JobSelection(unittest.TestCase):
    def test_runnable_only_when_unsuspended_unfrozen_unfinished(self):
        self.assertTrue(world.job_runnable(job(suspend=False)))
        self.assertFalse(world.job_runnable(job(suspend=True)))
        self.assertFalse(world.job_runnable(job(managedBy=world.FIXTURE_MANAGER)))
        done = job()
        done["status"]["conditions"] = [{"type": "Complete", "status": "True"}]
        self.assertFalse(world.job_runnable(done))
        failed = job()
        failed["status"]["conditions"] = [{"type": "FailureTarget", "status": "True"},
                                          {"type": "Failed", "status": "True"}]
        self.assertFalse(world.job_runnable(failed))
        suspended_before = job()
        suspended_before["status"]["conditions"] = [{"type": "Suspended", "status": "False"}]
        self.assertTrue(world.job_runnable(suspended_before))

    def test_owning_job_is_the_controller_reference(self):
        pod = {"metadata": {"ownerReferences": [{"kind": "Job", "name": "m", "controller": True}]}}
        self.assertEqual(world.owning_job(pod), "m")
        self.assertIsNone(world.owning_job({"metadata": {}}))


class Termination(unittest.TestCase):
    """R5: a deleted pod on our node is deleted for good, as its kubelet would."""

    @staticmethod
    def pod(node, **meta):
        return {"metadata": {"name": "p", **meta}, "spec": {"nodeName": node} if node else {}}

    def test_a_deleted_pod_on_our_node_awaits_its_final_delete(self):
        deleted = {"deletionTimestamp": "2026-12-01T05:00:00Z", "deletionGracePeriodSeconds": 30}
        self.assertTrue(world.awaits_final_delete(self.pod(world.NODE, **deleted)))

    def test_not_when_alive_elsewhere_or_already_final(self):
        self.assertFalse(world.awaits_final_delete(self.pod(world.NODE)))
        deleted = {"deletionTimestamp": "2026-12-01T05:00:00Z", "deletionGracePeriodSeconds": 30}
        self.assertFalse(world.awaits_final_delete(self.pod("another-node", **deleted)))
        self.assertFalse(world.awaits_final_delete(self.pod(None, **deleted)))
        # grace 0 given: only finalizers can hold it now, not a kubelet
        final = {"deletionTimestamp": "2026-12-01T05:00:00Z", "deletionGracePeriodSeconds": 0}
        self.assertFalse(world.awaits_final_delete(self.pod(world.NODE, **final)))

    def test_a_job_being_deleted_is_not_run_but_is_watched(self):
        deleting = job()
        deleting["metadata"]["deletionTimestamp"] = "2026-12-01T05:00:00Z"
        self.assertTrue(world.job_deleting(deleting))
        self.assertFalse(world.job_runnable(deleting))
        self.assertFalse(world.job_deleting(job()))


class ScriptDetection(unittest.TestCase):
    def test_finds_the_script_under_a_configmap_mount(self):
        container, cm, mount, words = world.migration_script(POD_SPEC)
        self.assertEqual((container["name"], cm, mount), ("migrate", "bleat-migrations", "/migrations"))
        self.assertEqual(words, ["/bin/bash", "/migrations/migrate.sh"])

    def test_ignores_containers_without_a_mounted_script(self):
        spec = {"containers": [{"name": "c", "command": ["sh", "-c", "psql -c 'SELECT 1'"]}]}
        self.assertIsNone(world.migration_script(spec))
        other = dict(POD_SPEC, volumes=[{"name": "migrations", "emptyDir": {}}])
        self.assertIsNone(world.migration_script(other))

    def test_argv_rewrites_the_mount_and_keeps_shells(self):
        self.assertEqual(world.script_argv(["/bin/bash", "/migrations/migrate.sh"], "/migrations", "/tmp/x"),
                         ["bash", "/tmp/x/migrate.sh"])
        self.assertEqual(world.script_argv(["/migrations/migrate.sh"], "/migrations", "/tmp/x"),
                         ["bash", "/tmp/x/migrate.sh"])
        self.assertEqual(world.script_argv(["sh", "-c", "bash /migrations/m.sh"], "/migrations/", "/tmp/x"),
                         ["bash", "-c", "bash /tmp/x/m.sh"])
        self.assertEqual(world.rewrite("psql -f /migrations/v3.sql", "/migrations", "/tmp/x"),
                         "psql -f /tmp/x/v3.sql")


class Environment(unittest.TestCase):
    def test_literal_env_then_overrides_under_every_name(self):
        env = world.script_env(POD_SPEC["containers"][0],
                               {"host": "127.0.0.1", "port": 25432, "user": "bleat", "password": "pw", "name": None},
                               base={})
        self.assertEqual(env["DB_HOST"], "127.0.0.1")
        self.assertEqual(env["PGHOST"], "127.0.0.1")
        self.assertEqual(env["PGPORT"], "25432")
        self.assertEqual(env["DB_USER"], "bleat")
        self.assertEqual(env["PGPASSWORD"], "pw")
        self.assertEqual(env["DB_NAME"], "bleat")  # literal value kept: no override given
        self.assertNotIn("PGDATABASE", env)

    def test_secret_env_is_not_resolved(self):
        env = world.script_env(POD_SPEC["containers"][0], {}, base={})
        self.assertEqual(env, {"DB_HOST": "bleat-db", "DB_NAME": "bleat"})


class Outcome(unittest.TestCase):
    def test_message_is_the_last_lines_within_the_kubelet_limit(self):
        output = "".join(f"line {i}\n" for i in range(100))
        message = world.termination_message(output)
        self.assertEqual(message.splitlines()[0], "line 80")
        self.assertEqual(message.splitlines()[-1], "line 99")
        self.assertLessEqual(len(world.termination_message("x" * 10000).encode()), world.MESSAGE_BYTES)

    def test_status_patch_carries_exit_code_and_phase(self):
        container = POD_SPEC["containers"][0]
        ok = world.terminated_status(container, 0, "migration complete", "t0", "t1")["status"]
        self.assertEqual(ok["phase"], "Succeeded")
        self.assertEqual(ok["containerStatuses"][0]["state"]["terminated"]["reason"], "Completed")
        bad = world.terminated_status(container, 3, "ERROR: boom", "t0", "t1")["status"]
        self.assertEqual(bad["phase"], "Failed")
        terminated = bad["containerStatuses"][0]["state"]["terminated"]
        self.assertEqual((terminated["exitCode"], terminated["message"]), (3, "ERROR: boom"))


class RunScript(unittest.TestCase):
    def test_runs_the_mounted_script_with_rewritten_paths_and_env(self):
        data = {"migrate.sh": "echo \"to $DB_HOST\"\ncat /migrations/v1.sql\nls /migrations/v1.sql\nexit 3\n",
                "v1.sql": "SELECT 1;\n"}
        code, output = world.run_script(data, "/migrations", ["/bin/bash", "/migrations/migrate.sh"],
                                        {"PATH": "/usr/bin:/bin", "DB_HOST": "127.0.0.1"})
        self.assertEqual(code, 3)
        self.assertEqual(output, "to 127.0.0.1\nSELECT 1;\n/migrations/v1.sql\n")

    def test_a_hanging_script_is_killed(self):
        code, output = world.run_script({"m.sh": "sleep 5\n"}, "/m", ["bash", "/m/m.sh"],
                                        {"PATH": "/usr/bin:/bin"}, timeout=0.5)
        self.assertEqual(code, 124)
        self.assertIn("killed after", output)


if __name__ == "__main__":
    unittest.main()
