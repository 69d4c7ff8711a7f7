#!/usr/bin/python3
"""A local Google endpoint for tests: the OAuth 2.0 token endpoint (service-account JWT bearer
grant, RFC 7523, and refresh-token grant, as https://oauth2.googleapis.com/token answers them),
the metadata server's token path, faithful to Google's public documentation ("Using OAuth 2.0
for Server to Server Applications", "Authenticate workloads using service accounts"), and the
Cloud SQL Admin API v1's instances.get/insert/delete, users.insert/update/list and
operations.get, whose every route, request body and answer is checked against the API's
published model (sqladmin_model.py). The instances it creates are real PostgreSQL clusters.

    /usr/bin/python3 tests/gcp_double/gcp_double.py --seed SEED.json --workdir DIR \
        [--port 0] --ready-file FILE

Writes {"endpoint": "http://127.0.0.1:PORT"} to FILE once listening. The token endpoint is
ENDPOINT/token: every assertion's RS256 signature is checked against the seeded public key of
its issuer, and its header and claims as Google checks them (alg, kid, aud = this endpoint,
iat/exp within an hour, the scopes asked). Requests are logged to DIR/double.log without any
assertion, secret, token or password.

SEED (JSON; every key optional):
{
  "service_accounts": [{"client_email": "sa@p.iam.gserviceaccount.com", "private_key_id": "k1",
                        "public_key_pem": "-----BEGIN PUBLIC KEY-----..."}],
  "authorized_users": [{"client_id": "c", "client_secret": "s", "refresh_token": "r"}],
  "metadata": true,                 # serve the metadata server's token path
  "required_scopes": ["https://www.googleapis.com/auth/sqlservice.admin"],
  "token_failures": 0,              # answer this many token requests 503 first
  "expires_in": 3599,
  "sqladmin_model": ".cache/sqladmin/v1.ts",   # required with instances, operations, bin_dirs
  "instances": [{"project": "shop", "name": "orders-pg13", "region": "europe-west1",
                 "database_version": "POSTGRES_13", "state": "RUNNABLE",
                 "tier": "db-custom-2-7680", "flags": {"cloudsql.logical_decoding": "on"},
                 "host": "127.0.0.1"}],   # the test's own clusters: never started or stopped
  "operations": [{"project": "shop", "name": "op-1", "operation_type": "CREATE",
                  "target_id": "orders-pg17", "running_polls": 2,     # RUNNING twice, then DONE
                  "error": {"code": "ERROR_RDBMS", "message": "..."}}], # optional
  "sqladmin_failures": 0,           # answer this many Admin API calls 503 first
  "sqladmin_failure_status": 503,   # ... or 429 (RESOURCE_EXHAUSTED, Google's quota answer)
  "service_port": 5433,             # the port of every created instance's PostgreSQL
  "bin_dirs": {"15": "/usr/lib/postgresql/15/bin", "17": ".cache/pg/17/bin"}
                                    # initdb, pg_ctl and postgres of each major: the
                                    # databaseVersions (POSTGRES_<major>) instances.insert takes
}

Admin API calls need a token this double issued ("Authorization: Bearer ..."), as Google's do.
A request body with a field or a type the model does not have is refused as Google's JSON
parser refuses it (400 INVALID_ARGUMENT "Invalid JSON payload received. Unknown name ...").

Created instances. instances.insert (name, databaseVersion and settings.tier required; a name
used before in the project, even by a deleted instance, is 409 instanceAlreadyExists, as Cloud
SQL keeps names for a week) answers a CREATE Operation and makes, in the background, a cluster
under DIR/pg: initdb (UTF8, C.UTF-8) with the superuser cloudsqladmin (Cloud SQL's own, with a
password only the double knows), pg_hba `local all all trust` and `host all|replication all
127.0.0.0/8 scram-sha-256`. Cloud SQL's instances each have an IP of their own where PostgreSQL
listens on 5432; here each listens on a loopback address 127.X.Y.Z of its own (not 127.0.0.1,
found free) at service_port, so that a client given the port of the seeded source (the test's
cluster on 127.0.0.1) reaches every instance by its PRIMARY IP. settings.databaseFlags:
cloudsql.logical_decoding=on is wal_level=logical (otherwise replica); a flag named like a
setting of that major's server is that setting; max_wal_senders and max_replication_slots are
20 unless flagged. Then the roles Cloud SQL makes (bootstrap_sql). While this runs the instance
is PENDING_CREATE without an IP and the operation RUNNING; then RUNNABLE with its PRIMARY IP
and the operation DONE, or FAILED and the operation DONE with an INTERNAL_ERROR. instances.get
echoes the insert body's settings over the defaults. instances.delete (DELETE) stops the
cluster (pg_ctl -m fast) and removes its files; a seeded instance is only forgotten. users.insert
(CREATE_USER) makes a LOGIN CREATEROLE CREATEDB member of cloudsqlsuperuser, users.update
(UPDATE_USER) sets its password, users.list lists the LOGIN roles but cloudsqladmin; an error
of the server (e.g. the user exists) ends the operation with ERROR_RDBMS and its message. A
second operation while one is under way on the instance is 409 operationInProgress, as Cloud
SQL answers it. Passwords reach the servers only as SCRAM verifiers. On SIGTERM, SIGINT or exit
every cluster the double started is stopped (fast, then immediate) and its files removed.
"""
import argparse
import atexit
import base64
import glob
import hashlib
import hmac
import json
import os
import random
import re
import secrets
import signal
import socket
import sys
import threading
import time
import unicodedata
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "aws_double"))
import clusters  # noqa: E402
import sqladmin_model  # noqa: E402

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
METADATA_TOKEN = "/computeMetadata/v1/instance/service-accounts/default/token"

T_INSTANCES = "/v1/projects/{project}/instances"
T_INSTANCE = T_INSTANCES + "/{instance}"
T_USERS = T_INSTANCE + "/users"
T_OPERATION = "/v1/projects/{project}/operations/{operation}"
ADMIN = "cloudsqladmin"
LOCALE = "C.UTF-8"  # Cloud SQL's default is en_US.UTF8; the test clusters' (any machine has it)
HBA = ["local all all trust", "host all all 127.0.0.0/8 scram-sha-256",
       "local replication all trust", "host replication all 127.0.0.0/8 scram-sha-256"]
DEFAULT_SETTINGS = {"max_wal_senders": "20", "max_replication_slots": "20"}


def b64url_decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def rfc3339(t=None):
    t = time.time() if t is None else t
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def ident(name):
    return '"' + name.replace('"', '""') + '"'


def literal(text):
    return "'" + text.replace("'", "''") + "'"


def scram_verifier(password, iterations=4096):
    """What PostgreSQL keeps of a password under password_encryption = scram-sha-256 (RFC 5802
    and RFC 7677, as PostgreSQL's scram_build_secret makes it), so that CREATE/ALTER ROLE ...
    PASSWORD gets no password to show on a command line or in a server log. PostgreSQL's SASLprep
    leaves ASCII passwords as they are; others are taken NFKC-normalized (its mapping steps left
    out)."""
    if not password.isascii():
        password = unicodedata.normalize("NFKC", password)
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    stored = hashlib.sha256(hmac.new(salted, b"Client Key", "sha256").digest()).digest()
    server = hmac.new(salted, b"Server Key", "sha256").digest()
    b64 = [base64.b64encode(x).decode() for x in (salt, stored, server)]
    return f"SCRAM-SHA-256${iterations}:{b64[0]}${b64[1]}:{b64[2]}"


def password_clause(password):
    return f" PASSWORD {literal(scram_verifier(password))}" if password else ""


def bootstrap_sql(major, root_password):
    """The roles of a new Cloud SQL for PostgreSQL instance, after Google's "About PostgreSQL
    users and roles" (cloud.google.com/sql/docs/postgres/users): customers get no superuser
    (cloudsqladmin is Google's own); cloudsqlsuperuser has some superuser privileges (creating
    extensions, event triggers, replication users, publications and subscriptions); the default
    admin user postgres is a member of it with CREATEROLE, CREATEDB and LOGIN, and no password
    until one is set (rootPassword). REPLICATION on both, which that page does not list, stands
    in for what Cloud SQL's own server lets cloudsqlsuperuser do: create replication slots and
    replication users. Google does not list the predefined roles cloudsqlsuperuser has; here
    pg_monitor, pg_signal_backend, pg_read_all_settings and, on 16+ (where CREATE SUBSCRIPTION
    needs it), pg_create_subscription (before 16, GRANT has no INHERIT option)."""
    roles = "pg_monitor, pg_signal_backend, pg_read_all_settings"
    grant = (f"GRANT pg_create_subscription, {roles} TO cloudsqlsuperuser WITH INHERIT TRUE"
             if major >= 16 else f"GRANT {roles} TO cloudsqlsuperuser")
    return "; ".join([
        "CREATE ROLE cloudsqlsuperuser NOLOGIN CREATEROLE CREATEDB REPLICATION", grant,
        "CREATE ROLE postgres LOGIN CREATEROLE CREATEDB REPLICATION IN ROLE cloudsqlsuperuser" +
        password_clause(root_password)])


def server_settings(flags, gucs):
    """The server settings of an instance's settings.databaseFlags ({name: value}), after
    Google's "Configure database flags" (Cloud SQL for PostgreSQL): cloudsql.logical_decoding
    sets wal_level; a flag named like a setting of the server (`gucs`) is that setting."""
    out = dict(DEFAULT_SETTINGS, wal_level="replica", password_encryption="scram-sha-256")
    for name, value in flags.items():
        if name == "cloudsql.logical_decoding":
            out["wal_level"] = "logical" if value == "on" else "replica"
        elif name in gucs:
            out[name] = value
    return out


def google_field(path):
    """A body field as Google's JSON parser names it: body.settings.database_flags[0]."""
    out = "body"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else "." + re.sub(
            r"(?<!^)([A-Z])", r"_\1", part).lower()
    return out


def google_type(expected):
    """The type Google's JSON parser names in "Invalid value at ... (TYPE), value"."""
    expected = expected[:-2] if expected.endswith("[]") else expected
    if expected.startswith("Schema$"):
        return "type.googleapis.com/google.cloud.sql.v1." + expected[len("Schema$"):]
    return {"string": "TYPE_STRING", "boolean": "TYPE_BOOL"}.get(expected, "TYPE_INT32")


class OperationFailure(Exception):
    """Ends an operation with an error of this code (Operation.error.errors[].code)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class Double:
    def __init__(self, seed, log_path, workdir=None):
        self.seed = seed
        self.lock = threading.Lock()
        self.failures_left = int(seed.get("token_failures", 0))
        self.log = open(log_path, "a", buffering=1)
        self.endpoint = None
        self.issued = set()
        self.sqladmin_failures_left = int(seed.get("sqladmin_failures", 0))
        self.polls = {}
        self.model = None
        if any(seed.get(k) for k in ("sqladmin_model", "instances", "operations", "bin_dirs")):
            path = seed.get("sqladmin_model", "")
            if not os.path.isfile(path):
                raise SystemExit(f"the Admin API's model {path!r} is missing: run "
                                 "scripts/install-deps.sh (it fetches @googleapis/sqladmin)")
            self.model = sqladmin_model.Model(path)
        self.keys = {}
        for sa in seed.get("service_accounts", []):
            self.keys[sa["client_email"]] = (
                sa.get("private_key_id"),
                serialization.load_pem_public_key(sa["public_key_pem"].encode()))
        # Instances by (project, name): the seeded ones and those instances.insert made.
        self.instances = {(i["project"], i["name"]): dict(i, owned=False, busy=None)
                          for i in seed.get("instances", [])}
        self.used_names = set(self.instances)
        self.operations = {}  # the double's own, by name
        self.service_port = int(seed.get("service_port", 5432))
        self.bin_dirs = {int(k): v for k, v in seed.get("bin_dirs", {}).items()}
        self.root = os.path.join(workdir, "pg") if workdir else None
        self.homes = 0
        self.guc_names = {}
        self.jobs = []
        self.closing = threading.Event()

    def note(self, line):
        self.log.write(time.strftime("%Y-%m-%dT%H:%M:%S") + " " + line + "\n")

    def injected_failure(self):
        with self.lock:
            if self.failures_left > 0:
                self.failures_left -= 1
                return True
        return False

    def token(self):
        value = "ya29.double-" + secrets.token_urlsafe(24)
        with self.lock:
            self.issued.add(value)
        return 200, {"access_token": value,
                     "expires_in": int(self.seed.get("expires_in", 3599)),
                     "token_type": "Bearer"}

    def jwt_bearer(self, assertion):
        def refuse(why):
            return 400, {"error": "invalid_grant", "error_description": why}
        parts = assertion.split(".")
        if len(parts) != 3:
            return refuse("Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                          "reasonable timeframe.")
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            signature = b64url_decode(parts[2])
        except (ValueError, json.JSONDecodeError):
            return refuse("Invalid JWT: not base64url JSON.")
        if header.get("alg") != "RS256":
            return refuse("Invalid JWT: alg must be RS256.")
        issuer = claims.get("iss")
        if issuer not in self.keys:
            return 401, {"error": "invalid_client", "error_description": "The OAuth client was "
                         "not found."}
        key_id, public_key = self.keys[issuer]
        if "kid" in header and key_id and header["kid"] != key_id:
            return refuse("Invalid JWT Signature.")
        try:
            public_key.verify(signature, (parts[0] + "." + parts[1]).encode(),
                              padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return refuse("Invalid JWT Signature.")
        if claims.get("aud") != self.endpoint + "/token":
            return refuse("Invalid JWT: Failed audience check.")
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if (not isinstance(iat, int) or not isinstance(exp, int) or exp - iat > 3600
                or iat > now + 300 or exp < now):
            return refuse("Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                          "reasonable timeframe. Check your iat and exp values in the JWT claim.")
        asked = set(str(claims.get("scope", "")).split())
        for scope in self.seed.get("required_scopes", []):
            if scope not in asked:
                return 400, {"error": "invalid_scope",
                             "error_description": "Missing scope " + scope}
        return self.token()

    def refresh(self, form):
        for user in self.seed.get("authorized_users", []):
            if (form.get("client_id") == user["client_id"]
                    and form.get("client_secret") == user["client_secret"]):
                if form.get("refresh_token") != user["refresh_token"]:
                    return 400, {"error": "invalid_grant", "error_description": "Bad Request"}
                return self.token()
        return 401, {"error": "invalid_client", "error_description": "Unauthorized"}

    def token_endpoint(self, body, content_type):
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return 400, {"error": "invalid_request",
                         "error_description": "Bad Request: not form-encoded"}
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        grant = form.get("grant_type")
        if self.injected_failure():
            self.note(f"token {grant} 503 (injected)")
            return 503, {"error": "internal_failure", "error_description": "Backend Error"}
        if grant == JWT_BEARER:
            status, reply = self.jwt_bearer(form.get("assertion", ""))
        elif grant == "refresh_token":
            status, reply = self.refresh(form)
        else:
            status, reply = 400, {"error": "unsupported_grant_type",
                                  "error_description": "Invalid grant_type: " + str(grant)}
        self.note(f"token {grant} {status} {reply.get('error', 'ok')}")
        return status, reply

    def metadata(self, headers):
        if not self.seed.get("metadata"):
            return 404, {"error": "not found"}
        if headers.get("Metadata-Flavor") != "Google":
            self.note("metadata 403 (no Metadata-Flavor: Google)")
            return 403, {"error": "Missing required header: Metadata-Flavor"}
        if self.injected_failure():
            return 503, {"error": "Backend Error"}
        self.note("metadata token 200")
        return self.token()


    # -- Cloud SQL Admin API ----------------------------------------------------------------------

    @staticmethod
    def google_error(code, status, message, reason=None):
        error = {"code": code, "message": message, "status": status}
        if reason:
            error["errors"] = [{"message": message, "domain": "global", "reason": reason}]
        return code, {"error": error}

    def refusal(self, code, status, message, reason=None):
        """A handler's (status, body, schema) for an error answer."""
        return (*self.google_error(code, status, message, reason), None)

    def not_found(self):
        return self.refusal(404, "NOT_FOUND", "The Cloud SQL instance does not exist.",
                            "instanceDoesNotExist")

    def invalid(self, message):
        return self.refusal(400, "INVALID_ARGUMENT", "Invalid request: " + message, "invalid")

    def payload_refusal(self, violations):
        """Google's JSON parser's 400 for a body the model does not allow: every unknown field
        and wrong type, each also a google.rpc.BadRequest field violation."""
        found = []
        for v in violations:
            if v.kind == "unknown":
                at = google_field(v.path[:-1])
                found.append((at, f'Invalid JSON payload received. Unknown name "{v.path[-1]}" '
                                  f"at '{at}': Cannot find field."))
            else:
                at = google_field(v.path)
                found.append((at, f"Invalid value at '{at}' ({google_type(v.expected)}), "
                                  f"{json.dumps(v.value)}"))
        code, body, _ = self.refusal(400, "INVALID_ARGUMENT", "\n".join(m for _, m in found),
                                     "invalid")
        body["error"]["details"] = [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                                     "fieldViolations": [{"field": f, "description": m}
                                                         for f, m in found]}]
        return code, body, None

    def in_progress(self):
        return self.refusal(409, "ABORTED", "Operation failed because another operation was "
                            "already in progress.", "operationInProgress")

    def invalid_state(self):
        return self.refusal(409, "ABORTED", "The instance or operation is not in an appropriate "
                            "state to handle the request.", "invalidState")

    def request_body(self, body, schema):
        """The request body of a method taking a `schema` (None: none, {}) and, when it is no
        JSON object or the model does not allow it, Google's 400 (else None)."""
        if not schema:
            return {}, None
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            request = None
        if not isinstance(request, dict):
            return None, self.refusal(400, "INVALID_ARGUMENT", "Invalid JSON payload received. "
                                      "Unexpected token.", "invalid")
        violations = self.model.violations(request, schema)
        return request, (self.payload_refusal(violations) if violations else None)

    def instance_resource(self, spec):
        """A DatabaseInstance (instances.get) of a seeded instance or of one instances.insert
        made: the insert body's settings over the defaults; its PRIMARY IP once it serves (Cloud
        SQL assigns the IP with the instance)."""
        project, name = spec["project"], spec["name"]
        region = spec.get("region", "us-central1")
        base = f"{self.endpoint}/v1/projects/{project}/instances/{name}"
        settings = {
            "kind": "sql#settings", "tier": spec.get("tier", "db-custom-2-7680"),
            "settingsVersion": "1", "availabilityType": "ZONAL", "dataDiskType": "PD_SSD",
            "dataDiskSizeGb": str(spec.get("disk_gb", 10)),
            "databaseFlags": [{"name": k, "value": v}
                              for k, v in sorted(spec.get("flags", {}).items())],
            "ipConfiguration": {"ipv4Enabled": True}}
        settings.update(spec.get("settings") or {})
        zone = (settings.get("locationPreference") or {}).get("zone") or region + "-b"
        body = {
            "kind": "sql#instance", "name": name, "project": project, "region": region,
            "gceZone": zone, "databaseVersion": spec["database_version"],
            "state": spec.get("state", "RUNNABLE"),
            "backendType": "SECOND_GEN", "instanceType": "CLOUD_SQL_INSTANCE",
            "connectionName": f"{project}:{region}:{name}", "selfLink": base,
            "settings": settings,
        }
        host = spec.get("host", "127.0.0.1")
        if host:
            body["ipAddresses"] = [{"type": "PRIMARY", "ipAddress": host}]
        return body

    def operation_resource(self, spec):
        """An Operation (operations.get): a seeded one RUNNING for its running_polls reads, then
        DONE; one of the double's as its work goes (PENDING, RUNNING, DONE)."""
        project, name = spec["project"], spec["name"]
        status = spec.get("status")
        if status is None:
            with self.lock:
                self.polls[name] = self.polls.get(name, 0) + 1
                polls = self.polls[name]
            status = "RUNNING" if polls <= int(spec.get("running_polls", 0)) else "DONE"
        body = {
            "kind": "sql#operation", "name": name, "operationType": spec["operation_type"],
            "status": status, "targetId": spec["target_id"], "targetProject": project,
            "insertTime": spec.get("insert_time", "2026-12-05T10:00:00.000Z"),
            "selfLink": f"{self.endpoint}/v1/projects/{project}/operations/{name}",
            "targetLink": f"{self.endpoint}/v1/projects/{project}/instances/{spec['target_id']}"}
        if status != "PENDING":
            body["startTime"] = spec.get("start_time", "2026-12-05T10:00:01.000Z")
        if status == "DONE":
            body["endTime"] = spec.get("end_time", "2026-12-05T10:05:00.000Z")
            if spec.get("error"):
                body["error"] = {"kind": "sql#operationErrors", "errors": [
                    {"kind": "sql#operationError", **spec["error"]}]}
        return body

    @staticmethod
    def users_list_resource(project, instance, names):
        """A UsersListResponse (users.list) of these user names."""
        return {"kind": "sql#usersList", "items": [
            {"kind": "sql#user", "name": n, "instance": instance, "project": project}
            for n in names]}

    # Operations: each runs its work in a thread of its own.

    def new_operation(self, rec, operation_type):
        """A PENDING operation on the instance `rec`, which is busy until it ends. Call with the
        lock held."""
        op = {"project": rec["project"], "name": str(uuid.uuid4()),
              "operation_type": operation_type, "target_id": rec["name"], "status": "PENDING",
              "insert_time": rfc3339()}
        self.operations[op["name"]] = op
        rec["busy"] = op["name"]
        return op

    def launch(self, op, rec, work, on_error=None):
        """Runs work() for the operation: RUNNING, then DONE, with an error (OperationFailure's
        code, else INTERNAL_ERROR) when it raises, after on_error(). -> the Operation answer."""
        def body():
            with self.lock:
                op.update(status="RUNNING", start_time=rfc3339())
            what = f"operation {op['name']} ({op['operation_type']} of {op['target_id']})"
            error = None
            try:
                if self.closing.is_set():
                    raise OperationFailure("INTERNAL_ERROR", "the double is stopping")
                work()
            except OperationFailure as e:
                error = {"code": e.code, "message": str(e)}
            except Exception as e:  # noqa: BLE001 - a failed job is a failed operation
                error = {"code": "INTERNAL_ERROR", "message": str(e)}
            if error:
                self.note(f"{what} failed: {error['code']}: {error['message']}")
                if on_error:
                    on_error()
            with self.lock:
                op.update(status="DONE", end_time=rfc3339(), **({"error": error} if error else {}))
                rec["busy"] = None
            self.note(f"{what} DONE")
        job = threading.Thread(target=body, daemon=True, name=op["name"])
        with self.lock:
            self.jobs = [j for j in self.jobs if j.is_alive()] + [job]
            answer = self.operation_resource(dict(op))
        job.start()
        return 200, answer, "Operation"

    # The clusters of created instances.

    def bin_dir(self, major):
        """The seed's bin_dirs entry of a major when it holds a server, else None."""
        path = self.bin_dirs.get(major)
        if path and os.access(os.path.join(path, "postgres"), os.X_OK):
            return path
        if path:
            self.note(f"bin_dirs[{major}] = {path} holds no postgres: POSTGRES_{major} refused")
        return None

    def gucs(self, bin_dir):
        """The names of the settings of the server in bin_dir (postgres --describe-config)."""
        with self.lock:
            if bin_dir in self.guc_names:
                return self.guc_names[bin_dir]
        proc = clusters.run([os.path.join(bin_dir, "postgres"), "--describe-config"], timeout=60)
        names = {line.split("\t")[0] for line in proc.stdout.splitlines() if line}
        with self.lock:
            self.guc_names[bin_dir] = names
        return names

    def free_address(self):
        """A loopback address 127.X.Y.Z (X, Y, Z random, so never 127.0.0.1) of no other
        instance where service_port can be bound."""
        with self.lock:
            taken = {r.get("host") for r in self.instances.values()}
        for _ in range(200):
            address = "127." + ".".join(str(random.randint(1, 254)) for _ in range(3))
            if address in taken:
                continue
            with socket.socket() as s:
                try:
                    s.bind((address, self.service_port))
                except OSError:
                    continue
            return address
        raise OperationFailure("INTERNAL_ERROR", "no loopback address with port "
                               f"{self.service_port} free")

    def cluster_home(self):
        """A new directory (the postgres user's) for one instance's cluster under WORKDIR/pg."""
        if not self.root:
            raise OperationFailure("INTERNAL_ERROR", "the double has no work directory")
        with self.lock:
            self.homes += 1
            home = os.path.join(self.root, f"i{self.homes}")
        if not os.path.isdir(self.root):
            clusters.make_postgres_dir(self.root)
            os.chmod(self.root, 0o711)
        clusters.make_postgres_dir(home)
        return home

    def create_cluster(self, rec, root_password):
        """instances.insert's work: a cluster of the instance's major, configured, started and
        given Cloud SQL's roles; the instance RUNNABLE at its address."""
        name, major = rec["name"], rec["major"]
        bin_dir = self.bin_dirs[major]
        address = self.free_address()
        home = self.cluster_home()
        data = os.path.join(home, "data")
        admin_password = secrets.token_urlsafe(24)
        with self.lock:
            rec["dir"] = home
        self.note(f"{name}: initdb PostgreSQL {major} in {data} (superuser {ADMIN}, UTF8)")
        clusters.initdb(bin_dir, data, ADMIN, admin_password, LOCALE, LOCALE, home)
        clusters.configure_instance(data, self.service_port, listen=address,
                                    conf_name="gcp_double.conf",
                                    writer="the Google double (tests/gcp_double)", hba=HBA)
        flags = {f.get("name"): f.get("value") or ""
                 for f in rec["settings"].get("databaseFlags") or []}
        settings = server_settings(flags, self.gucs(bin_dir))
        ignored = sorted(set(flags) - set(settings) - {"cloudsql.logical_decoding"})
        self.note(f"{name}: starting on {address}:{self.service_port} with {settings}" +
                  (f" (flags that are no server setting: {ignored})" if ignored else ""))
        cluster = clusters.Cluster(data, bin_dir, self.service_port, major, ADMIN,
                                   admin_password, owned=True)
        with self.lock:
            if self.closing.is_set():
                raise OperationFailure("INTERNAL_ERROR", "the double is stopping")
            rec["cluster"] = cluster
        try:
            cluster.start(settings)
        except RuntimeError as e:
            with open(cluster.log_file, errors="replace") as f:
                raise OperationFailure("INTERNAL_ERROR", f"{e}\n{f.read()[-1000:]}".strip()) \
                    from None
        self.note(f"{name}: creating the roles cloudsqlsuperuser and postgres (" +
                  ("with" if root_password else "without") + " a password)")
        cluster.query(bootstrap_sql(major, root_password), socket_only=True)
        with self.lock:
            rec.update(state="RUNNABLE", host=address)
        self.note(f"{name}: RUNNABLE at {address}:{self.service_port}")

    def stop_cluster(self, bin_dir, data_dir):
        """pg_ctl stop -m fast, then -m immediate if the server is still up."""
        for mode in ("fast", "immediate"):
            proc = clusters.run([os.path.join(bin_dir, "pg_ctl"), "-D", data_dir, "-m", mode,
                                 "-w", "-t", "30", "stop"], check=False, timeout=60)
            if proc.returncode == 0 or not os.path.exists(
                    os.path.join(data_dir, "postmaster.pid")):
                return

    def delete_instance_work(self, rec):
        """instances.delete's work: the cluster stopped and its files removed (a seeded instance
        only forgotten), and the instance gone."""
        if rec.get("owned"):
            cluster = rec.get("cluster")
            if cluster:
                self.note(f"{rec['name']}: stopping {cluster.data_dir}")
                self.stop_cluster(cluster.bin_dir, cluster.data_dir)
            if rec.get("dir"):
                clusters.remove_dir(rec["dir"])
        with self.lock:
            self.instances.pop((rec["project"], rec["name"]), None)
        self.note(f"{rec['name']}: deleted")

    def run_sql(self, rec, sql):
        """One statement as cloudsqladmin on the instance; the server's error as ERROR_RDBMS
        (Cloud SQL's code for "an underlying RDBMS error") with its message."""
        try:
            return rec["cluster"].query(sql, socket_only=True)
        except RuntimeError as e:
            text = str(e)
            raise OperationFailure("ERROR_RDBMS", text[text.find("ERROR:") + 6:].strip()
                                   if "ERROR:" in text else text) from None

    def close(self, timeout=60):
        """Stops every cluster the double started (also one still being made when the jobs do
        not end in `timeout`) and removes their files; seeded clusters are never touched."""
        self.closing.set()
        deadline = time.monotonic() + timeout
        with self.lock:
            jobs = list(self.jobs)
        for job in jobs:
            job.join(max(0.0, deadline - time.monotonic()))
        if not self.root:
            return
        for pid_file in glob.glob(os.path.join(self.root, "*", "data", "postmaster.pid")):
            data_dir = os.path.dirname(pid_file)
            with open(os.path.join(data_dir, "PG_VERSION")) as f:
                bin_dir = self.bin_dirs[int(f.read().strip())]
            self.note(f"stopping {data_dir}")
            self.stop_cluster(bin_dir, data_dir)
        clusters.remove_dir(self.root)

    # The Admin API's methods: (params, query, request body) -> (status, body, answer schema).

    def get_instance(self, params, query, request):
        with self.lock:
            rec = self.instances.get((params["project"], params["instance"]))
            rec = dict(rec) if rec else None
        if rec is None:
            return self.not_found()
        return 200, self.instance_resource(rec), "DatabaseInstance"

    def insert_instance(self, params, query, request):
        """instances.insert: checks as Cloud SQL does, then the CREATE operation."""
        project = params["project"]
        name = request.get("name") or ""
        settings = dict(request.get("settings") or {})
        version = request.get("databaseVersion") or ""
        if not name:
            return self.invalid(f"Invalid full instance name: {project}:.")
        if not settings.get("tier"):
            return self.invalid("Tier ().")
        m = re.fullmatch(r"POSTGRES_(\d+)", version)
        major = int(m.group(1)) if m else None
        if major is None or self.bin_dir(major) is None:
            return self.invalid("Invalid database version.")
        with self.lock:
            if (project, name) in self.used_names:
                return self.refusal(
                    409, "ALREADY_EXISTS", "The Cloud SQL instance already exists. When you "
                    "delete an instance, you can't reuse the name of the deleted instance until "
                    "one week from the deletion date.", "instanceAlreadyExists")
            self.used_names.add((project, name))
            rec = {"project": project, "name": name, "owned": True, "major": major,
                   "region": request.get("region") or "us-central1", "database_version": version,
                   "state": "PENDING_CREATE", "host": None, "settings": settings, "busy": None}
            self.instances[(project, name)] = rec
            op = self.new_operation(rec, "CREATE")

        def failed():
            with self.lock:
                rec["state"] = "FAILED"
        return self.launch(op, rec, lambda: self.create_cluster(rec, request.get("rootPassword")),
                           failed)

    def delete_instance(self, params, query, request):
        with self.lock:
            rec = self.instances.get((params["project"], params["instance"]))
            if rec is None:
                return self.not_found()
            if rec["busy"]:
                return self.in_progress()
            rec["state"] = "PENDING_DELETE"
            op = self.new_operation(rec, "DELETE")
        return self.launch(op, rec, lambda: self.delete_instance_work(rec))

    def created_instance(self, params):
        """The record of a created instance, or the refusal to answer for it: 404, or 501 for a
        seeded one (the test's cluster, whose users the double does not manage)."""
        with self.lock:
            rec = self.instances.get((params["project"], params["instance"]))
        if rec is None:
            return None, self.not_found()
        if not rec["owned"]:
            return None, self.refusal(501, "UNIMPLEMENTED", "the double serves the users of the "
                                      "instances it created only")
        return rec, None

    def user_operation(self, params, operation_type, what, sql):
        """users.insert/users.update: `sql` (None: nothing to do) run as the operation."""
        rec, refused = self.created_instance(params)
        if refused:
            return refused
        with self.lock:
            if rec["busy"]:
                return self.in_progress()
            if rec["state"] != "RUNNABLE":
                return self.invalid_state()
            op = self.new_operation(rec, operation_type)

        def work():
            self.note(f"{rec['name']}: {what}")
            if sql:
                self.run_sql(rec, sql)
        return self.launch(op, rec, work)

    def insert_user(self, params, query, request):
        """users.insert: a LOGIN CREATEROLE CREATEDB member of cloudsqlsuperuser ("All users you
        create using Cloud SQL are created as part of the cloudsqlsuperuser role")."""
        name = request.get("name")
        if not name:
            return self.invalid("Missing user name.")
        return self.user_operation(params, "CREATE_USER", f"creating the user {name}",
                                   f"CREATE ROLE {ident(name)} LOGIN CREATEROLE CREATEDB IN ROLE "
                                   "cloudsqlsuperuser" + password_clause(request.get("password")))

    def update_user(self, params, query, request):
        """users.update (?name=): the user's new password, if the body has one."""
        name = (query.get("name") or [request.get("name")])[0]
        if not name:
            return self.invalid("Missing user name.")
        password = request.get("password")
        return self.user_operation(
            params, "UPDATE_USER", f"updating the user {name}" + (" (password)" if password
                                                                  else " (nothing to change)"),
            password and f"ALTER ROLE {ident(name)}{password_clause(password)}")

    def list_users(self, params, query, request):
        """users.list: the instance's LOGIN roles but Google's cloudsqladmin."""
        rec, refused = self.created_instance(params)
        if refused:
            return refused
        if rec["state"] != "RUNNABLE":
            return self.invalid_state()
        rows = rec["cluster"].query("SELECT rolname FROM pg_roles WHERE rolcanlogin AND "
                                    f"rolname <> '{ADMIN}' ORDER BY 1", socket_only=True)
        return 200, self.users_list_resource(params["project"], params["instance"],
                                             [r[0] for r in rows]), "UsersListResponse"

    def get_operation(self, params, query, request):
        with self.lock:
            op = self.operations.get(params["operation"])
            op = dict(op) if op and op["project"] == params["project"] else None
        if op is None:
            for spec in self.seed.get("operations", []):
                if spec["project"] == params["project"] and spec["name"] == params["operation"]:
                    op = spec
        if op is None:
            return self.refusal(404, "NOT_FOUND", "The operation does not exist.",
                                "operationDoesNotExist")
        return 200, self.operation_resource(op), "Operation"

    # (verb, URL template) -> (method, the schema of its request body)
    ROUTES = {
        ("GET", T_INSTANCE): (get_instance, None),
        ("POST", T_INSTANCES): (insert_instance, "DatabaseInstance"),
        ("DELETE", T_INSTANCE): (delete_instance, None),
        ("POST", T_USERS): (insert_user, "User"),
        ("PUT", T_USERS): (update_user, "User"),
        ("GET", T_USERS): (list_users, None),
        ("GET", T_OPERATION): (get_operation, None),
    }

    def sqladmin(self, verb, path, headers, body=b""):
        auth = headers.get("Authorization", "")
        with self.lock:
            known = auth.startswith("Bearer ") and auth[len("Bearer "):] in self.issued
        if not known:
            self.note(f"sqladmin {verb} {path} 401")
            return self.google_error(
                401, "UNAUTHENTICATED", "Request had invalid authentication credentials. "
                "Expected OAuth 2 access token, login cookie or other valid authentication "
                "credential.")
        url = urllib.parse.urlsplit(path)
        template = self.model.route(verb, url.path) if self.model else None
        if template is None:
            return self.google_error(404, "NOT_FOUND", f"Method not found: {verb} {path}")
        with self.lock:
            fail = self.sqladmin_failures_left > 0
            self.sqladmin_failures_left -= int(fail)
        if fail:
            status = int(self.seed.get("sqladmin_failure_status", 503))
            self.note(f"sqladmin {verb} {path} {status} (injected)")
            if status == 429:
                return self.google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota "
                                         "metric 'Queries' and limit 'Queries per minute'.",
                                         "rateLimitExceeded")
            return self.google_error(503, "UNAVAILABLE", "The service is currently unavailable.")
        params = {t[1:-1]: urllib.parse.unquote(p) for t, p in
                  zip(template.split("/"), url.path.split("/")) if t.startswith("{")}
        method, request_schema = self.ROUTES.get((verb, template), (None, None))
        if method is None:
            status, answer, schema = self.refusal(501, "UNIMPLEMENTED",
                                                  f"the double does not serve {verb} {template}")
        else:
            request, refused = self.request_body(body, request_schema)
            status, answer, schema = refused or method(
                self, params, urllib.parse.parse_qs(url.query), request)
        if schema:
            problems = self.model.problems(answer, schema)
            if problems:
                self.note(f"sqladmin {verb} {path} 500 answer off the model: {problems}")
                return self.google_error(500, "INTERNAL",
                                         "the double's answer is off the published model: " +
                                         "; ".join(problems))
        self.note(f"sqladmin {verb} {path} {status}")
        return status, answer


def make_handler(double):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            if self.path.startswith("/computeMetadata"):
                self.send_header("Metadata-Flavor", "Google")
            self.end_headers()
            self.wfile.write(data)

        def body(self):
            return self.rfile.read(int(self.headers.get("Content-Length", "0")))

        def do_POST(self):
            body = self.body()
            if self.path == "/token":
                self.reply(*double.token_endpoint(body, self.headers.get("Content-Type", "")))
            elif self.path.startswith("/v1/"):
                self.reply(*double.sqladmin("POST", self.path, self.headers, body))
            else:
                self.reply(404, {"error": "not found"})

        def do_GET(self):
            if self.path.split("?")[0] == METADATA_TOKEN:
                self.reply(*double.metadata(self.headers))
            elif self.path.startswith("/v1/"):
                self.reply(*double.sqladmin("GET", self.path, self.headers))
            else:
                self.reply(404, {"error": "not found"})

        def do_PUT(self):
            self.reply(*double.sqladmin("PUT", self.path, self.headers, self.body()))

        def do_DELETE(self):
            self.reply(*double.sqladmin("DELETE", self.path, self.headers, self.body()))

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--ready-file", required=True)
    args = ap.parse_args()
    with open(args.seed) as f:
        seed = json.load(f)
    os.makedirs(args.workdir, exist_ok=True)
    os.chmod(args.workdir, os.stat(args.workdir).st_mode | 0o711)  # postgres must traverse it
    workdir = os.path.abspath(args.workdir)
    double = Double(seed, os.path.join(workdir, "double.log"), workdir)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(double))
    server.daemon_threads = True
    double.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    done = threading.Event()

    def finish():
        if not done.is_set():
            done.set()
            double.close()
    atexit.register(finish)

    def on_signal(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    tmp = args.ready_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"endpoint": double.endpoint}, f)
    os.replace(tmp, args.ready_file)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        finish()
        double.note("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
