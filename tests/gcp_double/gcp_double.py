#!/usr/bin/python3
"""A local Google endpoint for tests: the OAuth 2.0 token endpoint (service-account JWT bearer
grant, RFC 7523, and refresh-token grant, as https://oauth2.googleapis.com/token answers them),
the metadata server's token path, faithful to Google's public documentation ("Using OAuth 2.0
for Server to Server Applications", "Authenticate workloads using service accounts"), the
Cloud SQL Admin API v1's instances.get/insert/patch/delete/clone, users.insert/update/list and
operations.get, and Cloud Logging API v2's entries.list, whose every route, request body and
answer is checked against the API's published model (googleapis_model.py). The instances it
creates are real PostgreSQL clusters; their server logs, and the seeded instances', are what
entries.list reads.

    /usr/bin/python3 tests/gcp_double/gcp_double.py --seed SEED.json --workdir DIR \
        [--port 0] --ready-file FILE

Writes {"endpoint": "http://127.0.0.1:PORT"} to FILE once listening: the one base URL of the
Admin API (ENDPOINT/v1/...), Cloud Logging (ENDPOINT/v2/entries:list) and the token endpoint
(ENDPOINT/token), where every assertion's RS256 signature is checked against the seeded public
key of its issuer, and its header and claims as Google checks them (alg, kid, aud = this
endpoint, iat/exp within an hour, the scopes asked). Requests are logged to DIR/double.log
without any assertion, secret, token or password.

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
  "logging_model": ".cache/logging/v2.ts",     # default: beside sqladmin_model's directory
  "instances": [{"project": "shop", "name": "orders-pg13", "region": "europe-west1",
                 "database_version": "POSTGRES_13", "state": "RUNNABLE",
                 "tier": "db-custom-2-7680", "flags": {"cloudsql.logical_decoding": "on"},
                 "host": "127.0.0.1",
                 # the test's cluster, all or none of these (without them the instance is
                 # only described, as a read-only record):
                 "port": 5433, "data_dir": "/tmp/t/src/data", "bin_dir": ".cache/pg/13/bin",
                 "major": 13,                              # default: from database_version
                 "log_file": "/tmp/t/src/postgresql.log",  # default: DATA_DIR/log/postgresql.log
                 "admin_user": "ops", "admin_password": "secret"}],  # a superuser
  "operations": [{"project": "shop", "name": "op-1", "operation_type": "CREATE",
                  "target_id": "orders-pg17", "running_polls": 2,     # RUNNING twice, then DONE
                  "error": {"code": "ERROR_RDBMS", "message": "..."}}], # optional
  "sqladmin_failures": 0,           # answer this many Admin API calls 503 first
  "sqladmin_failure_status": 503,   # ... or 429 (RESOURCE_EXHAUSTED, Google's quota answer)
  "service_port": 5433,             # the port of every created instance's PostgreSQL
  "bin_dirs": {"15": "/usr/lib/postgresql/15/bin", "17": ".cache/pg/17/bin"}
                                    # initdb, pg_ctl and postgres of each major: the
                                    # databaseVersions (POSTGRES_<major>) instances.insert
                                    # and a major version upgrade take
}

Admin API and Logging calls need a token this double issued ("Authorization: Bearer ..."), as
Google's do. A request body with a field or a type the model does not have is refused as
Google's JSON parser refuses it (400 INVALID_ARGUMENT "Invalid JSON payload received. Unknown
name ...").

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
echoes the insert body's settings over the defaults. Every cluster of the double logs as Cloud
SQL's servers do (cloud_logging.CLOUDSQL_LOGGING: log_line_prefix '%m [%p]: [%l-1]
db=%d,user=%u ', UTC) to DIR/pg/<instance>/postgres.log. instances.delete (DELETE) stops the
cluster (pg_ctl -m fast) and removes its files; a seeded instance is only forgotten.
users.insert (CREATE_USER) makes a LOGIN CREATEROLE CREATEDB member of cloudsqlsuperuser,
users.update (UPDATE_USER) sets its password, users.list lists the LOGIN roles but the admin
user; an error of the server (e.g. the user exists) ends the operation with ERROR_RDBMS and its
message. A second operation while one is under way on the instance is 409
operationInProgress, as Cloud SQL answers it. Passwords reach the servers only as SCRAM
verifiers.

Clones. instances.clone (POST .../instances/{instance}/clone, cloneContext.
destinationInstanceName; a name used before is 409 as for insert) of a RUNNABLE instance whose
cluster the double knows (one it made, or a seeded one with the test cluster's facts) answers a
CLONE Operation whose targetId is the new instance (as Google's "Clone instances" shows it).
The clone is PENDING_CREATE while the double takes a crash-consistent copy of the running
source, as a disk snapshot is (clusters.Cluster.crash_consistent_copy, as the AWS double's DB
snapshots): the source's data, roles and their passwords, publications, subscriptions and
logical replication slots. It starts at the source's major, with the source's settings and
flags and Cloud SQL's pg_hba, on an address of its own; its startup is PostgreSQL's crash
recovery ("redo done at ...") in its log. Then RUNNABLE. The double works on it as the source's
admin user (cloudsqladmin, or the seed's admin_user).

instances.patch (PATCH .../instances/{instance}). Settings: merged into the instance's (an
UPDATE Operation; the state stays RUNNABLE); settings.databaseFlags replaces the flags, as a
whole list. When the server's settings change (cloudsql.logical_decoding, or a flag that is a
server setting) the double restarts the server with pg_ctl (stop -m fast, start with the
settings as -c options) as Cloud SQL restarts an instance for such flags: also a seeded
instance's, the test's own cluster, which is what provider cloudsql's
upgrade.allow_source_restart allows (the test's configuration files are left as they are, so
the test's own next start of that cluster is without those settings; its postmaster's pid
changes). databaseVersion: a higher POSTGRES_<major> (lower or equal: 400) of an instance the
double made, Google's "Upgrade the database major version in-place": a MAJOR_VERSION_UPGRADE
Operation, the instance in MAINTENANCE. A pre-check refuses an instance with logical
replication slots (the operation DONE with error PRECHECK_FAILED, the instance RUNNABLE as it
was); then a dump and restore into a cluster of the target major (Google runs pg_upgrade; the
npm builds lack the old major's pg_resetwal it needs): Debian's pg_dumpall 15, so only from 13,
14 or 15. The instance keeps its address, port, roles, passwords, flags and log; then RUNNABLE
at the new databaseVersion. A failed upgrade puts the old cluster back (RUNNABLE, old version).

Cloud Logging. POST /v2/entries:list (ListLogEntriesRequest): resourceNames projects/<p>,
orderBy "timestamp asc"/"timestamp desc", pageSize (50 by default, at most 1000), pageToken
(nextPageToken while more match), and a filter of comparisons of resource.type,
resource.labels.<label>, logName, timestamp and severity joined by AND (cloud_logging; other
filters: 400 INVALID_ARGUMENT "Unparseable filter: ..."). One LogEntry per line of an
instance's PostgreSQL log, as Cloud SQL exports it to cloudsql.googleapis.com/postgres.log:
textPayload the line with Cloud SQL's prefix ("2026-12-05 10:00:01.123 UTC [123]: [1-1]
db=,user= LOG:  redo done at 0/3000028 ..."), timestamp the line's, severity from its level,
resource cloudsql_database {database_id: "<project>:<instance>", project_id, region}. A seeded
instance's log_file lines with the test clusters' prefix '%m [%p] ' get Cloud SQL's form.

On SIGTERM, SIGINT or exit every cluster the double started is stopped (fast, then immediate)
and its files removed.
"""
import argparse
import atexit
import base64
import copy
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
import cloud_logging  # noqa: E402
import clusters  # noqa: E402
import googleapis_model  # noqa: E402

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
METADATA_TOKEN = "/computeMetadata/v1/instance/service-accounts/default/token"

T_INSTANCES = "/v1/projects/{project}/instances"
T_INSTANCE = T_INSTANCES + "/{instance}"
T_USERS = T_INSTANCE + "/users"
T_CLONE = T_INSTANCE + "/clone"
T_OPERATION = "/v1/projects/{project}/operations/{operation}"
T_ENTRIES_LIST = "/v2/entries:list"
# The protocol buffer packages of the APIs' messages, as Google's JSON parser names their types.
PACKAGES = {"v1": "google.cloud.sql.v1", "v2": "google.logging.v2"}
ADMIN = "cloudsqladmin"
LOCALE = "C.UTF-8"  # Cloud SQL's default is en_US.UTF8; the test clusters' (any machine has it)
HBA = ["local all all trust", "host all all 127.0.0.0/8 scram-sha-256",
       "local replication all trust", "host replication all 127.0.0.0/8 scram-sha-256"]
DEFAULT_SETTINGS = {"max_wal_senders": "20", "max_replication_slots": "20"}
CONF = {"conf_name": "gcp_double.conf", "writer": "the Google double (tests/gcp_double)",
        "hba": HBA, "logging": cloud_logging.CLOUDSQL_LOGGING}
LOG_NAME = "postgres.log"  # an instance's server log, next to its data directory
# The refusal of an in-place major version upgrade of an instance with logical replication slots
# (Cloud SQL refuses it, and so does its pg_upgrade before 17). Google's own operation error for
# it is not in its public documentation: this code and wording are the double's.
PRECHECK_FAILED = "PRECHECK_FAILED"
SLOTS_REFUSAL = ("The instance could not be upgraded because it has logical replication "
                 "slots: {}. Drop all logical replication slots and try again.")


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


def instance_flags(rec):
    """An instance's settings.databaseFlags as {name: value}: those of its insert, clone or last
    patch, else the seed's flags."""
    listed = (rec.get("settings") or {}).get("databaseFlags")
    if listed is None:
        return dict(rec.get("flags") or {})
    return {f.get("name"): f.get("value") or "" for f in listed}


def major_of(version):
    """The major of a databaseVersion POSTGRES_<major>, else None."""
    m = re.fullmatch(r"POSTGRES_(\d+)", version or "")
    return int(m.group(1)) if m else None


def free_port():
    """A port no one listens on at 127.0.0.1: a copy's own while it is a standby (its socket
    lock file must not be named like the one copied from the source's data directory)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_tail(path, size=1000):
    """The end of a server log, for an operation's error."""
    try:
        with open(path, errors="replace") as f:
            return f.read()[-size:]
    except OSError:
        return ""


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


def google_type(expected, package):
    """The type Google's JSON parser names in "Invalid value at ... (TYPE), value", a message's
    with its package (google.cloud.sql.v1, google.logging.v2)."""
    expected = expected[:-2] if expected.endswith("[]") else expected
    if expected.startswith("Schema$"):
        return f"type.googleapis.com/{package}." + expected[len("Schema$"):]
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
        self.models = self.load_models(seed)
        self.keys = {}
        for sa in seed.get("service_accounts", []):
            self.keys[sa["client_email"]] = (
                sa.get("private_key_id"),
                serialization.load_pem_public_key(sa["public_key_pem"].encode()))
        # Instances by (project, name): the seeded ones and those instances.insert and
        # instances.clone made.
        self.instances = {(i["project"], i["name"]): self.seeded_instance(i)
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

    @staticmethod
    def load_models(seed):
        """{"v1": the Admin API's model, "v2": Cloud Logging's}, each None when not needed or
        (Cloud Logging's) not installed: the Admin API's is required with instances, operations
        or bin_dirs; Cloud Logging's is the seed's logging_model, by default v2.ts in the
        .cache/logging beside the Admin API's .cache/sqladmin."""
        models = {"v1": None, "v2": None}
        if not any(seed.get(k) for k in ("sqladmin_model", "instances", "operations",
                                         "bin_dirs")):
            return models
        path = seed.get("sqladmin_model", "")
        if not os.path.isfile(path):
            raise SystemExit(f"the Admin API's model {path!r} is missing: run "
                             "scripts/install-deps.sh (it fetches @googleapis/sqladmin)")
        models["v1"] = googleapis_model.Model(path, "DatabaseInstance")
        logging_path = seed.get("logging_model") or os.path.join(
            os.path.dirname(os.path.dirname(os.path.abspath(path))), "logging", "v2.ts")
        if os.path.isfile(logging_path):
            models["v2"] = googleapis_model.Model(logging_path, "LogEntry")
        return models

    @staticmethod
    def seeded_instance(spec):
        """The record of a seeded instance; with the facts of the test's cluster (data_dir,
        bin_dir, port, major, admin_user, admin_password, log_file), its cluster, which the
        double then copies (instances.clone) and restarts (instances.patch)."""
        rec = dict(spec, owned=False, busy=None, state=spec.get("state", "RUNNABLE"),
                   major=spec.get("major") or major_of(spec.get("database_version")))
        if spec.get("data_dir"):
            rec["cluster"] = clusters.Cluster(
                spec["data_dir"], spec["bin_dir"], int(spec["port"]), int(rec["major"]),
                spec["admin_user"], spec["admin_password"],
                log_file=spec.get("log_file") or os.path.join(spec["data_dir"], "log",
                                                              "postgresql.log"),
                host=spec.get("host", "127.0.0.1"))
        return rec

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

    def payload_refusal(self, violations, package):
        """Google's JSON parser's 400 for a body the model does not allow: every unknown field
        and wrong type, each also a google.rpc.BadRequest field violation (types named in the
        API's `package`)."""
        found = []
        for v in violations:
            if v.kind == "unknown":
                at = google_field(v.path[:-1])
                found.append((at, f'Invalid JSON payload received. Unknown name "{v.path[-1]}" '
                                  f"at '{at}': Cannot find field."))
            else:
                at = google_field(v.path)
                found.append((at, f"Invalid value at '{at}' ({google_type(v.expected, package)}), "
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

    def request_body(self, body, schema, api):
        """The request body of a method of the API `api` ("v1", "v2") taking a `schema` (None:
        none, {}) and, when it is no JSON object or the model does not allow it, Google's 400
        (else None)."""
        if not schema:
            return {}, None
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            request = None
        if not isinstance(request, dict):
            return None, self.refusal(400, "INVALID_ARGUMENT", "Invalid JSON payload received. "
                                      "Unexpected token.", "invalid")
        violations = self.models[api].violations(request, schema)
        return request, (self.payload_refusal(violations, PACKAGES[api]) if violations else None)

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
        clusters.configure_instance(data, self.service_port, listen=address, **CONF)
        self.start_instance(rec, clusters.Cluster(
            data, bin_dir, self.service_port, major, ADMIN, admin_password,
            log_file=os.path.join(home, LOG_NAME), owned=True, host=address))
        self.note(f"{name}: creating the roles cloudsqlsuperuser and postgres (" +
                  ("with" if root_password else "without") + " a password)")
        rec["cluster"].query(bootstrap_sql(major, root_password), socket_only=True)
        with self.lock:
            rec.update(state="RUNNABLE", host=address)
        self.note(f"{name}: RUNNABLE at {address}:{self.service_port}")

    def start_instance(self, rec, cluster):
        """Starts the cluster of a new instance with the server settings of its flags (the
        instance's cluster from then on); a server that does not start fails the operation
        with the end of its log."""
        flags = instance_flags(rec)
        settings = server_settings(flags, self.gucs(cluster.bin_dir))
        ignored = sorted(set(flags) - set(settings) - {"cloudsql.logical_decoding"})
        self.note(f"{rec['name']}: starting on {cluster.host}:{cluster.port} with {settings}" +
                  (f" (flags that are no server setting: {ignored})" if ignored else ""))
        with self.lock:
            if self.closing.is_set():
                raise OperationFailure("INTERNAL_ERROR", "the double is stopping")
            rec["cluster"] = cluster
        try:
            cluster.start(settings)
        except RuntimeError as e:
            raise OperationFailure("INTERNAL_ERROR", f"{e}\n{log_tail(cluster.log_file)}".strip()) \
                from None

    def clone_cluster(self, source, rec):
        """instances.clone's work, as Google's "Clone instances" describes a clone: an
        independent copy of the source as it is now. A crash-consistent copy of the running
        source cluster, as a disk snapshot is (clusters.Cluster.crash_consistent_copy: its data,
        roles with their passwords, publications, subscriptions and logical replication slots),
        started at the source's major with the source's flags on the clone's own address: its
        startup is PostgreSQL's crash recovery ("redo done at ..."), in the clone's log. The
        double works on the clone as the source's admin user (the copy has no other)."""
        src = source["cluster"]
        address = self.free_address()
        home = self.cluster_home()
        data = os.path.join(home, "data")
        with self.lock:
            rec["dir"] = home
        self.note(f"{rec['name']}: crash-consistent copy of {source['name']} ({src.data_dir})")
        lsn = src.crash_consistent_copy(data, free_port(), self.closing, **CONF)
        self.note(f"{rec['name']}: the copy caught up to {lsn}")
        clusters.configure_instance(data, self.service_port, listen=address, **CONF)
        self.start_instance(rec, clusters.Cluster(
            data, src.bin_dir, self.service_port, src.major, src.user, src.password,
            log_file=os.path.join(home, LOG_NAME), owned=True, host=address))
        with self.lock:
            rec.update(state="RUNNABLE", host=address)
        self.note(f"{rec['name']}: RUNNABLE at {address}:{self.service_port}")

    def apply_settings(self, rec, settings):
        """instances.patch's work on settings: merged into the instance's, databaseFlags
        replacing its flags (the list is the whole set, as Google's "Configure database flags"
        says). When that changes the server's settings (cloudsql.logical_decoding is wal_level;
        a flag named like a server setting is that setting) the server is restarted with pg_ctl
        with them, as Cloud SQL restarts an instance for such flags; a seeded instance's cluster
        too (the test's own: what upgrade.allow_source_restart lets the product cause), its
        configuration files untouched (the settings are given to pg_ctl, which the test's next
        start of the cluster does not repeat). A server that does not start again is started
        with the flags it had, and the operation fails with the end of its log."""
        old = instance_flags(rec)
        with self.lock:
            rec["settings"] = dict(rec.get("settings") or {}, **settings)
        new = instance_flags(rec)
        cluster = rec.get("cluster")
        if cluster is None:
            self.note(f"{rec['name']}: settings patched (the double has no cluster to restart)")
            return
        gucs = self.gucs(cluster.bin_dir)
        before, after = server_settings(old, gucs), server_settings(new, gucs)
        if before == after:
            self.note(f"{rec['name']}: settings patched, no restart needed")
            return
        self.note(f"{rec['name']}: restarting {cluster.data_dir} with {after}")
        try:
            cluster.restart(after)
        except RuntimeError as e:
            failure = f"{e}\n{log_tail(cluster.log_file)}".strip()
            with self.lock:
                rec["settings"]["databaseFlags"] = [{"name": k, "value": v}
                                                    for k, v in sorted(old.items())]
            cluster.start(before)
            raise OperationFailure("INTERNAL_ERROR", failure) from None

    def upgrade_cluster(self, rec, target, version):
        """instances.patch's work on databaseVersion, Google's "Upgrade the database major
        version in-place": a pre-check (which refuses an instance with logical replication
        slots, leaving it as it was), then the upgrade proper (dump_and_restore), keeping the
        instance's name, address, port, roles and passwords, flags and log."""
        cluster = rec["cluster"]
        slots = [r[0] for r in self.run_sql(rec, "SELECT slot_name FROM pg_replication_slots "
                                            "WHERE slot_type = 'logical' ORDER BY 1")]
        if slots:
            raise OperationFailure(PRECHECK_FAILED, SLOTS_REFUSAL.format(", ".join(slots)))
        if cluster.major > clusters.DUMPALL_MAX_MAJOR:
            raise OperationFailure(
                "INTERNAL_ERROR", f"the Google double upgrades only from PostgreSQL "
                f"{clusters.DUMPALL_MAX_MAJOR} or older (it copies the data with Debian's "
                f"pg_dumpall {clusters.DUMPALL_MAX_MAJOR}); this instance runs {cluster.major}")
        final = self.dump_and_restore(rec, target)
        with self.lock:
            rec.update(cluster=final, major=target, database_version=version, state="RUNNABLE")
        self.note(f"{rec['name']}: upgraded to {version}")

    def dump_and_restore(self, rec, target):
        """The upgrade proper, as the AWS double upgrades (tests/aws_double/rds.py): Cloud SQL
        runs pg_upgrade, which needs the old major's pg_resetwal that the npm builds lack, so
        the data goes through Debian's pg_dumpall 15 (servers up to 15: 13 and 14 upgrade to 15
        and later, 15 to 16 and later). The old server, restarted on its socket only (clients
        see the downtime), is dumped and stopped; a new cluster of the target major (initdb
        with the same admin user, password and locale; the same pg_hba.conf, included files and
        flags) loads the dump and takes the old one's place at the same address and port,
        logging on in the same file. A failure puts the old cluster back, running. -> the new
        cluster, running."""
        old = rec["cluster"]
        home, data = rec["dir"], old.data_dir
        work, new_dir, saved = (os.path.join(home, n) for n in ("upgrade", "new", "old"))
        for d in (work, new_dir, saved):
            clusters.remove_dir(d)
        clusters.make_postgres_dir(work)
        bin_dir = self.bin_dirs[target]
        flags = instance_flags(rec)
        old_settings = server_settings(flags, self.gucs(old.bin_dir))
        new_settings = server_settings(flags, self.gucs(bin_dir))
        socket_only = {"listen_addresses": ""}

        def cluster(data_dir):
            return clusters.Cluster(data_dir, bin_dir, old.port, target, old.user, old.password,
                                    log_file=old.log_file, owned=True, host=old.host)
        new, swapped = cluster(new_dir), False
        try:
            old.restart(dict(old_settings, **socket_only))
            collate, ctype = old.query("SELECT datcollate, datctype FROM pg_database WHERE "
                                       "datname = 'template1'", socket_only=True)[0]
            dump = os.path.join(work, "dumpall.sql")
            clusters.dumpall(old, dump)
            old.stop("fast")
            self.note(f"{rec['name']}: pg_dumpall of PostgreSQL {old.major}: "
                      f"{os.path.getsize(dump)} bytes; initdb of {target} ({collate}, {ctype})")
            clusters.initdb(bin_dir, new_dir, old.user, old.password, collate, ctype, work)
            clusters.carry_config(data, new_dir)
            clusters.configure_instance(new_dir, old.port, listen=old.host, **CONF)
            new.start(dict(new_settings, **socket_only))
            clusters.restore_dump(new, dump, lambda line: self.note(f"{rec['name']}: {line}"))
            new.stop("fast")
            os.rename(data, saved)
            os.rename(new_dir, data)
            swapped = True
            clusters.configure_instance(data, old.port, listen=old.host, **CONF)
            final = cluster(data)
            final.start(new_settings)
        except BaseException:
            self.roll_back_upgrade(rec, old, bin_dir, swapped, old_settings)
            raise
        clusters.remove_dir(saved)
        clusters.remove_dir(work)
        return final

    def roll_back_upgrade(self, rec, old, bin_dir, swapped, old_settings):
        """A failed upgrade: the new cluster stopped and removed, the old one back in its place
        and running with its settings; when that fails too, the instance is FAILED."""
        home, data = rec["dir"], old.data_dir
        new_dir, saved = os.path.join(home, "new"), os.path.join(home, "old")
        try:
            for d in ((data, new_dir) if swapped else (new_dir,)):
                if os.path.exists(os.path.join(d, "postmaster.pid")):
                    self.stop_cluster(bin_dir, d)
            if swapped:
                clusters.remove_dir(data)
                os.rename(saved, data)
            clusters.remove_dir(new_dir)
            clusters.remove_dir(os.path.join(home, "upgrade"))
            if not self.closing.is_set():
                old.stop("fast")
                old.start(old_settings)
        except Exception as e:  # noqa: BLE001 - the instance is lost: FAILED says so
            self.note(f"{rec['name']}: rolling the upgrade back failed: {e}")
            with self.lock:
                rec["state"] = "FAILED"

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
        """One statement as the instance's admin user (cloudsqladmin on an instance the double
        created, the source's on a clone); the server's error as ERROR_RDBMS
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
        with self.lock:
            bin_dirs = {r["cluster"].major: r["cluster"].bin_dir
                        for r in self.instances.values() if r.get("owned") and r.get("cluster")}
        bin_dirs.update(self.bin_dirs)
        for pid_file in glob.glob(os.path.join(self.root, "*", "*", "postmaster.pid")):
            data_dir = os.path.dirname(pid_file)
            with open(os.path.join(data_dir, "PG_VERSION")) as f:
                bin_dir = bin_dirs[int(f.read().strip())]
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
        major = major_of(version)
        if major is None or self.bin_dir(major) is None:
            return self.invalid("Invalid database version.")
        with self.lock:
            rec, refused = self.new_instance(project, name, {
                "major": major, "region": request.get("region") or "us-central1",
                "database_version": version, "settings": settings})
            if refused:
                return refused
            op = self.new_operation(rec, "CREATE")
        return self.launch(op, rec, lambda: self.create_cluster(rec, request.get("rootPassword")),
                           lambda: self.set_state(rec, "FAILED"))

    def new_instance(self, project, name, fields):
        """(the record of a new instance with `fields`, PENDING_CREATE, None), or (None, the 409
        instanceAlreadyExists of a name used before in the project, even by a deleted instance,
        as Cloud SQL keeps names for a week). Call with the lock held."""
        if (project, name) in self.used_names:
            return None, self.refusal(
                409, "ALREADY_EXISTS", "The Cloud SQL instance already exists. When you delete "
                "an instance, you can't reuse the name of the deleted instance until one week "
                "from the deletion date.", "instanceAlreadyExists")
        self.used_names.add((project, name))
        rec = dict(fields, project=project, name=name, owned=True, state="PENDING_CREATE",
                   host=None, busy=None)
        self.instances[(project, name)] = rec
        return rec, None

    def set_state(self, rec, state):
        with self.lock:
            rec["state"] = state

    def clone_instance(self, params, query, request):
        """instances.clone (cloneContext.destinationInstanceName; the current state only, no
        point in time): a CLONE operation whose targetId is the new instance, as Google's
        "Clone instances" shows the answer, and, in the background, clone_cluster. The source
        must be RUNNABLE and its cluster known (a seeded instance: its data_dir and the other
        facts of the test's cluster)."""
        project = params["project"]
        context = request.get("cloneContext") or {}
        name = context.get("destinationInstanceName") or ""
        if not name:
            return self.invalid("Destination instance name is required.")
        other = sorted(set(context) - {"kind", "destinationInstanceName"})
        if other:
            return self.refusal(501, "UNIMPLEMENTED", "the double clones an instance as it is "
                                f"now, into the same project only (not {', '.join(other)})")
        with self.lock:
            source = self.instances.get((project, params["instance"]))
            if source is None:
                return self.not_found()
            if source.get("cluster") is None:
                return self.refusal(501, "UNIMPLEMENTED", "the double clones only instances "
                                    "whose cluster it knows (seed data_dir, bin_dir, port, "
                                    "major, admin_user and admin_password)")
            if source["busy"]:
                return self.in_progress()
            if source["state"] != "RUNNABLE":
                return self.invalid_state()
            rec, refused = self.new_instance(project, name, {
                k: copy.deepcopy(source[k]) for k in ("major", "region", "database_version",
                                                      "tier", "disk_gb", "flags", "settings")
                if k in source})
            if refused:
                return refused
            op = self.new_operation(rec, "CLONE")
        return self.launch(op, rec, lambda: self.clone_cluster(source, rec),
                           lambda: self.set_state(rec, "FAILED"))

    def patch_instance(self, params, query, request):
        """instances.patch of settings (an UPDATE operation: apply_settings) or of
        databaseVersion (a MAJOR_VERSION_UPGRADE operation: upgrade_cluster)."""
        with self.lock:
            rec = self.instances.get((params["project"], params["instance"]))
        if rec is None:
            return self.not_found()
        other = sorted(set(request) - {"kind", "name", "project", "settings",
                                       "databaseVersion"})
        if other:
            return self.refusal(501, "UNIMPLEMENTED", "the double patches settings and "
                                f"databaseVersion only (not {', '.join(other)})")
        version = request.get("databaseVersion")
        if version and version != rec["database_version"]:
            if request.get("settings"):
                return self.refusal(501, "UNIMPLEMENTED", "the double does not patch settings "
                                    "and databaseVersion together")
            return self.upgrade_request(rec, version)
        with self.lock:
            if rec["busy"]:
                return self.in_progress()
            if rec["state"] != "RUNNABLE":
                return self.invalid_state()
            op = self.new_operation(rec, "UPDATE")
        return self.launch(op, rec, lambda: self.apply_settings(rec, request.get("settings")
                                                                 or {}))

    def upgrade_request(self, rec, version):
        """instances.patch of databaseVersion: a higher POSTGRES_<major> the double has a server
        of, on an instance it made; the instance in MAINTENANCE while it is upgraded, RUNNABLE
        afterwards (upgraded, or as it was when the upgrade is refused or fails)."""
        target = major_of(version)
        if target is None or self.bin_dir(target) is None:
            return self.invalid("Invalid database version.")
        if target <= rec["major"]:
            return self.invalid(f"Cannot upgrade {rec['database_version']} to {version}: an "
                                "in-place upgrade goes to a higher major version.")
        if not rec["owned"]:
            return self.refusal(501, "UNIMPLEMENTED", "the double upgrades only the instances "
                                "it made (inserted or cloned)")
        with self.lock:
            if rec["busy"]:
                return self.in_progress()
            if rec["state"] != "RUNNABLE":
                return self.invalid_state()
            op = self.new_operation(rec, "MAJOR_VERSION_UPGRADE")
            rec["state"] = "MAINTENANCE"

        def ended():
            with self.lock:
                if rec["state"] == "MAINTENANCE":
                    rec["state"] = "RUNNABLE"
        return self.launch(op, rec, lambda: self.upgrade_cluster(rec, target, version), ended)

    def instance_logs(self):
        """[(project, instance, region, server log text)] of every instance with a log: the file
        the double's clusters log to, a seeded instance's log_file."""
        with self.lock:
            recs = list(self.instances.values())
        out = []
        for rec in recs:
            path = rec["cluster"].log_file if rec.get("cluster") else rec.get("log_file")
            if path and os.path.isfile(path):
                with open(path, errors="replace") as f:
                    out.append((rec["project"], rec["name"], rec.get("region", "us-central1"),
                                f.read()))
        return out

    def list_log_entries(self, params, query, request):
        """Cloud Logging's entries.list over the instances' PostgreSQL logs (cloud_logging)."""
        try:
            return 200, cloud_logging.list_entries(request, self.instance_logs()), \
                "ListLogEntriesResponse"
        except cloud_logging.FilterError as e:
            return self.refusal(400, "INVALID_ARGUMENT", str(e))

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
        """users.list: the instance's LOGIN roles but its admin user (Google's cloudsqladmin;
        on a clone of a seeded instance, the test's admin_user that stands in for it)."""
        rec, refused = self.created_instance(params)
        if refused:
            return refused
        if rec["state"] != "RUNNABLE":
            return self.invalid_state()
        rows = rec["cluster"].query("SELECT rolname FROM pg_roles WHERE rolcanlogin AND rolname "
                                    f"<> {literal(rec['cluster'].user)} ORDER BY 1",
                                    socket_only=True)
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
        ("PATCH", T_INSTANCE): (patch_instance, "DatabaseInstance"),
        ("DELETE", T_INSTANCE): (delete_instance, None),
        ("POST", T_CLONE): (clone_instance, "InstancesCloneRequest"),
        ("POST", T_USERS): (insert_user, "User"),
        ("PUT", T_USERS): (update_user, "User"),
        ("GET", T_USERS): (list_users, None),
        ("GET", T_OPERATION): (get_operation, None),
        ("POST", T_ENTRIES_LIST): (list_log_entries, "ListLogEntriesRequest"),
    }
    API_NAMES = {"v1": "sqladmin", "v2": "logging"}

    def injected_api_failure(self, verb, path):
        """The seed's sqladmin_failures: Google's 503, or 429 (RESOURCE_EXHAUSTED, its quota
        answer), for that many Admin API calls; else None."""
        with self.lock:
            fail = self.sqladmin_failures_left > 0
            self.sqladmin_failures_left -= int(fail)
        if not fail:
            return None
        status = int(self.seed.get("sqladmin_failure_status", 503))
        self.note(f"sqladmin {verb} {path} {status} (injected)")
        if status == 429:
            return self.google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota "
                                     "metric 'Queries' and limit 'Queries per minute'.",
                                     "rateLimitExceeded")
        return self.google_error(503, "UNAVAILABLE", "The service is currently unavailable.")

    def google_api(self, verb, path, headers, body=b""):
        """A call of the Admin API (/v1/...) or of Cloud Logging (/v2/...), on one endpoint as
        the product configures them: a token this double issued, a route of the API's model, a
        body the model allows, an answer checked against it."""
        api = path.split("/")[1] if path.count("/") > 1 else ""
        if api not in self.API_NAMES:
            return self.google_error(404, "NOT_FOUND", f"Method not found: {verb} {path}")
        name = self.API_NAMES[api]
        auth = headers.get("Authorization", "")
        with self.lock:
            known = auth.startswith("Bearer ") and auth[len("Bearer "):] in self.issued
        if not known:
            self.note(f"{name} {verb} {path} 401")
            return self.google_error(
                401, "UNAUTHENTICATED", "Request had invalid authentication credentials. "
                "Expected OAuth 2 access token, login cookie or other valid authentication "
                "credential.")
        model = self.models[api]
        if model is None:
            return self.google_error(501, "UNIMPLEMENTED", f"the double has no model of the "
                                     f"{name} API: run scripts/install-deps.sh (it fetches "
                                     f"@googleapis/{name})")
        url = urllib.parse.urlsplit(path)
        template = model.route(verb, url.path)
        if template is None:
            return self.google_error(404, "NOT_FOUND", f"Method not found: {verb} {path}")
        injected = self.injected_api_failure(verb, path) if api == "v1" else None
        if injected:
            return injected
        params = {t[1:-1]: urllib.parse.unquote(p) for t, p in
                  zip(template.split("/"), url.path.split("/")) if t.startswith("{")}
        method, request_schema = self.ROUTES.get((verb, template), (None, None))
        if method is None:
            status, answer, schema = self.refusal(501, "UNIMPLEMENTED",
                                                  f"the double does not serve {verb} {template}")
        else:
            request, refused = self.request_body(body, request_schema, api)
            status, answer, schema = refused or method(
                self, params, urllib.parse.parse_qs(url.query), request)
        if schema:
            problems = model.problems(answer, schema)
            if problems:
                self.note(f"{name} {verb} {path} 500 answer off the model: {problems}")
                return self.google_error(500, "INTERNAL",
                                         "the double's answer is off the published model: " +
                                         "; ".join(problems))
        self.note(f"{name} {verb} {path} {status}")
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
            elif self.path.startswith(("/v1/", "/v2/")):
                self.reply(*double.google_api("POST", self.path, self.headers, body))
            else:
                self.reply(404, {"error": "not found"})

        def do_GET(self):
            if self.path.split("?")[0] == METADATA_TOKEN:
                self.reply(*double.metadata(self.headers))
            elif self.path.startswith("/v1/"):
                self.reply(*double.google_api("GET", self.path, self.headers))
            else:
                self.reply(404, {"error": "not found"})

        def do_PUT(self):
            self.reply(*double.google_api("PUT", self.path, self.headers, self.body()))

        def do_PATCH(self):
            self.reply(*double.google_api("PATCH", self.path, self.headers, self.body()))

        def do_DELETE(self):
            self.reply(*double.google_api("DELETE", self.path, self.headers, self.body()))

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
