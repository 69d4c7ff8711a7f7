#!/usr/bin/python3
"""Faithfulness test of the AWS double: a real botocore client (its own serializers, parsers and
error handling) drives every action against a double whose source instance is a real
PostgreSQL 15 cluster started here. Run with /usr/bin/python3 (Debian's botocore)."""
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
import warnings

import botocore.session
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PSQL = "/usr/lib/postgresql/15/bin/psql"
BIN15 = "/usr/lib/postgresql/15/bin"
REGION, ACCOUNT = "eu-west-1", "111122223333"
AK, SECRET = "AKIADOUBLETEST000001", "double-secret-key"
EXPIRED_AK = "AKIADOUBLEEXPIRED001"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/relocate"
WEB_TOKEN = "web-identity-token-of-the-test"
KEY_ID = "0b7e1c6e-1111-2222-3333-444455556666"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}"
RECOVERY_LINES = ("redo done at", "invalid record length", "consistent recovery state")


def lsn(text):
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


LSN = r"([0-9A-F]+/[0-9A-F]+)"
# End-of-WAL lines that name the start of the record the reader stopped at (past the WAL the
# copy received lie zeros, or the old WAL of a recycled segment on 16+, whose low-level copy
# takes every file of pg_wal as a volume snapshot does).
RECORD_START_LINES = (rf"invalid record length at {LSN}: ", rf"record with incorrect prev-link "
                      rf"[0-9A-F]+/[0-9A-F]+ at {LSN}", rf"invalid resource manager ID \d+ at {LSN}",
                      rf"incorrect resource manager data checksum in record at {LSN}")


def end_of_wal(text, major, zeros_only=True):
    """The X of every "invalid record length at X: wanted 24, got 0" line (16+: "expected at
    least 24"), or with zeros_only=False of any line of RECORD_START_LINES."""
    wording = "expected at least 24" if major >= 16 else "wanted 24"
    if zeros_only:
        return re.findall(rf"invalid record length at {LSN}: {wording}, got 0", text)
    found = [x for line in RECORD_START_LINES for x in re.findall(line, text)]
    other = "wanted" if major >= 16 else "expected at least"
    if f": {other} " in text:
        raise AssertionError(f"the other majors' wording in a PostgreSQL {major} log:\n{text}")
    return found


class SignedAt(SigV4Auth):
    """SigV4 with a chosen X-Amz-Date (botocore's add_auth always signs 'now')."""

    def __init__(self, credentials, service, region, stamp):
        super().__init__(credentials, service, region)
        self.stamp = stamp

    def add_auth(self, request):
        request.context["timestamp"] = self.stamp
        self._modify_request_before_signing(request)
        canonical = self.canonical_request(request)
        signature = self.signature(self.string_to_sign(request, canonical), request)
        self._inject_signature_to_request(request, signature)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(port, sql, password="secret", db="postgres", user="ops"):
    env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="5")
    out = subprocess.run([PSQL, "-X", "-At", "-h", "127.0.0.1", "-p", str(port), "-U", user,
                          "-d", db, "-c", sql], env=env, capture_output=True, text=True,
                         timeout=60)
    if out.returncode != 0:
        raise AssertionError(f"psql on {port} failed: {out.stderr}")
    return out.stdout.strip()


def seed_for(tmp, port, major, bin_dir):
    version = {15: "15.18", 16: "16.9"}.get(major, f"{major}.1")
    return {
        "account_id": ACCOUNT, "region": REGION,
        "credentials": [{"access_key": AK, "secret": SECRET},
                        {"access_key": EXPIRED_AK, "secret": "s", "session_token": "tok",
                         "expired": True}],
        "roles": {ROLE: True},
        "web_identity_tokens": [WEB_TOKEN],
        "instances": [{
            "id": "src", "host": "127.0.0.1", "port": port,
            "data_dir": os.path.join(tmp, "src"), "bin_dir": bin_dir, "major": major,
            "log_file": os.path.join(tmp, "src", "log", "postgresql.log"),
            "engine_version": version, "instance_class": "db.r6g.large", "storage_type": "gp3",
            "allocated_storage": 100, "iops": 3000, "storage_throughput": 125,
            "parameter_group": "src-params", "subnet_group": "sn", "vpc_id": "vpc-1",
            "security_groups": ["sg-1"], "encrypted": True, "kms_key_id": "alias/aws/rds",
            "ca_identifier": "rds-ca-rsa2048-g1", "multi_az": False, "master_username": "ops"}],
        "parameter_groups": [
            {"name": "src-params", "family": "postgres15",
             "parameters": dict({"rds.logical_replication": "1"},
                                **{f"custom.p{i:02d}": str(i) for i in range(30)})},
            {"name": "new-params", "family": "postgres15",
             "parameters": {"rds.logical_replication": "0", "max_wal_senders": "10"}},
            {"name": "p17", "family": "postgres17", "parameters": {}}],
        "subnet_groups": [{"name": "sn", "vpc_id": "vpc-1", "subnets": ["subnet-1", "subnet-2"]}],
        "vpcs": [{"id": "vpc-1", "cidr": "10.0.0.0/16"}, {"id": "vpc-2", "cidr": "10.1.0.0/16"}],
        "security_groups": [{"id": "sg-1", "vpc_id": "vpc-1"}, {"id": "sg-2", "vpc_id": "vpc-2"}],
        "kms_keys": [{"id": KEY_ID, "arn": KEY_ARN, "aliases": ["alias/aws/rds"]},
                     {"id": "cmk-2", "aliases": ["alias/relocate"]}],
        "engine_versions": [
            {"version": "15.18", "family": "postgres15",
             "valid_upgrade_targets": [{"version": "15.19", "is_major": False},
                                       {"version": "16.9", "is_major": True}]},
            {"version": "16.9", "family": "postgres16",
             "valid_upgrade_targets": [{"version": "17.5", "is_major": True}]}],
        "orderable_options": [{"engine_version": "15.18", "instance_class": "db.r6g.large"},
                              {"engine_version": "16.9", "instance_class": "db.r6g.large"}],
        "faults": [{"action": "DescribeDBSnapshots", "code": "Throttling", "status": 400,
                    "message": "Rate exceeded", "times": 3}],
        "timings": {"snapshot_seconds": 2},
    }


class DoubleBase(unittest.TestCase):
    MAJOR = 15

    @classmethod
    def setUpClass(cls):
        warnings.simplefilter("ignore", ResourceWarning)  # botocore keeps its connections
        bin_dir = subprocess.run([f"{REPO}/scripts/pg-bin.sh", str(cls.MAJOR)],
                                 capture_output=True, text=True)
        if bin_dir.returncode != 0:
            raise unittest.SkipTest(f"no PostgreSQL {cls.MAJOR}: {bin_dir.stderr.strip()}")
        cls.tmp = tempfile.mkdtemp(prefix="rds-double-test-")
        os.chmod(cls.tmp, 0o755)
        cls.src_port = free_port()
        subprocess.run([f"{REPO}/scripts/pg-cluster.sh", "start", str(cls.MAJOR),
                        os.path.join(cls.tmp, "src"), str(cls.src_port)],
                       check=True, capture_output=True)
        psql(cls.src_port, "CREATE TABLE t(id int primary key, v text); "
                           "INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 100) g")
        seed_path = os.path.join(cls.tmp, "seed.json")
        with open(seed_path, "w") as f:
            json.dump(cls.seed(seed_for(cls.tmp, cls.src_port, cls.MAJOR, bin_dir.stdout.strip())), f)
        cls.workdir = os.path.join(cls.tmp, "double")
        ready = os.path.join(cls.tmp, "ready.json")
        cls.proc = subprocess.Popen([sys.executable, f"{HERE}/rds_double.py", "--seed", seed_path,
                                     "--workdir", cls.workdir, "--ready-file", ready])
        deadline = time.time() + 30
        while not os.path.exists(ready):
            if time.time() > deadline or cls.proc.poll() is not None:
                raise RuntimeError("the double did not start")
            time.sleep(0.1)
        with open(ready) as f:
            cls.endpoint = json.load(f)["endpoint"]
        cls.rds = cls.client("rds")

    @classmethod
    def seed(cls, seed):
        return seed

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(timeout=120)
        leftovers = subprocess.run(["pgrep", "-f", cls.workdir], capture_output=True, text=True)
        subprocess.run([f"{REPO}/scripts/pg-cluster.sh", "stop", str(cls.MAJOR),
                        os.path.join(cls.tmp, "src")], capture_output=True)
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert leftovers.stdout.strip() == "", f"postgres of the double left: {leftovers.stdout}"

    @classmethod
    def client(cls, service, ak=AK, secret=SECRET, token=None, unsigned=False):
        config = Config(retries={"total_max_attempts": 1},
                        signature_version=UNSIGNED if unsigned else None)
        return botocore.session.get_session().create_client(
            service, endpoint_url=cls.endpoint, region_name=REGION, aws_access_key_id=ak,
            aws_secret_access_key=secret, aws_session_token=token, config=config)

    def assertCode(self, code, fn, *args, **kwargs):
        with self.assertRaises(ClientError) as ctx:
            fn(*args, **kwargs)
        self.assertEqual(ctx.exception.response["Error"]["Code"], code, ctx.exception.response)
        return ctx.exception.response

    def double_log(self):
        with open(os.path.join(self.workdir, "double.log")) as f:
            return "double.log ends with:\n" + "".join(f.readlines()[-15:])

    def wait_instance(self, ident, status="available", timeout=180):
        deadline = time.time() + timeout
        while time.time() < deadline:
            inst = self.rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]
            if inst["DBInstanceStatus"] == status:
                return inst
            self.assertNotEqual(inst["DBInstanceStatus"], "failed", self.double_log())
            time.sleep(0.3)
        self.fail(f"{ident} never became {status}")

    def wait_snapshot(self, ident, timeout=180):
        seen = set()
        deadline = time.time() + timeout
        while time.time() < deadline:
            snap = self.rds.describe_db_snapshots(DBSnapshotIdentifier=ident)["DBSnapshots"][0]
            seen.add((snap["Status"], snap["PercentProgress"]))
            if snap["Status"] == "available":
                return snap, seen
            self.assertNotEqual(snap["Status"], "failed", self.double_log())
            time.sleep(0.3)
        self.fail(f"snapshot {ident} never became available")

    def events(self, ident, source_type="db-instance", **kwargs):
        return [e["Message"] for e in self.rds.describe_events(
            SourceType=source_type, SourceIdentifier=ident, **kwargs)["Events"]]

    def raw(self, service, form, secret=SECRET, age=datetime.timedelta(0)):
        """A SigV4-signed form POST signed `age` ago; returns (status, body)."""
        body = "&".join(f"{k}={v}" for k, v in form.items()).encode()
        req = AWSRequest("POST", self.endpoint + "/", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        stamp = (datetime.datetime.utcnow() - age).strftime("%Y%m%dT%H%M%SZ")
        SignedAt(Credentials(AK, secret), service, REGION, stamp).add_auth(req)
        http = urllib.request.Request(self.endpoint + "/", data=body, headers=dict(req.headers),
                                      method="POST")
        try:
            with urllib.request.urlopen(http) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def src_lsn(self):
        return psql(self.src_port, "SELECT pg_current_wal_lsn()")

    def log_text(self, ident):
        """(names of the instance's log files, their text in name order) via the API."""
        files = self.rds.describe_db_log_files(DBInstanceIdentifier=ident)["DescribeDBLogFiles"]
        names = [f["LogFileName"] for f in files]
        return names, "".join(self.rds.download_db_log_file_portion(
            DBInstanceIdentifier=ident, LogFileName=n, Marker="0")["LogFileData"] for n in names)

    def assertCrashRecoveryEndsBetween(self, text, before, after, major, zeros_only=True):
        """A crash recovery whose end-of-WAL line names an LSN in [before, after]."""
        found = end_of_wal(text, major, zeros_only)
        self.assertEqual(len(found), 1, text)
        self.assertTrue(lsn(before) <= lsn(found[0]) <= lsn(after),
                        f"{found[0]} not within [{before}, {after}]")
        self.assertIn("redo starts at", text)
        self.assertNotIn("backup recovery", text)

    def restore_and_check(self, snapshot, ident):
        """Restores snapshot as ident; returns (instance, the text of its log via the API)."""
        self.rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier=ident,
                                                      DBSnapshotIdentifier=snapshot)
        inst = self.wait_instance(ident)
        port = inst["Endpoint"]["Port"]
        self.assertEqual(psql(port, "select count(*) from t"), "100")
        _, text = self.log_text(ident)
        self.assertTrue(any(line in text for line in RECOVERY_LINES), text)
        return inst, text


class Major16Test(DoubleBase):
    """Servers newer than Debian's pg_basebackup 15: the low-level backup API path."""
    MAJOR = 16

    def test_snapshot_restore_replica(self):
        before = self.src_lsn()
        self.rds.create_db_snapshot(DBInstanceIdentifier="src", DBSnapshotIdentifier="s16")
        for _ in range(3):
            self.assertCode("Throttling", self.rds.describe_db_snapshots)
        self.wait_snapshot("s16")
        after = self.src_lsn()
        inst, text = self.restore_and_check("s16", "restored16")
        # Crash-consistent (a caught-up standby stopped -m immediate), in 16's wording.
        self.assertCrashRecoveryEndsBetween(text, before, after, 16, zeros_only=False)
        self.assertEqual(psql(inst["Endpoint"]["Port"], "show server_version_num")[:2], "16")

        # Debian's pg_dumpall 15 cannot dump a 16 server: the upgrade fails and rolls back.
        out = self.rds.modify_db_instance(
            DBInstanceIdentifier="restored16", EngineVersion="17.5", AllowMajorVersionUpgrade=True,
            DBParameterGroupName="p17", ApplyImmediately=True)["DBInstance"]
        self.assertEqual(out["DBInstanceStatus"], "upgrading")
        after = self.wait_instance("restored16")
        self.assertEqual(after["EngineVersion"], "16.9")
        messages = self.events("restored16")
        self.assertTrue(any(m.startswith("Database instance is in a state that cannot be "
                                         "upgraded: the local AWS double upgrades only from "
                                         "PostgreSQL 15 or older") for m in messages), messages)
        self.assertIn("The DB engine version upgrade failed. The engine version upgrade rollback "
                      "succeeded.", messages)
        self.assertEqual(psql(inst["Endpoint"]["Port"], "show server_version_num")[:2], "16")
        self.rds.create_db_instance_read_replica(DBInstanceIdentifier="replica16",
                                                 SourceDBInstanceIdentifier="restored16")
        replica = self.wait_instance("replica16")
        self.assertEqual(psql(replica["Endpoint"]["Port"], "select pg_is_in_recovery()"), "t")


class DoubleTest(DoubleBase):
    def test_00_throttling_fault(self):
        for _ in range(3):
            resp = self.assertCode("Throttling", self.rds.describe_db_snapshots)
            self.assertEqual(resp["Error"]["Message"], "Rate exceeded")
            self.assertEqual(resp["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.rds.describe_db_snapshots()

    def test_01_describe_instance(self):
        inst = self.rds.describe_db_instances(DBInstanceIdentifier="src")["DBInstances"][0]
        self.assertEqual(inst["Endpoint"], {"Address": "127.0.0.1", "Port": self.src_port,
                                            "HostedZoneId": "Z2R2ITUGPM61AM"})
        self.assertEqual(inst["DBInstanceStatus"], "available")
        self.assertEqual(inst["EngineVersion"], "15.18")
        self.assertEqual(inst["DBParameterGroups"][0]["DBParameterGroupName"], "src-params")
        self.assertEqual(inst["DBSubnetGroup"]["VpcId"], "vpc-1")
        self.assertEqual(inst["VpcSecurityGroups"][0]["VpcSecurityGroupId"], "sg-1")
        self.assertTrue(inst["StorageEncrypted"])
        self.assertEqual(inst["KmsKeyId"], KEY_ARN)
        self.assertEqual((inst["StorageType"], inst["AllocatedStorage"], inst["Iops"],
                          inst["StorageThroughput"]), ("gp3", 100, 3000, 125))
        self.assertEqual(inst["CACertificateIdentifier"], "rds-ca-rsa2048-g1")
        self.assertTrue(inst["DbiResourceId"].startswith("db-"))
        self.assertEqual(inst["ReadReplicaDBInstanceIdentifiers"], [])
        resp = self.assertCode("DBInstanceNotFound", self.rds.describe_db_instances,
                               DBInstanceIdentifier="nope")
        self.assertEqual(resp["ResponseMetadata"]["HTTPStatusCode"], 404)
        self.assertEqual(len(self.rds.describe_db_instances()["DBInstances"]), 1)

    def test_02_parameters(self):
        first = self.rds.describe_db_parameters(DBParameterGroupName="src-params", MaxRecords=20)
        self.assertEqual(len(first["Parameters"]), 20)
        rest = self.rds.describe_db_parameters(DBParameterGroupName="src-params",
                                               Marker=first["Marker"])
        self.assertNotIn("Marker", rest)
        names = [p["ParameterName"] for p in first["Parameters"] + rest["Parameters"]]
        self.assertEqual(len(names), 31)
        self.assertIn("rds.logical_replication", names)
        self.assertCode("InvalidParameterValue", self.rds.describe_db_parameters,
                        DBParameterGroupName="src-params", MaxRecords=5)
        self.assertCode("DBParameterGroupNotFound", self.rds.describe_db_parameters,
                        DBParameterGroupName="absent")
        groups = self.rds.describe_db_parameter_groups(DBParameterGroupName="src-params")
        self.assertEqual(groups["DBParameterGroups"][0]["DBParameterGroupFamily"], "postgres15")

        change = {"ParameterName": "rds.logical_replication", "ParameterValue": "1"}
        self.assertCode("InvalidParameterCombination", self.rds.modify_db_parameter_group,
                        DBParameterGroupName="src-params",
                        Parameters=[dict(change, ApplyMethod="immediate")])
        out = self.rds.modify_db_parameter_group(
            DBParameterGroupName="src-params", Parameters=[dict(change, ApplyMethod="pending-reboot")])
        self.assertEqual(out["DBParameterGroupName"], "src-params")
        inst = self.rds.describe_db_instances(DBInstanceIdentifier="src")["DBInstances"][0]
        self.assertEqual(inst["DBParameterGroups"][0]["ParameterApplyStatus"], "pending-reboot")
        out = self.rds.reboot_db_instance(DBInstanceIdentifier="src")
        self.assertEqual(out["DBInstance"]["DBInstanceStatus"], "rebooting")
        inst = self.wait_instance("src")
        self.assertEqual(inst["DBParameterGroups"][0]["ParameterApplyStatus"], "in-sync")
        self.assertEqual(psql(self.src_port, "show wal_level"), "logical")
        self.assertEqual(psql(self.src_port, "select count(*) from t"), "100")

    def test_03_catalog(self):
        ev = self.rds.describe_db_engine_versions(Engine="postgres", EngineVersion="15.18")
        targets = ev["DBEngineVersions"][0]["ValidUpgradeTarget"]
        self.assertEqual([(t["EngineVersion"], t["IsMajorVersionUpgrade"]) for t in targets],
                         [("15.19", False), ("16.9", True)])
        self.assertEqual(ev["DBEngineVersions"][0]["DBParameterGroupFamily"], "postgres15")
        opts = self.rds.describe_orderable_db_instance_options(
            Engine="postgres", EngineVersion="16.9", DBInstanceClass="db.r6g.large")
        self.assertTrue(opts["OrderableDBInstanceOptions"])
        self.assertFalse(self.rds.describe_orderable_db_instance_options(
            Engine="postgres", DBInstanceClass="db.x99")["OrderableDBInstanceOptions"])
        sn = self.rds.describe_db_subnet_groups(DBSubnetGroupName="sn")["DBSubnetGroups"][0]
        self.assertEqual((sn["VpcId"], len(sn["Subnets"])), ("vpc-1", 2))
        self.assertCode("DBSubnetGroupNotFoundFault", self.rds.describe_db_subnet_groups,
                        DBSubnetGroupName="nope")
        certs = self.rds.describe_certificates()["Certificates"]
        self.assertIn("rds-ca-rsa4096-g1", [c["CertificateIdentifier"] for c in certs])

    def test_04_snapshot_restore_logs_replica(self):
        before = self.src_lsn()
        out = self.rds.create_db_snapshot(DBInstanceIdentifier="src", DBSnapshotIdentifier="s1")
        self.assertEqual(out["DBSnapshot"]["Status"], "creating")
        self.assertCode("DBSnapshotAlreadyExists", self.rds.create_db_snapshot,
                        DBInstanceIdentifier="src", DBSnapshotIdentifier="s1")
        snap, seen = self.wait_snapshot("s1")
        after = self.src_lsn()
        # The copy is consistent as of some moment before it is available: write only after it.
        psql(self.src_port, "INSERT INTO t VALUES (1000, 'after the snapshot')")
        self.assertTrue(any(s == "creating" and 0 < p < 100 for s, p in seen), seen)
        self.assertEqual((snap["PercentProgress"], snap["SnapshotType"], snap["EngineVersion"],
                          snap["Encrypted"], snap["KmsKeyId"], snap["AllocatedStorage"]),
                         (100, "manual", "15.18", True, KEY_ARN, 100))
        by_instance = self.rds.describe_db_snapshots(DBInstanceIdentifier="src")["DBSnapshots"]
        self.assertEqual([s["DBSnapshotIdentifier"] for s in by_instance], ["s1"])
        self.assertCode("DBSnapshotNotFound", self.rds.describe_db_snapshots,
                        DBSnapshotIdentifier="nope")

        # A target that is no valid upgrade target; a major one whose binaries the double lacks.
        resp = self.assertCode("InvalidParameterValue", self.rds.modify_db_snapshot,
                               DBSnapshotIdentifier="s1", EngineVersion="17.5")
        self.assertEqual(resp["Error"]["Message"], "Cannot upgrade postgres from 15.18 to 17.5")
        resp = self.assertCode("InvalidParameterValue", self.rds.modify_db_snapshot,
                               DBSnapshotIdentifier="s1", EngineVersion="16.9")
        self.assertIn("has no PostgreSQL 16 binaries", resp["Error"]["Message"])
        out = self.rds.modify_db_snapshot(DBSnapshotIdentifier="s1", EngineVersion="15.19")
        self.assertEqual(out["DBSnapshot"]["EngineVersion"], "15.19")
        self.wait_snapshot("s1")

        copy = self.rds.copy_db_snapshot(SourceDBSnapshotIdentifier="s1",
                                         TargetDBSnapshotIdentifier="s1-copy",
                                         KmsKeyId="alias/relocate")["DBSnapshot"]
        self.assertTrue(copy["Encrypted"])
        self.assertTrue(copy["KmsKeyId"].endswith(":key/cmk-2"))
        self.wait_snapshot("s1-copy")
        self.assertEqual(self.rds.delete_db_snapshot(DBSnapshotIdentifier="s1-copy")
                         ["DBSnapshot"]["Status"], "deleted")
        self.assertCode("DBSnapshotNotFound", self.rds.delete_db_snapshot,
                        DBSnapshotIdentifier="s1-copy")

        out = self.rds.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier="restored", DBSnapshotIdentifier="s1",
            DBInstanceClass="db.r6g.xlarge", DBSubnetGroupName="sn", VpcSecurityGroupIds=["sg-2"],
            DBParameterGroupName="src-params", StorageType="io1", Iops=5000)
        self.assertEqual(out["DBInstance"]["DBInstanceStatus"], "creating")
        self.assertCode("DBInstanceAlreadyExists", self.rds.restore_db_instance_from_db_snapshot,
                        DBInstanceIdentifier="restored", DBSnapshotIdentifier="s1")
        inst = self.wait_instance("restored")
        port = inst["Endpoint"]["Port"]
        self.assertNotEqual(port, self.src_port)
        self.assertEqual((inst["DBInstanceClass"], inst["StorageType"], inst["Iops"],
                          inst["EngineVersion"], inst["VpcSecurityGroups"][0]["VpcSecurityGroupId"]),
                         ("db.r6g.xlarge", "io1", 5000, "15.19", "sg-2"))
        self.assertEqual(psql(port, "select count(*) from t"), "100")
        self.assertEqual(psql(port, "select count(*) from t where id = 1000"), "0")
        self.assertEqual(psql(port, "show log_line_prefix"), "%t:%r:%u@%d:[%p]:")

        files = self.rds.describe_db_log_files(DBInstanceIdentifier="restored")["DescribeDBLogFiles"]
        self.assertTrue(files)
        name = files[0]["LogFileName"]
        self.assertRegex(name, r"^error/postgresql\.log\.\d{4}-\d{2}-\d{2}-\d{2}$")
        self.assertGreater(files[0]["Size"], 0)
        self.assertGreater(files[0]["LastWritten"], 1_600_000_000_000)
        self.assertFalse(self.rds.describe_db_log_files(
            DBInstanceIdentifier="restored", FilenameContains="nomatch")["DescribeDBLogFiles"])
        text, marker, pages = "", "0", 0
        while True:
            part = self.rds.download_db_log_file_portion(
                DBInstanceIdentifier="restored", LogFileName=name, Marker=marker, NumberOfLines=3)
            text += part.get("LogFileData", "")
            marker, pages = part["Marker"], pages + 1
            if not part["AdditionalDataPending"]:
                break
        self.assertGreater(pages, 1)
        self.assertCrashRecoveryEndsBetween(text, before, after, 15)
        self.assertIn("starting PostgreSQL 15.", text)
        self.assertIn("database system is ready to accept connections", text)
        tail = self.rds.download_db_log_file_portion(DBInstanceIdentifier="restored",
                                                     LogFileName=name, NumberOfLines=2)
        self.assertEqual(len(tail["LogFileData"].splitlines()), 2)
        self.assertCode("DBLogFileNotFoundFault", self.rds.download_db_log_file_portion,
                        DBInstanceIdentifier="restored", LogFileName="error/absent")
        self.assertTrue(self.rds.describe_db_log_files(DBInstanceIdentifier="src")
                        ["DescribeDBLogFiles"])

        out = self.rds.create_db_instance_read_replica(DBInstanceIdentifier="replica",
                                                       SourceDBInstanceIdentifier="restored")
        self.assertEqual(out["DBInstance"]["ReadReplicaSourceDBInstanceIdentifier"], "restored")
        replica = self.wait_instance("replica")
        self.assertEqual(self.rds.describe_db_instances(DBInstanceIdentifier="restored")
                         ["DBInstances"][0]["ReadReplicaDBInstanceIdentifiers"], ["replica"])
        rport = replica["Endpoint"]["Port"]
        self.assertEqual(psql(rport, "select pg_is_in_recovery()"), "t")
        psql(port, "INSERT INTO t VALUES (2000, 'streamed')")
        deadline = time.time() + 30
        while psql(rport, "select count(*) from t where id = 2000") != "1":
            self.assertLess(time.time(), deadline, "the replica does not stream")
            time.sleep(0.2)

        self.rds.modify_db_instance(DBInstanceIdentifier="restored",
                                    CACertificateIdentifier="rds-ca-rsa4096-g1", ApplyImmediately=True)
        self.assertEqual(self.rds.describe_db_instances(DBInstanceIdentifier="restored")
                         ["DBInstances"][0]["CACertificateIdentifier"], "rds-ca-rsa4096-g1")
        self.assertCode("CertificateNotFound", self.rds.modify_db_instance,
                        DBInstanceIdentifier="restored", CACertificateIdentifier="rds-ca-none")

        self.assertCode("InvalidDBInstanceState", self.rds.delete_db_instance,
                        DBInstanceIdentifier="src", SkipFinalSnapshot=True)
        for ident in ("replica", "restored"):
            out = self.rds.delete_db_instance(DBInstanceIdentifier=ident, SkipFinalSnapshot=True)
            self.assertEqual(out["DBInstance"]["DBInstanceStatus"], "deleting")
        deadline = time.time() + 60
        while len(self.rds.describe_db_instances()["DBInstances"]) > 1:
            self.assertLess(time.time(), deadline)
            time.sleep(0.3)

    def test_05_sts(self):
        sts = self.client("sts")
        me = sts.get_caller_identity()
        self.assertEqual(me["Account"], ACCOUNT)
        creds = sts.assume_role(RoleArn=ROLE, RoleSessionName="tt", DurationSeconds=900)["Credentials"]
        self.assertTrue(creds["AccessKeyId"].startswith("ASIA"))
        temp = self.client("sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        self.assertIn("assumed-role/relocate/tt", temp.get_caller_identity()["Arn"])
        temp_rds = self.client("rds", creds["AccessKeyId"], creds["SecretAccessKey"],
                               creds["SessionToken"])
        temp_rds.describe_db_instances(DBInstanceIdentifier="src")
        no_token = self.client("rds", creds["AccessKeyId"], creds["SecretAccessKey"])
        self.assertCode("InvalidClientTokenId", no_token.describe_db_instances)
        self.assertCode("AccessDenied", sts.assume_role, RoleArn=ROLE + "-other", RoleSessionName="tt")
        anon = self.client("sts", unsigned=True)
        web = anon.assume_role_with_web_identity(RoleArn=ROLE, RoleSessionName="ww",
                                                 WebIdentityToken=WEB_TOKEN)
        self.assertIn("SessionToken", web["Credentials"])
        self.assertCode("InvalidIdentityToken", anon.assume_role_with_web_identity,
                        RoleArn=ROLE, RoleSessionName="ww", WebIdentityToken="forged")
        self.assertCode("MissingAuthenticationToken", anon.get_caller_identity)

    def test_06_auth(self):
        resp = self.assertCode("SignatureDoesNotMatch",
                               self.client("rds", secret="wrong").describe_db_instances)
        self.assertEqual(resp["ResponseMetadata"]["HTTPStatusCode"], 403)
        self.assertCode("InvalidClientTokenId",
                        self.client("rds", ak="AKIAUNKNOWN000000000").describe_db_instances)
        self.assertCode("ExpiredToken", self.client("rds", EXPIRED_AK, "s", "tok").describe_db_instances)
        self.assertCode("InvalidSignatureException",
                        self.client("kms", secret="wrong").describe_key, KeyId="alias/aws/rds")
        self.assertCode("SignatureDoesNotMatch",
                        self.client("ec2", secret="wrong").describe_vpcs)

    def test_07_kms_ec2(self):
        kms = self.client("kms")
        meta = kms.describe_key(KeyId="alias/aws/rds")["KeyMetadata"]
        self.assertEqual((meta["KeyId"], meta["Arn"], meta["KeyManager"]), (KEY_ID, KEY_ARN, "AWS"))
        self.assertEqual(kms.describe_key(KeyId=KEY_ARN)["KeyMetadata"]["KeyId"], KEY_ID)
        self.assertCode("NotFoundException", kms.describe_key, KeyId="alias/none")
        aliases = kms.list_aliases()["Aliases"]
        self.assertEqual(sorted(a["AliasName"] for a in aliases), ["alias/aws/rds", "alias/relocate"])
        ec2 = self.client("ec2")
        self.assertEqual([v["VpcId"] for v in ec2.describe_vpcs(VpcIds=["vpc-2"])["Vpcs"]], ["vpc-2"])
        groups = ec2.describe_security_groups(GroupIds=["sg-1", "sg-2"])["SecurityGroups"]
        self.assertEqual([g["VpcId"] for g in groups], ["vpc-1", "vpc-2"])
        filtered = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": ["vpc-2"]}])
        self.assertEqual([g["GroupId"] for g in filtered["SecurityGroups"]], ["sg-2"])
        self.assertCode("InvalidGroup.NotFound", ec2.describe_security_groups, GroupIds=["sg-9"])

    def test_08_raw_protocol(self):
        status, body = self.raw("rds", {"Action": "FlyToTheMoon", "Version": "2014-10-31"})
        self.assertEqual(status, 400)
        self.assertIn("<Code>InvalidAction</Code>", body)
        status, body = self.raw("rds", {"Action": "DescribeDBInstances", "Version": "2014-10-31",
                                        "MaxRecords": "many"})
        self.assertEqual(status, 400)
        self.assertIn("<Code>InvalidParameterValue</Code>", body)
        status, body = self.raw("rds", {"Action": "DeleteDBSnapshot", "Version": "2014-10-31"})
        self.assertEqual(status, 400)
        self.assertIn("<Code>MissingParameter</Code>", body)
        self.assertIn("<Type>Sender</Type>", body)
        unsigned = urllib.request.Request(self.endpoint + "/", method="POST",
                                          data=b"Action=DescribeDBInstances&Version=2014-10-31")
        with self.assertRaises(urllib.error.HTTPError) as ctx:
            urllib.request.urlopen(unsigned)
        body = ctx.exception.read().decode()
        self.assertEqual(ctx.exception.code, 403)
        self.assertIn('xmlns="http://rds.amazonaws.com/doc/2014-10-31/"', body)
        self.assertIn("<Code>MissingAuthenticationToken</Code>", body)
        old = datetime.timedelta(minutes=20)
        status, body = self.raw("rds", {"Action": "DescribeDBInstances", "Version": "2014-10-31"},
                                age=old)
        self.assertEqual(status, 403)
        self.assertIn("<Code>SignatureDoesNotMatch</Code><Message>Signature expired:", body)
        status, body = self.raw("ec2", {"Action": "DescribeVpcs", "Version": "2016-11-15"}, age=old)
        self.assertEqual(status, 400)
        self.assertIn("<Code>RequestExpired</Code>", body)
        status, body = self.raw("rds", {"Action": "DescribeDBInstances", "Version": "2014-10-31"},
                                age=datetime.timedelta(minutes=10))
        self.assertEqual(status, 200, body)
        with open(os.path.join(self.workdir, "double.log")) as f:
            log = f.read()
        self.assertIn("rds.DescribeDBInstances 200", log)
        self.assertNotIn(SECRET, log)
        self.assertNotIn(WEB_TOKEN, log)


SLOTS_REASON = ("The instance could not be upgraded because it has one or more logical "
                "replication slots. Please drop all logical replication slots and try again.")
PRECHECK_FAILED = ("Database instance is in a state that cannot be upgraded: PreUpgrade checks "
                   "failed: ")
ROLLED_BACK = "The DB engine version upgrade failed. The engine version upgrade rollback succeeded."
UPGRADE_FAULT = "Postgres cluster is in a state where pg_upgrade can not be completed successfully"


def pg_bin(major):
    out = subprocess.run([f"{REPO}/scripts/pg-bin.sh", str(major)], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else None


def require_majors(*majors):
    """Skips the test class when a major's binaries are missing, saying which."""
    missing = [m for m in majors if pg_bin(m) is None]
    if missing:
        raise unittest.SkipTest(f"no PostgreSQL {missing} binaries")


class UpgradeTest(DoubleBase):
    """ModifyDBInstance EngineVersion: RDS's rules and faults, the pre-check, a real 13 -> 15 -> 17
    upgrade of a restored instance, the rollback of a failed one. One restored instance, `up`,
    goes through the steps in order."""
    MAJOR = 13

    @classmethod
    def seed(cls, seed):
        require_majors(15, 17)
        seed["instances"][0].update(engine_version="13.20", parameter_group="default.postgres13")
        seed["parameter_groups"] += [
            {"name": "src13", "family": "postgres13",
             "parameters": {"rds.logical_replication": "1", "max_prepared_transactions": "5"}},
            {"name": "p15", "family": "postgres15",
             "parameters": {"rds.logical_replication": "1", "max_prepared_transactions": "5"}}]
        seed["engine_versions"] = [
            {"version": "13.20", "family": "postgres13",
             "valid_upgrade_targets": [{"version": "13.21", "is_major": False},
                                       {"version": "15.12", "is_major": True}]},
            {"version": "15.12", "family": "postgres15",
             "valid_upgrade_targets": [{"version": "17.5", "is_major": True}]}]
        seed["bin_dirs"] = {str(m): pg_bin(m) for m in (13, 15, 17)}
        seed["timings"]["upgrade_seconds"] = 1
        seed["upgrade_faults"] = {"up": {"message": UPGRADE_FAULT, "times": 1}}
        seed["faults"] = []
        return seed

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rds.create_db_snapshot(DBInstanceIdentifier="src", DBSnapshotIdentifier="s13")

    def modify(self, **kwargs):
        return self.rds.modify_db_instance(DBInstanceIdentifier="up", **kwargs)["DBInstance"]

    def upgrade(self, version, **kwargs):
        out = self.modify(EngineVersion=version, AllowMajorVersionUpgrade=True,
                          ApplyImmediately=True, **kwargs)
        self.assertEqual((out["DBInstanceStatus"], out["PendingModifiedValues"]),
                         ("upgrading", {"EngineVersion": version}))
        inst = self.wait_instance("up", timeout=300)
        self.assertEqual(inst["PendingModifiedValues"], {})
        return inst

    def sysid(self):
        return psql(self.port, "SELECT system_identifier FROM pg_control_system()")

    def test_10_rules(self):
        self.wait_snapshot("s13")
        self.rds.restore_db_instance_from_db_snapshot(
            DBInstanceIdentifier="up", DBSnapshotIdentifier="s13", DBParameterGroupName="src13")
        type(self).port = self.wait_instance("up")["Endpoint"]["Port"]

        def fault(code, **kwargs):
            resp = self.assertCode(code, self.rds.modify_db_instance, **kwargs)
            return resp["Error"]["Message"]
        self.assertEqual(fault("InvalidParameterCombination", DBInstanceIdentifier="up",
                               EngineVersion="17.5", AllowMajorVersionUpgrade=True),
                         "Cannot upgrade postgres from 13.20 to 17.5")
        self.assertEqual(fault("InvalidParameterCombination", DBInstanceIdentifier="up",
                               EngineVersion="15.12", DBParameterGroupName="p15",
                               ApplyImmediately=True),
                         "The AllowMajorVersionUpgrade flag must be present when upgrading to a "
                         "new major version.")
        family = ("The parameter group src13 with DBParameterGroupFamily postgres13 can't be "
                  "used for this instance. Use a parameter group with DBParameterGroupFamily "
                  "postgres15.")
        for group in ({}, {"DBParameterGroupName": "src13"}):
            self.assertEqual(fault("InvalidParameterCombination", DBInstanceIdentifier="up",
                                   EngineVersion="15.12", AllowMajorVersionUpgrade=True,
                                   ApplyImmediately=True, **group), family)
        fault("DBParameterGroupNotFound", DBInstanceIdentifier="up", EngineVersion="15.12",
              AllowMajorVersionUpgrade=True, DBParameterGroupName="absent")
        self.assertEqual(fault("InvalidParameterCombination", DBInstanceIdentifier="up",
                               DBParameterGroupName="p15"),
                         "The parameter group p15 with DBParameterGroupFamily postgres15 can't be "
                         "used for this instance. Use a parameter group with "
                         "DBParameterGroupFamily postgres13.")
        # The seeded source is on default.postgres13: the group follows to default.postgres15,
        # but the double does not change the test's own clusters.
        self.assertIn("was seeded by the test",
                      fault("InvalidDBInstanceState", DBInstanceIdentifier="src",
                            EngineVersion="15.12", AllowMajorVersionUpgrade=True,
                            ApplyImmediately=True))
        self.assertEqual(fault("InvalidParameterCombination", DBInstanceIdentifier="src",
                               EngineVersion="15.12", AllowMajorVersionUpgrade=True,
                               DBParameterGroupName="src13"),
                         family)

    def test_20_pending(self):
        out = self.modify(EngineVersion="15.12", AllowMajorVersionUpgrade=True,
                          DBParameterGroupName="p15")
        self.assertEqual((out["DBInstanceStatus"], out["EngineVersion"],
                          out["PendingModifiedValues"]),
                         ("available", "13.20", {"EngineVersion": "15.12"}))
        inst = self.rds.describe_db_instances(DBInstanceIdentifier="up")["DBInstances"][0]
        self.assertEqual(inst["PendingModifiedValues"], {"EngineVersion": "15.12"})
        self.assertEqual(inst["DBParameterGroups"][0]["DBParameterGroupName"], "src13")
        self.assertEqual(psql(self.port, "show server_version_num")[:2], "13")

    def test_30_precheck_refuses(self):
        before = self.sysid()
        psql(self.port, "CREATE DATABASE app")
        psql(self.port, "SELECT pg_create_logical_replication_slot('left_behind', 'test_decoding')")
        psql(self.port, "SELECT pg_create_logical_replication_slot('app_slot', 'pgoutput')", db="app")
        inst = self.upgrade("15.12", DBParameterGroupName="p15")
        self.assertEqual(inst["EngineVersion"], "13.20")
        self.assertIn(PRECHECK_FAILED + SLOTS_REASON, self.events("up"))
        files = self.rds.describe_db_log_files(DBInstanceIdentifier="up",
                                               FilenameContains="pg_upgrade_precheck")
        names = [f["LogFileName"] for f in files["DescribeDBLogFiles"]]
        self.assertEqual(len(names), 1, names)
        self.assertRegex(names[0], r"^error/pg_upgrade_precheck\.log\.\d{4}-\d{2}-\d{2}-\d{2}$")
        text = self.rds.download_db_log_file_portion(
            DBInstanceIdentifier="up", LogFileName=names[0], Marker="0")["LogFileData"]
        self.assertIn("from 13.20.R1 to 15.12.R1", text)
        self.assertIn(f"- {SLOTS_REASON}", text)
        self.assertIn('"left_behind" (plugin test_decoding) in database "postgres"', text)
        self.assertIn('"app_slot" (plugin pgoutput) in database "app"', text)
        self.assertEqual((psql(self.port, "show server_version_num")[:2], self.sysid()),
                         ("13", before))

        psql(self.port, "SELECT pg_drop_replication_slot('left_behind')")
        psql(self.port, "SELECT pg_drop_replication_slot('app_slot')", db="app")
        psql(self.port, "BEGIN; CREATE TABLE half(i int); PREPARE TRANSACTION 'half_done'")
        self.assertEqual(self.upgrade("15.12", DBParameterGroupName="p15")["EngineVersion"],
                         "13.20")
        refusal = self.events("up")[-1]
        self.assertTrue(refusal.startswith(PRECHECK_FAILED) and "prepared transactions" in refusal,
                        refusal)
        psql(self.port, "COMMIT PREPARED 'half_done'")

    def test_40_failed_upgrade_rolls_back(self):
        before = self.sysid()
        inst = self.upgrade("15.12", DBParameterGroupName="p15")
        self.assertEqual((inst["EngineVersion"], inst["DBParameterGroups"][0]["DBParameterGroupName"]),
                         ("13.20", "src13"))
        messages = self.events("up")
        self.assertEqual(messages[-2:], ["Database instance is in a state that cannot be upgraded: "
                                         + UPGRADE_FAULT, ROLLED_BACK])
        self.assertEqual((psql(self.port, "show server_version_num")[:2], self.sysid(),
                          psql(self.port, "select count(*) from t")), ("13", before, "100"))

    def test_50_upgrade_13_to_15_to_17(self):
        port = self.port
        psql(port, "CREATE ROLE app_user LOGIN PASSWORD 'app-pw'")
        psql(port, "CREATE SEQUENCE ids; SELECT nextval('ids') FROM generate_series(1, 41)",
             db="app")
        psql(port, "CREATE TABLE items AS SELECT g AS id FROM generate_series(1, 7) g; "
                   "ALTER TABLE items OWNER TO app_user", db="app")
        before = self.sysid()
        inst = self.upgrade("15.12", DBParameterGroupName="p15")
        self.assertEqual((inst["EngineVersion"], inst["DBParameterGroups"],
                          inst["Endpoint"]["Port"]),
                         ("15.12", [{"DBParameterGroupName": "p15",
                                     "ParameterApplyStatus": "in-sync"}], port))
        self.assertIn("PostgreSQL 15.", psql(port, "SELECT version()"))
        self.assertNotEqual(self.sysid(), before)
        self.assertEqual(psql(port, "select count(*) from t"), "100")
        self.assertEqual(psql(port, "SELECT count(*) FROM items", db="app", user="app_user",
                              password="app-pw"), "7")
        self.assertEqual(psql(port, "SELECT nextval('ids')", db="app"), "42")
        self.assertEqual(psql(port, "SELECT count(*) FROM pg_replication_slots"), "0")
        self.assertEqual(psql(port, "show wal_level"), "logical")  # from p15
        messages = self.events("up")
        tail = messages[messages.index("The pre-check started for the DB engine version upgrade.",
                                       len(messages) - 8):]
        self.assertEqual(tail, ["The pre-check started for the DB engine version upgrade.",
                                "The pre-check finished for the DB engine version upgrade.",
                                "The downtime started for the DB instance.",
                                "The engine version upgrade started.",
                                "The engine version upgrade finished.",
                                "Updated to use DBParameterGroup p15.",
                                "The post-upgrade tasks are in progress."])
        # The logs of the old cluster are still there, and the double's own upgrade log.
        names = [f["LogFileName"] for f in self.rds.describe_db_log_files(
            DBInstanceIdentifier="up")["DescribeDBLogFiles"]]
        self.assertTrue(any("pg_upgrade_precheck" in n for n in names), names)
        self.assertTrue(any("pg_upgrade_internal" in n for n in names), names)

        # The next hop, the group moving along from a default one: default.postgres17.
        self.modify(DBParameterGroupName="default.postgres15")
        inst = self.upgrade("17.5")
        self.assertEqual((inst["EngineVersion"], inst["DBParameterGroups"][0]["DBParameterGroupName"]),
                         ("17.5", "default.postgres17"))
        self.assertIn("PostgreSQL 17.", psql(port, "SELECT version()"))
        self.assertEqual(psql(port, "SELECT nextval('ids')", db="app"), "43")
        self.assertEqual(psql(port, "SELECT count(*) FROM items", db="app", user="app_user",
                              password="app-pw"), "7")

    def test_60_describe_events(self):
        self.assertEqual(self.events("s13", "db-snapshot"),
                         ["Creating manual snapshot.", "Manual snapshot created."])
        self.assertEqual(self.events("up")[0], "Restored from snapshot s13.")
        maintenance = self.rds.describe_events(SourceType="db-instance", SourceIdentifier="up",
                                               EventCategories=["maintenance"])["Events"]
        self.assertTrue(maintenance)
        self.assertTrue(all(e["EventCategories"] == ["maintenance"] for e in maintenance))
        self.assertEqual(maintenance[0]["SourceArn"], f"arn:aws:rds:{REGION}:{ACCOUNT}:db:up")
        first = self.rds.describe_events(MaxRecords=20)
        self.assertEqual(len(first["Events"]), 20)
        rest = self.rds.describe_events(Marker=first["Marker"])["Events"]
        self.assertEqual(len(first["Events"]) + len(rest),
                         len(self.rds.describe_events()["Events"]))
        later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5)
        self.assertEqual(self.rds.describe_events(StartTime=later)["Events"], [])
        self.assertEqual(self.rds.describe_events(
            StartTime=later - datetime.timedelta(hours=1), EndTime=later)["Events"],
            self.rds.describe_events(Duration=30)["Events"])
        self.assertCode("InvalidParameterValue", self.rds.describe_events, MaxRecords=5)
        self.assertCode("InvalidParameterCombination", self.rds.describe_events,
                        SourceIdentifier="up")


SNAP_STARTED = "The engine version upgrade of the DB snapshot started: 14.17 to 15.19."
SNAP_FINISHED = "The engine version upgrade of the DB snapshot finished: 14.17 to 15.19."
SNAP_FAILED = ("The engine version upgrade of the DB snapshot failed: 14.17 to 15.19. The "
               "snapshot was rolled back to 14.17: ")
LOG_NAME = r"^error/postgresql\.log\.\d{4}-\d{2}-\d{2}-\d{2}$"


class SnapshotUpgradeTest(DoubleBase):
    """ModifyDBSnapshot across majors (14 -> 15) with its two fault switches, and the "backup"
    snapshot mode next to the default crash-consistent one. The source (with a logical slot, as
    during a relocation) is seeded twice: as `src` (crash-consistent snapshots) and as
    `src-backup` (snapshot_mode backup). s14 is copied into s14-nologs and s14-fail, and the
    three are upgraded at once."""
    MAJOR = 14

    @classmethod
    def seed(cls, seed):
        require_majors(14, 15)
        src = seed["instances"][0]
        src.update(engine_version="14.17", parameter_group="src14")
        seed["instances"].append(dict(src, id="src-backup", snapshot_mode="backup"))
        seed["parameter_groups"].append({"name": "src14", "family": "postgres14",
                                         "parameters": {"rds.logical_replication": "1"}})
        seed["engine_versions"] = [
            {"version": "14.17", "family": "postgres14",
             "valid_upgrade_targets": [{"version": "14.18", "is_major": False},
                                       {"version": "15.19", "is_major": True}]},
            {"version": "15.19", "family": "postgres15", "valid_upgrade_targets": []}]
        seed["bin_dirs"] = {str(m): pg_bin(m) for m in (14, 15)}
        seed["snapshot_upgrade_faults"] = {"logs_not_kept": ["s14-nologs"],
                                           "upgrade_fails": ["s14-fail"]}
        seed["faults"] = []
        seed["timings"] = {"snapshot_seconds": 0}
        return seed

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        psql(cls.src_port, "SELECT pg_create_logical_replication_slot('relocate', 'pgoutput')")
        cls.before = psql(cls.src_port, "SELECT pg_current_wal_lsn()")
        cls.rds.create_db_snapshot(DBInstanceIdentifier="src", DBSnapshotIdentifier="s14")

    def test_10_upgrade_across_majors(self):
        self.wait_snapshot("s14")
        type(self).after = self.src_lsn()
        # Not sooner: both instances are the one server, and the backup's end switches WAL
        # segments; a crash copy taken after that switch ends its WAL at the switch record, with no
        # "invalid record length" line to find.
        self.rds.create_db_snapshot(DBInstanceIdentifier="src-backup",
                                    DBSnapshotIdentifier="s14-backup")
        for copy in ("s14-nologs", "s14-fail"):
            self.rds.copy_db_snapshot(SourceDBSnapshotIdentifier="s14",
                                      TargetDBSnapshotIdentifier=copy)
        for ident in ("s14-nologs", "s14-fail"):
            self.wait_snapshot(ident)
        resp = self.assertCode("InvalidParameterValue", self.rds.modify_db_snapshot,
                               DBSnapshotIdentifier="s14", EngineVersion="16.9")
        self.assertEqual(resp["Error"]["Message"], "Cannot upgrade postgres from 14.17 to 16.9")
        for ident in ("s14", "s14-nologs", "s14-fail"):
            out = self.rds.modify_db_snapshot(DBSnapshotIdentifier=ident,
                                              EngineVersion="15.19")["DBSnapshot"]
            self.assertEqual((out["Status"], out["EngineVersion"]), ("upgrading", "14.17"))
        self.assertCode("InvalidDBSnapshotState", self.rds.delete_db_snapshot,
                        DBSnapshotIdentifier="s14")
        self.assertCode("InvalidDBSnapshotState", self.rds.modify_db_snapshot,
                        DBSnapshotIdentifier="s14", EngineVersion="15.19")
        versions = {ident: self.wait_snapshot(ident, timeout=300)[0]["EngineVersion"]
                    for ident in ("s14", "s14-nologs", "s14-fail")}
        self.assertEqual(versions, {"s14": "15.19", "s14-nologs": "15.19", "s14-fail": "14.17"})
        self.assertEqual(self.events("s14", "db-snapshot"),
                         ["Creating manual snapshot.", "Manual snapshot created.",
                          SNAP_STARTED, SNAP_FINISHED])
        failed = self.events("s14-fail", "db-snapshot")
        self.assertEqual(failed[-2], SNAP_STARTED)
        self.assertTrue(failed[-1].startswith(SNAP_FAILED), failed)

    def test_20_restores(self):
        restores = {"up15": "s14", "nologs15": "s14-nologs", "still14": "s14-fail",
                    "backup14": "s14-backup"}
        self.wait_snapshot("s14-backup")
        for ident, snap in restores.items():
            self.rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier=ident,
                                                          DBSnapshotIdentifier=snap)
        ports, texts = {}, {}
        for ident in restores:
            inst = self.wait_instance(ident)
            ports[ident] = inst["Endpoint"]["Port"]
            self.assertEqual(psql(ports[ident], "select count(*) from t"), "100")
            names, texts[ident] = self.log_text(ident)
            for name in names:
                self.assertRegex(name, LOG_NAME)
            major = "15" if ident.endswith("15") else "14"
            self.assertEqual((inst["EngineVersion"][:2],
                              psql(ports[ident], "show server_version_num")[:2]), (major, major))

        # Upgraded: the rows, no slot; the 14 server's crash recovery during the upgrade, then
        # the 15 server's own clean start-up.
        self.assertEqual(psql(ports["up15"], "SELECT count(*) FROM pg_replication_slots"), "0")
        text = texts["up15"]
        self.assertIn("starting PostgreSQL 14.", text)
        self.assertIn("starting PostgreSQL 15.", text)
        old, new = text.split("starting PostgreSQL 15.", 1)
        self.assertIn("starting PostgreSQL 14.", old)
        self.assertCrashRecoveryEndsBetween(old, self.before, self.after, 14)
        self.assertNotIn("redo starts at", new)
        self.assertIn("database system is ready to accept connections", new)

        # The upgrade host's logs not kept: the 15 server's lines only.
        text = texts["nologs15"]
        self.assertIn("starting PostgreSQL 15.", text)
        self.assertNotIn("PostgreSQL 14", text)
        self.assertNotIn("redo starts at", text)

        # The failed upgrade left the snapshot as it was: crash-consistent 14, with the slot.
        self.assertCrashRecoveryEndsBetween(texts["still14"], self.before, self.after, 14)
        # The backup mode: backup recovery (14 words it "consistent recovery state reached"),
        # the WAL ending at the backup's end, the slot copied too.
        text = texts["backup14"]
        self.assertIn("consistent recovery state reached at", text)
        self.assertIn("redo done at", text)
        self.assertEqual(end_of_wal(text, 14), [])
        for ident in ("still14", "backup14"):
            self.assertEqual(psql(ports[ident], "SELECT string_agg(slot_name, ',') FROM "
                                                "pg_replication_slots"), "relocate")


if __name__ == "__main__":
    unittest.main(verbosity=2)
