#!/usr/bin/python3
"""A local AWS endpoint for tests: RDS (Query API 2014-10-31), STS, KMS and EC2, faithful to
the public wire formats (checked against botocore's service models), whose RDS instances are
real PostgreSQL clusters on loopback ports.

    /usr/bin/python3 tests/aws_double/rds_double.py --seed SEED.json --workdir DIR \
        [--port 0] --ready-file FILE

Writes {"endpoint": "http://127.0.0.1:PORT"} to FILE once listening. Requests are routed by the
service of the SigV4 credential scope; every signature is recomputed and checked. Requests
are logged (no parameters that may hold secrets) to DIR/double.log. On SIGTERM/SIGINT/exit
every cluster the double created is stopped (immediate) and its directory removed; seeded
clusters are never stopped for good or changed on disk (RebootDBInstance restarts them).

SEED (JSON; every key optional except where noted):
{
  "account_id": "123456789012", "region": "us-east-1",
  "credentials": [{"access_key": "AKIA...", "secret": "...", "session_token": null,
                   "expired": false, "arn": "arn:aws:iam::123456789012:user/tester"}],
  "roles": {"arn:aws:iam::123456789012:role/relocate": true},       # AssumeRole* allowed
  "web_identity_tokens": ["token-the-test-wrote"],                  # AssumeRoleWithWebIdentity
  "instances": [{                                                   # clusters the TEST started
      "id": "src", "host": "127.0.0.1", "port": 5432,               # required: id, port,
      "data_dir": "/tmp/x/data", "bin_dir": "/usr/lib/postgresql/15/bin", "major": 15,
      "log_file": "/tmp/x/postgresql.log",        # default: DATA_DIR/log/postgresql.log
      "admin_user": "ops", "admin_password": "secret",   # superuser for pg_basebackup
      "snapshot_mode": "backup",                  # this instance's snapshots (default: the seed's)
      "engine_version": "15.18", "instance_class": "db.r6g.large", "storage_type": "gp3",
      "allocated_storage": 100, "iops": 3000, "storage_throughput": 125,
      "parameter_group": "src-params", "subnet_group": "sn", "vpc_id": "vpc-1",
      "security_groups": ["sg-1"], "encrypted": true, "kms_key_id": "alias/aws/rds",
      "ca_identifier": "rds-ca-rsa2048-g1", "multi_az": false, "master_username": "ops",
      "read_replica_ids": []}],
  "parameter_groups": [{"name": "src-params", "family": "postgres15",
                        "parameters": {"rds.logical_replication": "1",
                                       "max_wal_senders": {"value": "20", "apply_type": "static"}}}],
  "subnet_groups": [{"name": "sn", "vpc_id": "vpc-1",
                     "subnets": ["subnet-1", {"id": "subnet-2", "az": "us-east-1b"}]}],
  "vpcs": [{"id": "vpc-1", "cidr": "10.0.0.0/16"}],
  "security_groups": [{"id": "sg-1", "vpc_id": "vpc-1", "name": "db"}],
  "kms_keys": [{"id": "1234abcd-...", "arn": "arn:aws:kms:...:key/1234abcd-...",
                "aliases": ["alias/aws/rds"]}],
  "engine_versions": [{"version": "15.18", "family": "postgres15",
                       "valid_upgrade_targets": [{"version": "15.19", "is_major": false},
                                                 {"version": "16.9", "is_major": true}]}],
  "orderable_options": [{"engine_version": "15.18", "instance_class": "db.r6g.large",
                         "storage_types": ["gp3"]}],
  "certificates": ["rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1"],
  "faults": [{"action": "DescribeDBSnapshots", "code": "Throttling", "status": 400,
              "message": "Rate exceeded", "times": 3}],
  "timings": {"snapshot_seconds": 0,     # the least time a snapshot stays "creating"
              "upgrade_seconds": 0},     # the least time an engine upgrade stays "upgrading"
  "bin_dirs": {"13": "/path/13/bin", "17": "/path/17/bin"},  # initdb/pg_ctl/postgres per major
                          # for clusters made by upgrades (default: Debian's 15 for 15, else the
                          # bin_dir of a seeded instance of that major)
  "upgrade_faults": {"restored": "Postgres cluster is in a state where pg_upgrade can not be "
                                 "completed successfully"}  # or {"message": ..., "times": 1}:
                          # the instance's major upgrades fail after the pre-check (rolled back)
  "snapshot_mode": "crash",   # or "backup": how CreateDBSnapshot copies (see Snapshots below)
  "snapshot_upgrade_faults": {          # major-version ModifyDBSnapshot; each: true (every
                                        # snapshot) or a list of snapshot ids
      "logs_not_kept": ["snap-a"],      # the upgrade host's logs are not kept: a restore shows
                                        # only the new major's own log lines
      "upgrade_fails": true}            # the upgrade fails: the snapshot stays at its version,
                                        # available again, with a failure event
}
A parameter is "value" or {"value", "source" (user | engine-default | system), "apply_type"
(static | dynamic; default from rds.STATIC_PARAMETERS), "data_type", "allowed_values",
"description"}. Parameter-group values reach the real server (as -c options when the double
starts or reboots it) only for rds.logical_replication (-> wal_level) and clusters.APPLIED_GUCS.

Snapshots. "crash" (the default) is crash-consistent, as RDS's EBS snapshot of the volume: a
streaming standby of the instance (a base copy as below, with standby.signal and
primary_conninfo), caught up to the instance's pg_current_wal_flush_lsn() read once the base
copy is made (after the instance commits one empty transaction, as RDS's own writes on an idle
instance do), stopped with pg_ctl -m immediate, then made a primary again. Its LSNs are the
instance's, and a restore runs crash recovery: "redo starts at", then the end of the WAL it
received, X, between the instance's WAL positions before CreateDBSnapshot and once it is
available ("invalid record length at X: wanted 24, got 0", on 16+ "... expected at least 24,
got 0"; where a recycled segment lies past it, as the low-level copy of 16+ may hold, "record
with incorrect prev-link ... at X"; a page-boundary line such as "invalid magic number 0000 in
log segment ..., offset N" when that WAL ends inside a record, as it mostly does under
synchronous_commit = off and a busy writer), then "redo done at". "backup" is an
online base backup (pg_basebackup -X stream up to 15, the low-level backup API for 16+), whose
restore logs backup recovery ("starting backup recovery with redo LSN ..."; 13 and 14 say only
"consistent recovery state reached at"). Either holds the
instance's replication slots: their state files as on disk when the copy is taken (a standby
has no copy of them), so that a restore still has the WAL they retain.

Statuses: CreateDBSnapshot/CopyDBSnapshot creating -> available (PercentProgress rises over
timings.snapshot_seconds); ModifyDBSnapshot to a minor version: upgrading -> available after
1 s, the data unchanged; to another major (a valid_upgrade_targets entry, else
InvalidParameterValue "Cannot upgrade postgres from X to Y"; bin_dirs of both majors):
upgrading at once (at least timings.upgrade_seconds), then in the background the snapshot's data
is started on its own major (a real crash or backup recovery, written by that server to its
log/error/postgresql.log.<YYYY-MM-DD-HH>, which the snapshot keeps), dumped and stopped, and
loaded into a new cluster of the target major as in ModifyDBInstance (Debian's pg_dumpall 15:
snapshots of up to 15; no slots, new WAL); the snapshot becomes that cluster at the new
EngineVersion (its restores use a parameter group of the new family: the instance's if it is
one, else default.postgresNN). A restore of it serves the old server's log file (its recovery,
"starting PostgreSQL <old>") and the new server's own start-up lines (a clean start, no
recovery), in one file when both fall in the same hour. A failure leaves the snapshot unchanged
and available. Events (SourceType db-snapshot, category notification; the double's wording):
"The engine version upgrade of the DB snapshot started: X to Y.", "... finished: X to Y.", or
"... failed: X to Y. The snapshot was rolled back to X: <reason>".
Restore/CreateDBInstanceReadReplica creating -> available once the server accepts connections;
RebootDBInstance rebooting -> available; DeleteDBInstance deleting -> gone (404).

ModifyDBInstance EngineVersion follows RDS's rules (a valid_upgrade_targets entry; for another
major AllowMajorVersionUpgrade and a parameter group of the target's family, a default.postgresNN
group moving to the new default). Without ApplyImmediately it stays in PendingModifiedValues.
With it the instance is "upgrading" (at least timings.upgrade_seconds), and only for instances
the double created (restored; not replicas or their sources; seeded ones are refused):
  minor: a restart.  major: RDS's pre-check on the server (logical replication slots, prepared
  transactions) refuses with event RDS-EVENT-0158 and error/pg_upgrade_precheck.log.<hour>,
  changing nothing; else a dump (Debian's pg_dumpall 15, so old majors up to 15) restored into
  a new cluster of the target major (bin_dirs) with the same superuser, password, locale,
  pg_hba.conf, included config files and port, started with the target group's settings: same
  databases, roles, rows and sequences, no slots, new WAL and system identifier. Any failure
  rolls back to the old cluster and version (events 0158 with the reason, then 0270).
DescribeEvents lists the events of instances and snapshots (RDS's documented texts).
"""
import argparse
import atexit
import datetime
import glob
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import clusters  # noqa: E402
import protocol  # noqa: E402
from ec2 import Ec2  # noqa: E402
from kms import Kms  # noqa: E402
from protocol import Fault  # noqa: E402
from rds import Rds  # noqa: E402
from sts import Credentials, Sts  # noqa: E402

VERSIONS = {"2014-10-31": "rds", "2011-06-15": "sts", "2016-11-15": "ec2"}
UNSIGNED_ACTIONS = {("sts", "AssumeRoleWithWebIdentity")}
SKEW = datetime.timedelta(minutes=15)
LOGGED_PARAMS = ("Identifier", "Name", "EngineVersion", "Marker", "KeyId", "RoleArn")

# Authentication failures as each service reports them: (code, HTTP status).
AUTH_ERRORS = {
    "query": {"unknown": ("InvalidClientTokenId", 403), "mismatch": ("SignatureDoesNotMatch", 403),
              "expired": ("ExpiredToken", 403), "skew": ("SignatureDoesNotMatch", 403),
              "missing": ("MissingAuthenticationToken", 403)},
    "ec2": {"unknown": ("AuthFailure", 401), "mismatch": ("SignatureDoesNotMatch", 403),
            "expired": ("RequestExpired", 400), "skew": ("RequestExpired", 400),
            "missing": ("MissingAuthenticationToken", 401)},
    "json": {"unknown": ("UnrecognizedClientException", 400),
             "mismatch": ("InvalidSignatureException", 400),
             "expired": ("ExpiredTokenException", 400), "skew": ("InvalidSignatureException", 400),
             "missing": ("MissingAuthenticationTokenException", 400)},
}
AUTH_MESSAGES = {
    "unknown": "The security token included in the request is invalid.",
    "mismatch": "The request signature we calculated does not match the signature you "
                "provided. Check your AWS Secret Access Key and signing method. Consult the "
                "service documentation for details.",
    "expired": "The security token included in the request is expired",
    "missing": "Request is missing Authentication Token",
}


class Double:
    def __init__(self, seed, workdir):
        self.workdir = workdir
        self.log_lock = threading.Lock()
        self.log_path = os.path.join(workdir, "double.log")
        self.creds = Credentials(seed)
        self.rds = Rds(seed, workdir, self.log)
        self.sts = Sts(seed, self.creds)
        self.kms = Kms(seed)
        self.ec2 = Ec2(seed)
        self.faults = [dict(f, left=f.get("times", 1)) for f in seed.get("faults", [])]
        self.fault_lock = threading.Lock()

    def log(self, line):
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with self.log_lock, open(self.log_path, "a") as f:
            f.write(f"{stamp} {line}\n")

    def injected_fault(self, action):
        with self.fault_lock:
            for f in self.faults:
                if f["action"] == action and f["left"] != 0:
                    f["left"] -= 1
                    return Fault(f.get("code", "Throttling"), f.get("message", "Rate exceeded"),
                                 status=f.get("status", 400))
        return None

    def authenticate(self, auth, headers, method, url, body):
        """The caller's key record, or (kind of auth failure, message)."""
        key = self.creds.lookup(auth["access_key"])
        if key is None:
            return None, ("unknown", AUTH_MESSAGES["unknown"])
        if key["token"] and headers.get("X-Amz-Security-Token") != key["token"]:
            return None, ("unknown", AUTH_MESSAGES["unknown"])
        stamp = headers.get("X-Amz-Date", "")
        try:
            when = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.timezone.utc)
        except ValueError:
            return None, ("mismatch", AUTH_MESSAGES["mismatch"])
        now = datetime.datetime.now(datetime.timezone.utc)
        if abs(now - when) > SKEW:
            fmt = "%Y%m%dT%H%M%SZ"
            return None, ("skew", f"Signature expired: {stamp} is now earlier than "
                          f"{(now - SKEW).strftime(fmt)} ({now.strftime(fmt)} - 15 min.)"
                          if when < now else f"Signature not yet current: {stamp} is still "
                          f"later than {(now + SKEW).strftime(fmt)} ({now.strftime(fmt)} + 15 min.)")
        expected, _ = protocol.expected_signature(auth, key["secret"], method, url, headers, body)
        if not protocol.signatures_match(expected, auth["signature"]):
            return None, ("mismatch", AUTH_MESSAGES["mismatch"])
        if self.creds.is_expired(key):
            return None, ("expired", AUTH_MESSAGES["expired"])
        return key, None

    def handle(self, method, path, headers, body):
        """-> (status, content_type, body bytes, request id, summary for the log)."""
        rid = protocol.request_id()
        auth = protocol.parse_authorization(headers.get("Authorization"))
        target = headers.get("X-Amz-Target", "")
        if target.startswith("TrentService.") or (auth and auth["service"] == "kms"):
            service, action, form = "kms", target.removeprefix("TrentService."), None
        else:
            query = urlsplit(path).query
            text = body.decode("utf-8", errors="replace") if method == "POST" else query
            form = dict(parse_qsl(text, keep_blank_values=True))
            action = form.get("Action", "")
            # Unsigned: only the API version tells the services apart.
            service = auth["service"] if auth else VERSIONS.get(form.get("Version"), "sts")
        style = {"kms": "json", "ec2": "ec2"}.get(service, "query")
        try:
            if service not in ("rds", "sts", "kms", "ec2"):
                raise Fault("InvalidAction", f"The local double does not serve {service}", 400)
            fault = self.injected_fault(action)
            if fault:
                raise fault
            caller = None
            if auth is None:
                if (service, action) not in UNSIGNED_ACTIONS:
                    kind = "missing"
                    raise Fault(*_auth_fault(style, kind, AUTH_MESSAGES[kind]))
            else:
                url = protocol.url_of(headers.get("Host", "127.0.0.1"), path)
                caller, failure = self.authenticate(auth, headers, method, url, body)
                if failure:
                    raise Fault(*_auth_fault(style, *failure))
            result, op = self.dispatch(service, action, form, body, caller)
            if style == "json":
                out = protocol.json_response(op, result)
            elif style == "ec2":
                out = protocol.ec2_response(op, result, rid)
            else:
                out = protocol.query_response(service, op, result, rid)
            status, code = 200, "OK"
        except Fault as f:
            status = f.status or protocol.error_status(service, f.code)
            code = f.code
            out = _error_body(style, service, f, rid)
        except Exception as e:  # noqa: BLE001 - a bug in the double: an AWS-shaped 500
            self.log(f"internal error in {service}.{action}: {e!r}")
            status, code = 500, "InternalFailure"
            f = Fault("InternalFailure", "The request processing has failed because of an "
                      "unknown error, exception or failure.", 500, sender=False)
            out = _error_body(style, service, f, rid)
        ctype = "application/x-amz-json-1.1" if style == "json" else "text/xml"
        summary = f"{service}.{action} {status} {code} {_loggable(form, body, style)}"
        return status, ctype, out.encode(), rid, summary

    def dispatch(self, service, action, form, body, caller):
        if service == "kms":
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                raise Fault("SerializationException", "Malformed JSON body")
            op = protocol.model("kms").operation_model(action) if action in protocol.model(
                "kms").operation_names else None
            if op is None:
                raise Fault("UnknownOperationException", f"Unknown operation {action}")
            protocol.validate(op.input_shape, params)
            handler = getattr(self.kms, action, None)
            if handler is None:
                raise Fault("UnsupportedOperationException", f"{action} is not supported by the double")
            return handler(params), op
        op, params = protocol.parse_input(service, action, form)
        target = {"rds": self.rds, "sts": self.sts, "ec2": self.ec2}[service]
        handler = getattr(target, action, None)
        if handler is None:
            raise Fault("InvalidAction", f"The action {action} is not implemented by the local "
                        "AWS double.")
        if service == "sts":
            return handler(params, caller), op
        if action == "RestoreDBInstanceFromDBSnapshot":
            return handler(params, form), op
        return handler(params), op

    def cleanup(self):
        """Stops every cluster the double created and removes its files (idempotent)."""
        self.rds.close()
        with self.rds.lock:
            owned = [i for i in self.rds.instances.values() if i.get("owned")]
        for inst in owned:
            if inst.get("cluster"):
                inst["cluster"].stop("immediate")
        # Clusters whose creation (or upgrade, or a snapshot's standby or upgrade) was still
        # under way when we were told to stop.
        for pid_file in glob.glob(os.path.join(self.rds.root, "**", "postmaster.pid"),
                                  recursive=True):
            data_dir = os.path.dirname(pid_file)
            try:
                with open(os.path.join(data_dir, "PG_VERSION")) as f:
                    major = int(f.read().strip())
            except (OSError, ValueError):
                major = 15
            bin_dir = self.rds.bin_dir(major) or clusters.DEBIAN_BIN
            clusters.run([f"{bin_dir}/pg_ctl", "-D", data_dir, "-m", "immediate", "stop"],
                         check=False, timeout=60)
        clusters.remove_dir(self.rds.root)


def _auth_fault(style, kind, message):
    code, status = AUTH_ERRORS[style][kind]
    return code, message, status


def _error_body(style, service, fault, rid):
    """An error in the wire format of the service's protocol."""
    if style == "json":
        return protocol.json_error(fault)
    if style == "ec2":
        return protocol.ec2_error(fault, rid)
    return protocol.query_error(service, fault, rid)


def _loggable(form, body, style):
    if style == "json":
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            return ""
    else:
        params = form or {}
    keep = {k: v for k, v in params.items()
            if isinstance(v, (str, int)) and any(k.endswith(s) for s in LOGGED_PARAMS)}
    return json.dumps(keep, sort_keys=True)


def make_handler(double):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k: v for k, v in self.headers.items()}
            status, ctype, out, rid, summary = double.handle(self.command, self.path, headers, body)
            double.log(summary)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(out)))
            self.send_header("x-amzn-RequestId", rid)
            self.end_headers()
            self.wfile.write(out)

        do_POST = _serve
        do_GET = _serve

        def log_message(self, *args):
            pass

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
    double = Double(seed, os.path.abspath(args.workdir))
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(double))
    server.daemon_threads = True
    done = threading.Event()

    def finish():
        if not done.is_set():
            done.set()
            double.cleanup()
    atexit.register(finish)

    def on_signal(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    tmp = args.ready_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"endpoint": endpoint}, f)
    os.replace(tmp, args.ready_file)
    double.log(f"listening on {endpoint}")
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        finish()
        double.log("stopped")


if __name__ == "__main__":
    main()
