#!/usr/bin/python3
"""The Google double against the Cloud SQL Admin API's published model (ctest
gcp_double_faithfulness): the routes it serves exist in the API, the instances, operations and
users it answers with have only the API's fields with the API's types, request bodies the model
does not allow are refused as Google refuses them, and the model check itself catches an answer
that strays (so the double cannot drift from Google's API unnoticed). One end-to-end test makes
a real PostgreSQL 17 instance next to a seeded 15 one, on the same port, and uses it.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import gcp_double  # noqa: E402
import sqladmin_model  # noqa: E402

MODEL = os.path.join(REPO, ".cache", "sqladmin", "v1.ts")
PSQL = "/usr/lib/postgresql/15/bin/psql"


class ModelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.isfile(MODEL):
            raise RuntimeError(f"{MODEL} missing: run scripts/install-deps.sh")
        cls.model = sqladmin_model.Model(MODEL)
        seed = {"sqladmin_model": MODEL,
                "instances": [{"project": "p", "name": "i", "database_version": "POSTGRES_15",
                               "flags": {"cloudsql.logical_decoding": "on"}}],
                "operations": [{"project": "p", "name": "o", "operation_type": "CREATE",
                                "target_id": "i", "error": {"code": "X", "message": "m"}}]}
        cls.double = gcp_double.Double(seed, os.devnull)
        cls.double.endpoint = "http://127.0.0.1:1"
        cls.auth = {"Authorization": "Bearer " + cls.double.token()[1]["access_token"]}

    def call(self, verb, path, body=None):
        return self.double.sqladmin(verb, path, self.auth,
                                    json.dumps(body).encode() if body is not None else b"")

    def test_served_routes_are_the_apis(self):
        for (verb, template) in gcp_double.Double.ROUTES:
            path = template.replace("{project}", "p").replace("{instance}", "i").replace(
                "{operation}", "o")
            self.assertEqual(self.model.route(verb, path), template, f"{verb} {path}")
        self.assertIsNone(self.model.route("GET", "/v1/projects/p/instance/i"))
        self.assertIsNone(self.model.route("PUT", "/v1/projects/p/operations/o"))

    def test_answers_fit_the_model(self):
        instance = self.double.instance_resource(self.double.seed["instances"][0])
        self.assertEqual(self.model.problems(instance, "DatabaseInstance"), [])
        operation = self.double.operation_resource(self.double.seed["operations"][0])
        self.assertEqual(operation["status"], "DONE")
        self.assertEqual(self.model.problems(operation, "Operation"), [])

    def test_created_instances_and_users_fit_the_model(self):
        settings = {"tier": "db-custom-2-7680", "dataDiskSizeGb": "20",
                    "databaseFlags": [{"name": "cloudsql.logical_decoding", "value": "on"}],
                    "availabilityType": "REGIONAL", "userLabels": {"team": "shop"},
                    "ipConfiguration": {"ipv4Enabled": False, "privateNetwork": "n"},
                    "backupConfiguration": {"enabled": True, "startTime": "03:00"},
                    "maintenanceWindow": {"day": 7, "hour": 3},
                    "locationPreference": {"zone": "europe-west1-c"}}
        pending = {"project": "p", "name": "n", "region": "europe-west1",
                   "database_version": "POSTGRES_17", "state": "PENDING_CREATE", "host": None,
                   "settings": settings}
        instance = self.double.instance_resource(pending)
        self.assertEqual(self.model.problems(instance, "DatabaseInstance"), [])
        self.assertNotIn("ipAddresses", instance)  # no IP before it is made
        self.assertEqual(instance["gceZone"], "europe-west1-c")
        self.assertEqual(instance["settings"]["availabilityType"], "REGIONAL")
        self.assertEqual(instance["settings"]["kind"], "sql#settings")
        served = self.double.instance_resource(dict(pending, state="RUNNABLE", host="127.9.8.7"))
        self.assertEqual(served["ipAddresses"], [{"type": "PRIMARY", "ipAddress": "127.9.8.7"}])
        users = self.double.users_list_resource("p", "n", ["postgres", "relocator"])
        self.assertEqual(self.model.problems(users, "UsersListResponse"), [])
        generated = {"project": "p", "name": "u", "operation_type": "CREATE_USER",
                     "target_id": "n", "status": "DONE", "insert_time": gcp_double.rfc3339(),
                     "start_time": gcp_double.rfc3339(), "end_time": gcp_double.rfc3339(),
                     "error": {"code": "ERROR_RDBMS", "message": 'role "x" already exists'}}
        self.assertEqual(self.model.problems(self.double.operation_resource(generated),
                                             "Operation"), [])

    def test_a_body_off_the_model_is_refused_as_google_does(self):
        body = {"name": "n", "databaseVersion": "POSTGRES_17", "foo": 1,
                "settings": {"tier": "db-f1-micro", "dataDiskSizeGb": 10, "bar": True}}
        status, answer = self.call("POST", "/v1/projects/p/instances", body)
        self.assertEqual(status, 400)
        self.assertEqual(answer["error"]["status"], "INVALID_ARGUMENT")
        self.assertEqual(answer["error"]["message"].split("\n"), [
            "Invalid JSON payload received. Unknown name \"foo\" at 'body': Cannot find field.",
            "Invalid value at 'body.settings.data_disk_size_gb' (TYPE_STRING), 10",
            "Invalid JSON payload received. Unknown name \"bar\" at 'body.settings': Cannot find "
            "field."])
        self.assertEqual([v["field"] for v in answer["error"]["details"][0]["fieldViolations"]],
                         ["body", "body.settings.data_disk_size_gb", "body.settings"])
        status, answer = self.call("POST", "/v1/projects/p/instances/i/users",
                                   {"name": "u", "pasword": "x"})
        self.assertEqual((status, answer["error"]["message"]), (400, "Invalid JSON payload "
                         "received. Unknown name \"pasword\" at 'body': Cannot find field."))
        status, answer = self.double.sqladmin("POST", "/v1/projects/p/instances", self.auth,
                                              b"{not json")
        self.assertEqual(status, 400)

    def test_inserts_google_refuses(self):
        ok = {"name": "n", "databaseVersion": "POSTGRES_17", "settings": {"tier": "db-f1-micro"}}
        cases = [
            (dict(ok, databaseVersion="MYSQL_8_0"), 400,
             "Invalid request: Invalid database version."),
            (ok, 400, "Invalid request: Invalid database version."),  # no bin_dirs for 17
            (dict(ok, settings={}), 400, "Invalid request: Tier ()."),
            (dict(ok, name=""), 400, "Invalid request: Invalid full instance name: p:."),
        ]
        for body, code, message in cases:
            status, answer = self.call("POST", "/v1/projects/p/instances", body)
            self.assertEqual((status, answer["error"]["message"]), (code, message), body)
        with tempfile.TemporaryDirectory() as bin_dir:  # a major the double has a server of
            with open(os.path.join(bin_dir, "postgres"), "w") as f:
                os.fchmod(f.fileno(), 0o755)
            self.double.bin_dirs[15] = bin_dir
            try:
                status, answer = self.call("POST", "/v1/projects/p/instances",
                                           dict(ok, name="i", databaseVersion="POSTGRES_15"))
            finally:
                del self.double.bin_dirs[15]
        self.assertEqual((status, answer["error"]["status"], answer["error"]["errors"][0]
                          ["reason"]), (409, "ALREADY_EXISTS", "instanceAlreadyExists"))
        self.assertTrue(answer["error"]["message"].startswith(
            "The Cloud SQL instance already exists."))
        status, answer = self.call("DELETE", "/v1/projects/p/instances/none")
        self.assertEqual((status, answer["error"]["errors"][0]["reason"]),
                         (404, "instanceDoesNotExist"))

    def test_the_check_catches_what_strays(self):
        instance = self.double.instance_resource(self.double.seed["instances"][0])
        instance["settings"]["dataDiskSizeGb"] = 10            # int64: a string in JSON
        instance["settings"]["databaseFlags"][0]["val"] = "on"  # no such field
        instance["ipAddresses"] = {"type": "PRIMARY"}           # a list in the API
        self.assertEqual(sorted(self.model.problems(instance, "DatabaseInstance")), [
            "$.ipAddresses: must be a list (Schema$IpMapping[])",
            "$.settings.dataDiskSizeGb: must be a string (int64 values are strings in this API)",
            "$.settings.databaseFlags[0].val: not a field of DatabaseFlags"])


def pg_bin(major):
    out = subprocess.run([f"{REPO}/scripts/pg-bin.sh", str(major)], capture_output=True,
                         text=True)
    return out.stdout.strip() if out.returncode == 0 else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(host, port, user, password, sql):
    """(exit code, output) of one statement over TCP, as a client of the instance."""
    proc = subprocess.run([PSQL, "-X", "-w", "-At", "-h", host, "-p", str(port), "-U", user,
                           "-d", "postgres", "-c", sql], capture_output=True, text=True,
                          env=dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="5"),
                          timeout=30)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


class RealInstanceTest(unittest.TestCase):
    """The double as a process (its own exit handling included), a seeded PostgreSQL 15 source
    on 127.0.0.1:P and a POSTGRES_17 instance it creates on 127.X.Y.Z:P."""
    ROOT_PASSWORD = "root-pw-'quoted'"

    @classmethod
    def setUpClass(cls):
        cls.bin17, bin15 = pg_bin(17), pg_bin(15)
        if not cls.bin17 or not bin15:
            raise unittest.SkipTest("no PostgreSQL 17 or 15 binaries (scripts/install-deps.sh)")
        cls.tmp = tempfile.mkdtemp(prefix="gcp-double-test-")
        os.chmod(cls.tmp, 0o755)
        cls.port = free_port()
        cls.source = os.path.join(cls.tmp, "src")
        subprocess.run([f"{REPO}/scripts/pg-cluster.sh", "start", "15", cls.source,
                        str(cls.port)], check=True, capture_output=True)
        seed = {"sqladmin_model": MODEL, "service_port": cls.port, "bin_dirs": {"17": cls.bin17},
                "authorized_users": [{"client_id": "c", "client_secret": "s",
                                      "refresh_token": "r"}],
                "instances": [{"project": "shop", "name": "orders-pg15",
                               "database_version": "POSTGRES_15", "host": "127.0.0.1",
                               "flags": {"cloudsql.logical_decoding": "on"}}]}
        seed_path, ready = os.path.join(cls.tmp, "seed.json"), os.path.join(cls.tmp, "ready")
        with open(seed_path, "w") as f:
            json.dump(seed, f)
        cls.workdir = os.path.join(cls.tmp, "double")
        cls.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "gcp_double.py"),
                                     "--seed", seed_path, "--workdir", cls.workdir,
                                     "--ready-file", ready])
        deadline = time.time() + 30
        while not os.path.exists(ready):
            if time.time() > deadline or cls.proc.poll() is not None:
                raise RuntimeError("the double did not start")
            time.sleep(0.05)
        with open(ready) as f:
            cls.endpoint = json.load(f)["endpoint"]
        form = b"grant_type=refresh_token&client_id=c&client_secret=s&refresh_token=r"
        request = urllib.request.Request(cls.endpoint + "/token", data=form, headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(request) as r:
            cls.token = json.load(r)["access_token"]

    @classmethod
    def tearDownClass(cls):
        cls.proc.send_signal(signal.SIGTERM)
        cls.proc.wait(timeout=60)
        leftovers = subprocess.run(["pgrep", "-f", cls.workdir], capture_output=True, text=True)
        subprocess.run([f"{REPO}/scripts/pg-cluster.sh", "stop", "15", cls.source],
                       capture_output=True)
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert leftovers.stdout.strip() == "", f"postgres of the double left: {leftovers.stdout}"

    def call(self, verb, path, body=None):
        request = urllib.request.Request(
            self.endpoint + path, method=verb,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": "Bearer " + self.token,
                     "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    def wait(self, operation, timeout=60):
        deadline = time.time() + timeout
        while True:
            status, op = self.call("GET", f"/v1/projects/shop/operations/{operation['name']}")
            self.assertEqual(status, 200, op)
            if op["status"] == "DONE" or time.time() > deadline:
                return op
            time.sleep(0.1)

    def test_an_instance_is_made_used_and_deleted(self):
        base = "/v1/projects/shop/instances"
        status, op = self.call("POST", base, {
            "name": "orders-pg17", "databaseVersion": "POSTGRES_17", "region": "europe-west1",
            "rootPassword": self.ROOT_PASSWORD,
            "settings": {"tier": "db-custom-2-7680", "dataDiskSizeGb": "20",
                         "userLabels": {"team": "shop"},
                         "databaseFlags": [{"name": "cloudsql.logical_decoding", "value": "on"},
                                           {"name": "max_replication_slots", "value": "12"}]}})
        self.assertEqual((status, op["operationType"], op["status"], op["targetId"]),
                         (200, "CREATE", "PENDING", "orders-pg17"), op)
        status, instance = self.call("GET", f"{base}/orders-pg17")
        self.assertEqual((status, instance["state"]), (200, "PENDING_CREATE"))
        self.assertNotIn("ipAddresses", instance)
        self.assertEqual(self.call("DELETE", f"{base}/orders-pg17")[1]["error"]["errors"][0]
                         ["reason"], "operationInProgress")
        done = self.wait(op)
        self.assertNotIn("error", done)
        self.assertIn("endTime", done)
        status, instance = self.call("GET", f"{base}/orders-pg17")
        self.assertEqual((instance["state"], instance["region"], instance["databaseVersion"]),
                         ("RUNNABLE", "europe-west1", "POSTGRES_17"))
        self.assertEqual((instance["settings"]["dataDiskSizeGb"],
                          instance["settings"]["userLabels"]), ("20", {"team": "shop"}))
        ip = instance["ipAddresses"][0]["ipAddress"]
        self.assertTrue(ip.startswith("127.") and ip != "127.0.0.1", ip)

        # The seeded source answers on 127.0.0.1 and the new instance on its own IP, same port.
        self.assertEqual(psql("127.0.0.1", self.port, "ops", "secret", "SHOW server_version_num")
                         [1][:2], "15")
        root = ("postgres", self.ROOT_PASSWORD)
        self.assertEqual(psql(ip, self.port, *root, "SHOW server_version_num")[1][:2], "17")
        self.assertEqual(psql(ip, self.port, *root, "SHOW wal_level"), (0, "logical"))
        self.assertEqual(psql(ip, self.port, *root, "SHOW max_replication_slots"), (0, "12"))
        self.assertEqual(psql(ip, self.port, *root, "SELECT rolsuper, pg_has_role("
                              "'cloudsqlsuperuser', 'MEMBER') FROM pg_roles WHERE rolname = "
                              "current_user"), (0, "f|t"))
        self.assertNotEqual(psql(ip, self.port, "postgres", "wrong", "SELECT 1")[0], 0)

        users = f"{base}/orders-pg17/users"
        status, op = self.call("POST", users, {"name": "relocator", "password": "pw1"})
        self.assertEqual((status, op["operationType"]), (200, "CREATE_USER"))
        self.assertNotIn("error", self.wait(op))
        self.assertEqual(psql(ip, self.port, "relocator", "pw1", "SELECT rolsuper, pg_has_role("
                              "'cloudsqlsuperuser', 'MEMBER') FROM pg_roles WHERE rolname = "
                              "current_user"), (0, "f|t"))
        again = self.wait(self.call("POST", users, {"name": "relocator", "password": "x"})[1])
        self.assertEqual(again["error"]["errors"][0]["code"], "ERROR_RDBMS")
        self.assertIn("already exists", again["error"]["errors"][0]["message"])
        status, op = self.call("PUT", users + "?name=relocator", {"password": "pw2"})
        self.assertEqual((status, op["operationType"]), (200, "UPDATE_USER"))
        self.assertNotIn("error", self.wait(op))
        self.assertEqual(psql(ip, self.port, "relocator", "pw2", "SELECT 1"), (0, "1"))
        status, listed = self.call("GET", users)
        self.assertEqual((status, [u["name"] for u in listed["items"]]),
                         (200, ["postgres", "relocator"]))

        status, op = self.call("DELETE", f"{base}/orders-pg17")
        self.assertEqual((status, op["operationType"]), (200, "DELETE"))
        self.assertNotIn("error", self.wait(op))
        self.assertEqual(self.call("GET", f"{base}/orders-pg17")[0], 404)
        self.assertNotEqual(psql(ip, self.port, *root, "SELECT 1")[0], 0)
        status, refused = self.call("POST", base, {"name": "orders-pg17",
                                                   "databaseVersion": "POSTGRES_17",
                                                   "settings": {"tier": "db-f1-micro"}})
        self.assertEqual((status, refused["error"]["errors"][0]["reason"]),
                         (409, "instanceAlreadyExists"))
        with open(os.path.join(self.workdir, "double.log")) as f:
            log = f.read()
        for secret in (self.ROOT_PASSWORD, "pw1", "pw2"):
            self.assertNotIn(secret, log)

    def test_a_failed_creation_and_an_instance_left_to_the_exit(self):
        """A server that cannot start fails the operation and the instance; one made without a
        rootPassword has a postgres user no password opens; the double's exit (tearDownClass)
        stops the one left running."""
        base = "/v1/projects/shop/instances"
        _, bad = self.call("POST", base, {
            "name": "bad-pg17", "databaseVersion": "POSTGRES_17",
            "settings": {"tier": "db-f1-micro",
                         "databaseFlags": [{"name": "max_connections", "value": "lots"}]}})
        _, kept = self.call("POST", base, {"name": "kept-pg17", "databaseVersion": "POSTGRES_17",
                                           "settings": {"tier": "db-f1-micro"}})
        error = self.wait(bad)["error"]["errors"][0]
        self.assertEqual(error["code"], "INTERNAL_ERROR")
        self.assertIn('invalid value for parameter "max_connections"', error["message"])
        status, instance = self.call("GET", f"{base}/bad-pg17")
        self.assertEqual((instance["state"], "ipAddresses" in instance), ("FAILED", False))
        self.assertNotIn("error", self.wait(kept))
        ip = self.call("GET", f"{base}/kept-pg17")[1]["ipAddresses"][0]["ipAddress"]
        self.assertEqual(psql(ip, self.port, "postgres", "", "SHOW wal_level")[0], 2)
        self.assertIn("password authentication failed",
                      psql(ip, self.port, "postgres", "any", "SELECT 1")[1])

    def test_seeded_instances_are_only_forgotten(self):
        base = "/v1/projects/shop/instances/orders-pg15"
        status, instance = self.call("GET", base)
        self.assertEqual((status, instance["ipAddresses"][0]["ipAddress"]), (200, "127.0.0.1"))
        self.assertEqual(self.call("GET", base + "/users")[0], 501)
        status, op = self.call("DELETE", base)
        self.assertEqual((status, op["operationType"]), (200, "DELETE"))
        self.assertNotIn("error", self.wait(op))
        self.assertEqual(self.call("GET", base)[0], 404)
        self.assertEqual(psql("127.0.0.1", self.port, "ops", "secret", "SELECT 1"), (0, "1"))


if __name__ == "__main__":
    unittest.main()
