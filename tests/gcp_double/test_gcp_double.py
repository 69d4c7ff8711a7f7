#!/usr/bin/python3
"""The Google double against the published models of the Cloud SQL Admin API and of Cloud
Logging (ctest gcp_double_faithfulness): the routes it serves exist in the APIs, the instances,
operations, users and log entries it answers with have only the APIs' fields with the APIs'
types, request bodies the models do not allow and filters the double cannot read are refused as
Google refuses them, and the model check itself catches an answer that strays (so the double
cannot drift from Google's APIs unnoticed). End to end: a real PostgreSQL 17 instance made next
to a seeded 15 one, on the same port, and used; a seeded 13 source restarted for a flag, cloned
while it runs (its rows, slot and crash recovery log in the clone), the clone upgraded to 15.
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
import cloud_logging  # noqa: E402
import gcp_double  # noqa: E402
import googleapis_model  # noqa: E402

MODEL = os.path.join(REPO, ".cache", "sqladmin", "v1.ts")
LOGGING_MODEL = os.path.join(REPO, ".cache", "logging", "v2.ts")
LOG_NAME = "projects/shop/logs/cloudsql.googleapis.com%2Fpostgres.log"
PSQL = "/usr/lib/postgresql/15/bin/psql"


class ModelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for path in (MODEL, LOGGING_MODEL):
            if not os.path.isfile(path):
                raise RuntimeError(f"{path} missing: run scripts/install-deps.sh")
        cls.model = googleapis_model.Model(MODEL, "DatabaseInstance")
        cls.logging_model = googleapis_model.Model(LOGGING_MODEL, "LogEntry")
        seed = {"sqladmin_model": MODEL, "logging_model": LOGGING_MODEL,
                "instances": [{"project": "p", "name": "i", "database_version": "POSTGRES_15",
                               "flags": {"cloudsql.logical_decoding": "on"}}],
                "operations": [{"project": "p", "name": "o", "operation_type": "CREATE",
                                "target_id": "i", "error": {"code": "X", "message": "m"}}]}
        cls.double = gcp_double.Double(seed, os.devnull)
        cls.double.endpoint = "http://127.0.0.1:1"
        cls.auth = {"Authorization": "Bearer " + cls.double.token()[1]["access_token"]}

    def call(self, verb, path, body=None):
        return self.double.google_api(verb, path, self.auth,
                                    json.dumps(body).encode() if body is not None else b"")

    def test_served_routes_are_the_apis(self):
        for (verb, template) in gcp_double.Double.ROUTES:
            path = template.replace("{project}", "p").replace("{instance}", "i").replace(
                "{operation}", "o")
            model = self.model if template.startswith("/v1/") else self.logging_model
            self.assertEqual(model.route(verb, path), template, f"{verb} {path}")
        self.assertIsNone(self.model.route("GET", "/v1/projects/p/instance/i"))
        self.assertIsNone(self.model.route("PUT", "/v1/projects/p/operations/o"))
        self.assertIsNone(self.logging_model.route("GET", "/v2/entries:list"))

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
        status, answer = self.double.google_api("POST", "/v1/projects/p/instances", self.auth,
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

    def fake_server(self, major):
        """A bin_dirs entry for `major` holding a `postgres` (never run), removed at the end."""
        bin_dir = tempfile.mkdtemp()
        with open(os.path.join(bin_dir, "postgres"), "w") as f:
            os.fchmod(f.fileno(), 0o755)
        self.double.bin_dirs[major] = bin_dir
        self.addCleanup(self.double.bin_dirs.pop, major)
        self.addCleanup(shutil.rmtree, bin_dir)

    def test_clones_and_patches_google_refuses(self):
        base = "/v1/projects/p/instances"
        cases = [
            ("POST", f"{base}/i/clone", {"cloneContext": {}}, 400,
             "Invalid request: Destination instance name is required."),
            ("POST", f"{base}/none/clone", {"cloneContext": {"destinationInstanceName": "c"}},
             404, "The Cloud SQL instance does not exist."),
            ("POST", f"{base}/i/clone", {"cloneContext": {"destinationInstanceName": "c",
                                                          "destinatonProject": "q"}}, 400,
             "Invalid JSON payload received. Unknown name \"destinatonProject\" at "
             "'body.clone_context': Cannot find field."),
            ("PATCH", f"{base}/i", {"databaseVersion": "POSTGRES_18"}, 400,
             "Invalid request: Invalid database version."),
            ("PATCH", f"{base}/i", {"databaseVersion": "POSTGRES_13"}, 400,
             "Invalid request: Cannot upgrade POSTGRES_15 to POSTGRES_13: an in-place upgrade "
             "goes to a higher major version."),
            ("PATCH", f"{base}/none", {"settings": {"tier": "db-f1-micro"}}, 404,
             "The Cloud SQL instance does not exist."),
        ]
        self.fake_server(13)
        for verb, path, body, code, message in cases:
            status, answer = self.call(verb, path, body)
            self.assertEqual((status, answer["error"]["message"]), (code, message), body)
        # What the double cannot do with a seeded instance it knows no cluster of.
        self.fake_server(17)
        for verb, path, body in [
                ("POST", f"{base}/i/clone", {"cloneContext": {"destinationInstanceName": "c"}}),
                ("PATCH", f"{base}/i", {"databaseVersion": "POSTGRES_17"})]:
            status, answer = self.call(verb, path, body)
            self.assertEqual((status, answer["error"]["status"]), (501, "UNIMPLEMENTED"), body)
        clone = {"project": "p", "name": "o2", "operation_type": "CLONE", "target_id": "c",
                 "status": "RUNNING", "insert_time": gcp_double.rfc3339(),
                 "start_time": gcp_double.rfc3339()}
        self.assertEqual(self.model.problems(self.double.operation_resource(clone),
                                             "Operation"), [])

    def test_a_settings_patch_of_a_described_instance(self):
        """A seeded instance without its cluster's facts: the patch is only recorded."""
        flags = [{"name": "cloudsql.logical_decoding", "value": "off"}]
        status, op = self.call("PATCH", "/v1/projects/p/instances/i",
                               {"settings": {"databaseFlags": flags, "tier": "db-f1-micro"}})
        self.assertEqual((status, op["operationType"], op["targetId"]), (200, "UPDATE", "i"))
        deadline = time.time() + 10
        while self.call("GET", f"/v1/projects/p/operations/{op['name']}")[1]["status"] != "DONE":
            self.assertLess(time.time(), deadline)
            time.sleep(0.05)
        status, instance = self.call("GET", "/v1/projects/p/instances/i")
        self.assertEqual((instance["state"], instance["settings"]["tier"],
                          instance["settings"]["databaseFlags"]), ("RUNNABLE", "db-f1-micro",
                                                                  flags))

    def test_log_entries_fit_the_model_and_read_as_cloud_sql_exports_them(self):
        recovery = ("2026-12-05 10:00:01.123 UTC [123]: [1-1] db=,user= LOG:  redo done at "
                    "0/3000028 system usage: CPU: user: 0.00 s, system: 0.00 s, elapsed: 0.00 s")
        error = ("2026-12-05 10:00:03.500 UTC [201]: [2-1] db=shop,user=ops ERROR:  relation "
                 "\"x\" does not exist at character 15")
        statement = "2026-12-05 10:00:03.500 UTC [201]: [3-1] db=shop,user=ops STATEMENT:  select *"
        text = "\n".join([
            recovery, "2026-12-05 10:00:02.000 UTC [200] LOG:  database system is ready to "
            "accept connections", error, statement, "\tfrom x", ""])
        logs = [("shop", "orders-pg13", "europe-west1", text), ("shop", "other", "us-east1", text),
                ("elsewhere", "orders-pg13", "us-central1", text)]
        request = {"resourceNames": ["projects/shop"], "orderBy": "timestamp asc", "pageSize": 3,
                   "filter": 'resource.type="cloudsql_database" AND '
                             'resource.labels.database_id="shop:orders-pg13" AND '
                             f'logName="{LOG_NAME}" AND timestamp>="2026-12-05T10:00:01Z" AND '
                             'timestamp<="2026-12-05T11:00:00Z"'}
        page = cloud_logging.list_entries(request, logs)
        self.assertEqual(self.logging_model.problems(page, "ListLogEntriesResponse"), [])
        self.assertEqual([(e["textPayload"], e["severity"]) for e in page["entries"]], [
            (recovery, "INFO"),
            ("2026-12-05 10:00:02.000 UTC [200]: [1-1] db=,user= LOG:  database system is "
             "ready to accept connections", "INFO"),
            (error, "ERROR")])
        first = page["entries"][0]
        self.assertEqual((first["timestamp"], first["logName"], first["resource"]), (
            "2026-12-05T10:00:01.123000Z", LOG_NAME,
            {"type": "cloudsql_database", "labels": {"database_id": "shop:orders-pg13",
                                                     "project_id": "shop",
                                                     "region": "europe-west1"}}))
        rest = cloud_logging.list_entries(dict(request, pageToken=page["nextPageToken"]), logs)
        self.assertEqual([e["textPayload"] for e in rest["entries"]], [statement + "\n\tfrom x"])
        self.assertNotIn("nextPageToken", rest)
        newest = cloud_logging.list_entries(dict(request, orderBy="timestamp desc",
                                                 pageSize=1), logs)["entries"]
        self.assertEqual(newest[0]["textPayload"], statement + "\n\tfrom x")

    def test_a_bad_filter_is_refused_as_google_does(self):
        def entries(body, auth=self.auth):
            return self.double.google_api("POST", "/v2/entries:list", auth,
                                          json.dumps(body).encode())
        status, answer = entries({"resourceNames": ["projects/p"],
                                  "filter": "timestamp>=2026-12-05T10:00:00Z"})
        self.assertEqual((status, answer["error"]["status"], answer["error"]["message"]), (
            400, "INVALID_ARGUMENT", "Unparseable filter: syntax error at line 1, column 25, "
            "token ':'"))
        status, answer = entries({"resourceNames": ["projects/p"],
                                  "filter": 'logName="a" OR logName="b"'})
        self.assertEqual(status, 400)
        self.assertTrue(answer["error"]["message"].startswith(
            "Unparseable filter: the Google double takes only comparisons"), answer)
        status, answer = entries({"resourceNames": ["projects/p"], "pageSize": "many",
                                  "filtre": ""})
        self.assertEqual((status, answer["error"]["message"].split("\n")), (400, [
            "Invalid value at 'body.page_size' (TYPE_INT32), \"many\"",
            "Invalid JSON payload received. Unknown name \"filtre\" at 'body': Cannot find "
            "field."]))
        self.assertEqual(entries({"resourceNames": ["projects/p"]}), (200, {"entries": []}))
        self.assertEqual(entries({"resourceNames": ["projects/p"]}, {})[0], 401)


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


class DoubleProcessTest(unittest.TestCase):
    """The double as a process (its own exit handling included) next to a seeded source, the
    test's own cluster of `SOURCE_MAJOR` on 127.0.0.1:P (scripts/pg-cluster.sh, user ops,
    with SOURCE_SETTINGS), skipped without the binaries of MAJORS (cls.bins)."""
    SOURCE_MAJOR = 15
    SOURCE_SETTINGS = ()
    MAJORS = (15,)

    @classmethod
    def seed(cls):
        """The seed's instances and bin_dirs."""
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        cls.bins = {major: pg_bin(major) for major in cls.MAJORS}
        if not all(cls.bins.values()):
            raise unittest.SkipTest(f"no PostgreSQL {' or '.join(map(str, cls.MAJORS))} "
                                    "binaries (scripts/install-deps.sh)")
        cls.tmp = tempfile.mkdtemp(prefix="gcp-double-test-")
        os.chmod(cls.tmp, 0o755)
        cls.port = free_port()
        cls.source = os.path.join(cls.tmp, "src")
        subprocess.run([f"{REPO}/scripts/pg-cluster.sh", "start", str(cls.SOURCE_MAJOR),
                        cls.source, str(cls.port), *cls.SOURCE_SETTINGS], check=True,
                       capture_output=True)
        seed = dict(cls.seed(), sqladmin_model=MODEL, service_port=cls.port,
                    authorized_users=[{"client_id": "c", "client_secret": "s",
                                       "refresh_token": "r"}])
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
        subprocess.run([f"{REPO}/scripts/pg-cluster.sh", "stop", str(cls.SOURCE_MAJOR),
                        cls.source], capture_output=True)
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


class RealInstanceTest(DoubleProcessTest):
    """A seeded PostgreSQL 15 source on 127.0.0.1:P and a POSTGRES_17 instance the double
    creates on 127.X.Y.Z:P."""
    ROOT_PASSWORD = "root-pw-'quoted'"

    MAJORS = (15, 17)

    @classmethod
    def seed(cls):
        return {"bin_dirs": {"17": cls.bins[17]},
                "instances": [{"project": "shop", "name": "orders-pg15",
                               "database_version": "POSTGRES_15", "host": "127.0.0.1",
                               "flags": {"cloudsql.logical_decoding": "on"}}]}

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


class CloneUpgradeTest(DoubleProcessTest):
    """What provider cloudsql's method clone with upgrade.allow_source_restart does, against a
    seeded PostgreSQL 13 source (the test's cluster, started with wal_level=replica) whose
    facts the double knows: its flags patched (a restart by pg_ctl), cloned while it runs (a
    crash-consistent copy), the clone's log read through Cloud Logging, and the clone upgraded
    to 15 in place (refused while it holds the copied logical slot)."""
    SOURCE_MAJOR = 13
    SOURCE_SETTINGS = ("wal_level=replica",)
    MAJORS = (13, 15)
    BASE = "/v1/projects/shop/instances"

    @classmethod
    def seed(cls):
        return {"bin_dirs": {"13": cls.bins[13], "15": cls.bins[15]},
                "instances": [{
                    "project": "shop", "name": "orders-pg13", "region": "europe-west1",
                    "database_version": "POSTGRES_13", "host": "127.0.0.1", "flags": {},
                    "port": cls.port, "data_dir": cls.source, "bin_dir": cls.bins[13],
                    "major": 13, "log_file": os.path.join(cls.source, "log", "postgresql.log"),
                    "admin_user": "ops", "admin_password": "secret"}]}

    def sql(self, host, statement):
        code, out = psql(host, self.port, "ops", "secret", statement)
        self.assertEqual(code, 0, out)
        return out

    def done(self, status, op, operation_type, target):
        """The operation, once DONE, after checking the answer that started it."""
        self.assertEqual((status, op["operationType"], op["targetId"]),
                         (200, operation_type, target), op)
        return self.wait(op)

    def log_entries(self, instance, since):
        status, answer = self.call("POST", "/v2/entries:list", {
            "resourceNames": ["projects/shop"], "orderBy": "timestamp asc", "pageSize": 1000,
            "filter": f'resource.type="cloudsql_database" AND resource.labels.database_id='
                      f'"shop:{instance}" AND logName="{LOG_NAME}" AND timestamp>="{since}"'})
        self.assertEqual(status, 200, answer)
        return [e["textPayload"] for e in answer.get("entries", [])]

    def test_source_restart_clone_and_upgrade(self):
        since = gcp_double.rfc3339(time.time() - 60)
        source = f"{self.BASE}/orders-pg13"
        self.assertEqual(self.sql("127.0.0.1", "SHOW wal_level"), "replica")
        with open(os.path.join(self.source, "postmaster.pid")) as f:
            postmaster = f.readline()
        flags = [{"name": "cloudsql.logical_decoding", "value": "on"}]
        op = self.done(*self.call("PATCH", source, {"settings": {"databaseFlags": flags}}),
                       "UPDATE", "orders-pg13")
        self.assertNotIn("error", op)
        self.assertEqual(self.sql("127.0.0.1", "SHOW wal_level"), "logical")
        with open(os.path.join(self.source, "postmaster.pid")) as f:
            self.assertNotEqual(f.readline(), postmaster)  # restarted by the double
        self.assertEqual(self.call("GET", source)[1]["settings"]["databaseFlags"], flags)

        self.sql("127.0.0.1", "CREATE TABLE orders (id int PRIMARY KEY); "
                              "CREATE PUBLICATION relocate FOR TABLE orders")
        self.sql("127.0.0.1", "SELECT pg_create_logical_replication_slot('relocate', 'pgoutput')")
        self.sql("127.0.0.1", "INSERT INTO orders SELECT generate_series(1, 500)")
        status, op = self.call("POST", f"{source}/clone",
                               {"cloneContext": {"destinationInstanceName": "orders-clone"}})
        self.assertEqual(self.call("GET", f"{self.BASE}/orders-clone")[1]["state"],
                         "PENDING_CREATE")
        op = self.done(status, op, "CLONE", "orders-clone")
        self.assertNotIn("error", op)
        status, clone = self.call("GET", f"{self.BASE}/orders-clone")
        self.assertEqual((clone["state"], clone["databaseVersion"], clone["region"],
                          clone["settings"]["databaseFlags"]),
                         ("RUNNABLE", "POSTGRES_13", "europe-west1", flags))
        ip = clone["ipAddresses"][0]["ipAddress"]
        self.assertNotEqual(ip, "127.0.0.1")
        self.assertEqual(self.sql(ip, "SELECT count(*) FROM orders; SELECT string_agg(slot_name "
                                      "|| ':' || slot_type, ',') FROM pg_replication_slots; "
                                      "SELECT pubname FROM pg_publication; SHOW wal_level"),
                         "500\nrelocate:logical\nrelocate\nlogical")
        recovery = [line for line in self.log_entries("orders-clone", since)
                    if "redo done at" in line]
        self.assertEqual(len(recovery), 1, self.log_entries("orders-clone", since))
        self.assertRegex(recovery[0], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC \[\d+\]: "
                                      r"\[\d+-1\] db=,user= LOG:  redo done at [0-9A-F]+/[0-9A-F]+")
        self.assertTrue(any("database system is ready" in line
                            for line in self.log_entries("orders-pg13", since)))

        upgrade = {"databaseVersion": "POSTGRES_15"}
        status, op = self.call("PATCH", f"{self.BASE}/orders-clone", upgrade)
        self.assertEqual(self.call("GET", f"{self.BASE}/orders-clone")[1]["state"], "MAINTENANCE")
        error = self.done(status, op, "MAJOR_VERSION_UPGRADE", "orders-clone")["error"]
        self.assertEqual(error["errors"][0], {
            "kind": "sql#operationError", "code": "PRECHECK_FAILED",
            "message": gcp_double.SLOTS_REFUSAL.format("relocate")})
        status, clone = self.call("GET", f"{self.BASE}/orders-clone")
        self.assertEqual((clone["state"], clone["databaseVersion"]), ("RUNNABLE", "POSTGRES_13"))
        self.sql(ip, "SELECT pg_drop_replication_slot('relocate')")
        op = self.done(*self.call("PATCH", f"{self.BASE}/orders-clone", upgrade),
                       "MAJOR_VERSION_UPGRADE", "orders-clone")
        self.assertNotIn("error", op)
        status, clone = self.call("GET", f"{self.BASE}/orders-clone")
        self.assertEqual((clone["state"], clone["databaseVersion"],
                          clone["ipAddresses"][0]["ipAddress"]), ("RUNNABLE", "POSTGRES_15", ip))
        self.assertEqual(self.sql(ip, "SELECT current_setting('server_version_num')::int / 10000;"
                                      " SELECT count(*) FROM orders; SHOW wal_level; "
                                      "SELECT pubname FROM pg_publication"),
                         "15\n500\nlogical\nrelocate")
        status, refused = self.call("PATCH", f"{self.BASE}/orders-clone",
                                    {"databaseVersion": "POSTGRES_13"})
        self.assertEqual(status, 400, refused)
        self.assertEqual(self.sql("127.0.0.1", "SELECT count(*) FROM orders"), "500")

if __name__ == "__main__":
    unittest.main()
