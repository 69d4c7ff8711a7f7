"""The RDS actions of the double. Instances are real PostgreSQL clusters (clusters.py)."""
import datetime
import shutil
import hashlib
import os
import threading
import time

import clusters
from protocol import Fault

STATIC_PARAMETERS = {"rds.logical_replication", "shared_preload_libraries", "max_wal_senders",
                     "max_replication_slots", "max_worker_processes", "wal_level",
                     "max_logical_replication_workers", "track_commit_timestamp",
                     "max_connections", "shared_buffers", "max_prepared_transactions"}
DEFAULT_CERTIFICATES = ["rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1", "rds-ca-2019"]

# Major-version upgrade texts. The pre-check reasons and the log's frame are RDS's own wording
# (the prepared-transaction reason is modelled on the slot one); the events are the documented
# RDS-EVENT-0264..0270 and RDS-EVENT-0158 ("Database instance is in a state that cannot be
# upgraded: <message>").
SLOTS_REASON = ("The instance could not be upgraded because it has one or more logical "
                "replication slots. Please drop all logical replication slots and try again.")
PREPARED_REASON = ("The instance could not be upgraded because it has one or more open prepared "
                   "transactions. Please commit or roll back all prepared transactions and try "
                   "again.")
CANNOT_UPGRADE = "Database instance is in a state that cannot be upgraded: "
PRECHECK_FAILED = CANNOT_UPGRADE + "PreUpgrade checks failed: "
EV_PRECHECK_STARTED = "The pre-check started for the DB engine version upgrade."
EV_PRECHECK_FINISHED = "The pre-check finished for the DB engine version upgrade."
EV_DOWNTIME = "The downtime started for the DB instance."
EV_UPGRADE_STARTED = "The engine version upgrade started."
EV_UPGRADE_FINISHED = "The engine version upgrade finished."
EV_POST_UPGRADE = "The post-upgrade tasks are in progress."
EV_ROLLED_BACK = ("The DB engine version upgrade failed. The engine version upgrade rollback "
                  "succeeded.")
# A DB snapshot's engine version upgrade: RDS documents no event texts for it; these are the
# double's own, modelled on the instance's (category "notification").
EV_SNAPSHOT_UPGRADE_STARTED = "The engine version upgrade of the DB snapshot started: {} to {}."
EV_SNAPSHOT_UPGRADE_FINISHED = "The engine version upgrade of the DB snapshot finished: {} to {}."
EV_SNAPSHOT_UPGRADE_FAILED = ("The engine version upgrade of the DB snapshot failed: {} to {}. "
                              "The snapshot was rolled back to {}: {}")
SNAPSHOT_MODES = ("crash", "backup")


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def major_of(version):
    return int(str(version).split(".")[0])


def resource_id(kind, name):
    digest = hashlib.sha256(f"{kind}:{name}".encode()).hexdigest().upper()
    return f"{kind}-{digest[:26]}"


def utc(value):
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)


def page(items, params, default=100, minimum=20, maximum=100):
    """RDS pagination: MaxRecords (20..100) and an opaque Marker."""
    limit = params.get("MaxRecords", default)
    if not minimum <= limit <= maximum:
        raise Fault("InvalidParameterValue",
                    f"Invalid value {limit} for MaxRecords. Must be between {minimum} and {maximum}")
    start = 0
    if params.get("Marker"):
        try:
            start = int(params["Marker"].removeprefix("m-"))
        except ValueError:
            raise Fault("InvalidParameterValue", "The marker is not valid.")
    chunk = items[start:start + limit]
    marker = f"m-{start + limit}" if start + limit < len(items) else None
    return chunk, marker


class UpgradeFault(Exception):
    """An upgrade failure asked for by the seed's upgrade_faults (its text is the reason)."""


class RollbackFailed(Exception):
    """A failed upgrade could not put the old cluster back: the instance is `failed`."""


class Rds:
    def __init__(self, seed, workdir, log):
        self.seed, self.log = seed, log
        self.region = seed.get("region", "us-east-1")
        self.account = seed.get("account_id", "123456789012")
        self.root = os.path.join(workdir, "pg")
        clusters.make_postgres_dir(self.root)
        os.chmod(self.root, 0o711)
        self.timings = seed.get("timings", {})
        self.lock = threading.RLock()
        self.instances, self.snapshots = {}, {}
        self.jobs, self.closing = [], threading.Event()
        self.events = []
        self.bin_dirs = {int(k): v for k, v in seed.get("bin_dirs", {}).items()}
        self.upgrade_faults = {k: dict(v) if isinstance(v, dict) else {"message": v}
                               for k, v in seed.get("upgrade_faults", {}).items()}
        self.snapshot_mode = seed.get("snapshot_mode", "crash")
        self.snapshot_upgrade_faults = seed.get("snapshot_upgrade_faults", {})
        for mode in [self.snapshot_mode] + [i.get("snapshot_mode") for i in
                                            seed.get("instances", []) if i.get("snapshot_mode")]:
            if mode not in SNAPSHOT_MODES:
                raise ValueError(f"snapshot_mode {mode!r}: one of {', '.join(SNAPSHOT_MODES)}")
        for name in self.snapshot_upgrade_faults:
            if name not in ("logs_not_kept", "upgrade_fails"):
                raise ValueError(f"snapshot_upgrade_faults: unknown fault {name!r} "
                                 "(logs_not_kept, upgrade_fails)")
        self.param_groups = {g["name"]: {"family": g.get("family", "postgres15"),
                                         "description": g.get("description", g["name"]),
                                         "parameters": _parameters(g.get("parameters", {}))}
                             for g in seed.get("parameter_groups", [])}
        self.subnet_groups = {g["name"]: g for g in seed.get("subnet_groups", [])}
        self.engine_versions = seed.get("engine_versions", [])
        self.kms_keys = seed.get("kms_keys", [])
        for spec in seed.get("instances", []):
            self._add_seeded(spec)

    # -- state ----------------------------------------------------------------------------------

    def _add_seeded(self, spec):
        inst = self._new_instance(spec["id"], spec)
        inst["cluster"] = clusters.Cluster(
            spec["data_dir"], spec["bin_dir"], spec["port"], spec["major"],
            spec.get("admin_user", "ops"), spec.get("admin_password", "secret"),
            log_file=spec.get("log_file") or os.path.join(spec["data_dir"], "log",
                                                          "postgresql.log"))
        inst["status"] = "available"
        inst["replica_ids"] = list(spec.get("read_replica_ids", []))
        self.instances[inst["id"]] = inst

    def _new_instance(self, ident, spec):
        major = spec.get("major") or major_of(spec.get("engine_version", "15"))
        group = spec.get("parameter_group", f"default.postgres{major}")
        return {
            "id": ident, "host": spec.get("host", "127.0.0.1"), "port": spec.get("port"),
            "major": major, "engine_version": spec.get("engine_version", f"{major}.0"),
            "instance_class": spec.get("instance_class", "db.t3.medium"),
            "storage_type": spec.get("storage_type", "gp3"),
            "allocated_storage": spec.get("allocated_storage", 20), "iops": spec.get("iops"),
            "storage_throughput": spec.get("storage_throughput"),
            "parameter_group": group, "param_status": "in-sync",
            "subnet_group": spec.get("subnet_group"), "vpc_id": spec.get("vpc_id"),
            "security_groups": list(spec.get("security_groups", [])),
            "encrypted": spec.get("encrypted", False), "kms_key_id": spec.get("kms_key_id"),
            "ca_identifier": spec.get("ca_identifier", "rds-ca-rsa2048-g1"),
            "multi_az": spec.get("multi_az", False),
            "master_username": spec.get("master_username", spec.get("admin_user", "ops")),
            "replica_ids": [], "source_id": spec.get("read_replica_source"),
            "created": now(), "owned": False, "status": "creating",
            "snapshot_mode": spec.get("snapshot_mode"),
        }

    def instance(self, ident):
        with self.lock:
            inst = self.instances.get(ident)
        if inst is None:
            raise Fault("DBInstanceNotFound", f"DBInstance {ident} not found.")
        return inst

    def snapshot(self, ident):
        with self.lock:
            snap = self.snapshots.get(ident)
        if snap is None:
            raise Fault("DBSnapshotNotFound", f"DBSnapshot {ident} not found.")
        return snap

    def _upgrade_targets(self, version):
        """The versions the seed's engine list lets `version` be upgraded to."""
        return {t["version"] for ev in self.engine_versions if ev["version"] == version
                for t in ev.get("valid_upgrade_targets", [])}

    def _require_available(self, inst):
        if inst["status"] != "available":
            raise Fault("InvalidDBInstanceState",
                        f"Instance {inst['id']} is not in available state.")

    def _group(self, name):
        if name not in self.param_groups:
            if name.startswith("default.postgres"):
                self.param_groups[name] = {"family": name.removeprefix("default."),
                                           "description": f"Default parameter group for {name}",
                                           "parameters": {}}
            else:
                raise Fault("DBParameterGroupNotFound", f"DBParameterGroup {name} not found.")
        return self.param_groups[name]

    def _settings(self, inst):
        return self._group_settings(inst["parameter_group"])

    def _group_settings(self, name):
        params = {k: p["value"] for k, p in self._group(name)["parameters"].items()}
        return clusters.applied_settings(params)

    def bin_dir(self, major):
        """Where initdb/pg_ctl/postgres of a major are: the seed's bin_dirs, Debian's 15, or the
        bin_dir of a seeded instance of that major; None if nowhere."""
        candidates = [self.bin_dirs.get(major)]
        if major == 15:
            candidates.append(clusters.DEBIAN_BIN)
        candidates += [i["cluster"].bin_dir for i in self.instances.values()
                       if i["major"] == major and i.get("cluster")]
        for c in candidates:
            if c and os.access(os.path.join(c, "postgres"), os.X_OK):
                return c
        return None

    def _event(self, source_type, ident, message, categories):
        kind = {"db-instance": "db", "db-snapshot": "snapshot"}[source_type]
        with self.lock:
            self.events.append({
                "SourceIdentifier": ident, "SourceType": source_type, "Message": message,
                "EventCategories": list(categories), "Date": now(),
                "SourceArn": f"arn:aws:rds:{self.region}:{self.account}:{kind}:{ident}"})

    def _background(self, what, fn, on_error):
        def body():
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - a failed job becomes a failed status
                self.log(f"{what} failed: {e}")
                on_error()
        job = threading.Thread(target=body, daemon=True, name=what)
        with self.lock:
            self.jobs = [j for j in self.jobs if j.is_alive()] + [job]
        job.start()

    def close(self, timeout=60):
        """No cluster starts after this; waits (bounded) for the jobs under way."""
        self.closing.set()
        deadline = time.monotonic() + timeout
        with self.lock:
            jobs = list(self.jobs)
        for job in jobs:
            job.join(max(0.0, deadline - time.monotonic()))

    # -- shapes ---------------------------------------------------------------------------------

    def _kms_arn(self, key_id):
        if not key_id:
            return None
        for key in self.kms_keys:
            if key_id in (key["id"], key.get("arn")) or key_id in key.get("aliases", []):
                return key.get("arn") or self._key_arn(key["id"])
        if key_id.startswith("arn:"):
            return key_id
        raise Fault("KMSKeyNotAccessibleFault", f"The specified KMS key {key_id} does not exist.")

    def _key_arn(self, key_id):
        return f"arn:aws:kms:{self.region}:{self.account}:key/{key_id}"

    def _instance_shape(self, inst):
        subnet = None
        if inst["subnet_group"]:
            g = self.subnet_groups.get(inst["subnet_group"], {"name": inst["subnet_group"]})
            subnet = self._subnet_group_shape(g, inst["vpc_id"])
        endpoint = None
        if inst["port"] and inst["status"] not in ("creating",):
            endpoint = {"Address": inst["host"], "Port": inst["port"], "HostedZoneId": "Z2R2ITUGPM61AM"}
        return {
            "DBInstanceIdentifier": inst["id"], "DBInstanceClass": inst["instance_class"],
            "Engine": "postgres", "DBInstanceStatus": inst["status"],
            "MasterUsername": inst["master_username"], "Endpoint": endpoint,
            "AllocatedStorage": inst["allocated_storage"], "InstanceCreateTime": inst["created"],
            "PreferredBackupWindow": "03:00-03:30", "BackupRetentionPeriod": 7,
            "DBSecurityGroups": [],
            "VpcSecurityGroups": [{"VpcSecurityGroupId": s, "Status": "active"}
                                  for s in inst["security_groups"]],
            "DBParameterGroups": [{"DBParameterGroupName": inst["parameter_group"],
                                   "ParameterApplyStatus": inst["param_status"]}],
            "AvailabilityZone": f"{self.region}a", "DBSubnetGroup": subnet,
            "PreferredMaintenanceWindow": "sun:05:00-sun:05:30",
            "PendingModifiedValues": ({"EngineVersion": inst["pending_upgrade"]["version"]}
                                      if inst.get("pending_upgrade") else {}),
            "MultiAZ": inst["multi_az"], "EngineVersion": inst["engine_version"],
            "AutoMinorVersionUpgrade": True,
            "ReadReplicaSourceDBInstanceIdentifier": inst["source_id"],
            "ReadReplicaDBInstanceIdentifiers": inst["replica_ids"],
            "LicenseModel": "postgresql-license", "Iops": inst["iops"],
            "PubliclyAccessible": False, "StorageType": inst["storage_type"],
            "DbInstancePort": 0, "StorageEncrypted": inst["encrypted"],
            "KmsKeyId": inst["kms_key_id"] and self._kms_arn(inst["kms_key_id"]),
            "DbiResourceId": resource_id("db", inst["id"]),
            "CACertificateIdentifier": inst["ca_identifier"],
            "DBInstanceArn": f"arn:aws:rds:{self.region}:{self.account}:db:{inst['id']}",
            "IAMDatabaseAuthenticationEnabled": False, "PerformanceInsightsEnabled": False,
            "DeletionProtection": False, "StorageThroughput": inst["storage_throughput"],
            "NetworkType": "IPV4", "TagList": [],
        }

    def _subnet_group_shape(self, g, vpc_id=None):
        subnets = []
        for s in g.get("subnets", []):
            sid, az = (s, f"{self.region}a") if isinstance(s, str) else (s["id"], s.get("az"))
            subnets.append({"SubnetIdentifier": sid, "SubnetAvailabilityZone": {"Name": az},
                            "SubnetStatus": "Active"})
        return {"DBSubnetGroupName": g["name"], "DBSubnetGroupDescription": g.get("description", g["name"]),
                "VpcId": g.get("vpc_id", vpc_id), "SubnetGroupStatus": "Complete",
                "Subnets": subnets,
                "DBSubnetGroupArn": f"arn:aws:rds:{self.region}:{self.account}:subgrp:{g['name']}"}

    def _snapshot_shape(self, snap):
        progress = snap["progress"]
        if snap["status"] == "creating" and snap.get("started"):
            elapsed = time.monotonic() - snap["started"]
            progress = min(99, int(100 * elapsed / max(snap["min_seconds"], 0.1)))
        return {
            "DBSnapshotIdentifier": snap["id"], "DBInstanceIdentifier": snap["instance_id"],
            "SnapshotCreateTime": snap["created"], "Engine": "postgres",
            "AllocatedStorage": snap["allocated_storage"], "Status": snap["status"],
            "Port": snap["port"], "AvailabilityZone": f"{self.region}a", "VpcId": snap["vpc_id"],
            "InstanceCreateTime": snap["instance_created"], "MasterUsername": snap["master_username"],
            "EngineVersion": snap["engine_version"], "LicenseModel": "postgresql-license",
            "SnapshotType": "manual", "Iops": snap["iops"], "PercentProgress": progress,
            "SourceRegion": snap.get("source_region"),
            "SourceDBSnapshotIdentifier": snap.get("source_snapshot"),
            "StorageType": snap["storage_type"], "Encrypted": snap["encrypted"],
            "KmsKeyId": snap["kms_key_id"],
            "DBSnapshotArn": f"arn:aws:rds:{self.region}:{self.account}:snapshot:{snap['id']}",
            "IAMDatabaseAuthenticationEnabled": False,
            "DbiResourceId": resource_id("db", snap["instance_id"]),
            "OriginalSnapshotCreateTime": snap["created"], "SnapshotTarget": "region",
            "StorageThroughput": snap["storage_throughput"], "TagList": [],
        }

    # -- instances ------------------------------------------------------------------------------

    def DescribeDBInstances(self, p):
        if p.get("DBInstanceIdentifier"):
            items = [self.instance(p["DBInstanceIdentifier"])]
        else:
            with self.lock:
                items = sorted(self.instances.values(), key=lambda i: i["id"])
        chunk, marker = page(items, p)
        return {"DBInstances": [self._instance_shape(i) for i in chunk], "Marker": marker}

    def ModifyDBInstance(self, p):
        inst = self.instance(p["DBInstanceIdentifier"])
        immediate = p.get("ApplyImmediately") is True
        with self.lock:
            self._require_available(inst)
            upgrade = self._engine_change(inst, p)
            if upgrade is None and immediate and inst.get("pending_upgrade"):
                upgrade = inst["pending_upgrade"]  # ApplyImmediately applies what is pending
            if "CACertificateIdentifier" in p:
                known = self.seed.get("certificates", DEFAULT_CERTIFICATES)
                if p["CACertificateIdentifier"] not in known:
                    raise Fault("CertificateNotFound",
                                f"Certificate {p['CACertificateIdentifier']} not found.")
            new_group = p.get("DBParameterGroupName")
            if new_group and not (upgrade and upgrade["is_major"]):
                self._check_family(new_group, self._family_of(inst["engine_version"]))
            else:
                new_group = None  # a major upgrade brings its group along
            if upgrade and immediate:
                self._check_upgradable(inst, upgrade)
            if "CACertificateIdentifier" in p:
                inst["ca_identifier"] = p["CACertificateIdentifier"]
            if new_group:
                if new_group != inst["parameter_group"]:
                    self._event("db-instance", inst["id"],
                                f"Updated to use DBParameterGroup {new_group}.",
                                ["configuration change"])
                inst["parameter_group"], inst["param_status"] = new_group, "pending-reboot"
            for key, field in (("DBInstanceClass", "instance_class"), ("StorageType", "storage_type"),
                               ("AllocatedStorage", "allocated_storage"), ("Iops", "iops"),
                               ("StorageThroughput", "storage_throughput"), ("MultiAZ", "multi_az")):
                if key in p:
                    inst[field] = p[key]
            if "VpcSecurityGroupIds" in p:
                inst["security_groups"] = list(p["VpcSecurityGroupIds"])
            if upgrade:
                inst["pending_upgrade"] = upgrade
                if immediate:
                    self._start_upgrade(inst, upgrade)
            return {"DBInstance": self._instance_shape(inst)}

    # -- engine version upgrades ------------------------------------------------------------------

    def _family_of(self, version):
        for ev in self.engine_versions:
            if ev["version"] == version and ev.get("family"):
                return ev["family"]
        return f"postgres{major_of(version)}"

    def _engine_change(self, inst, p):
        """Validates ModifyDBInstance's EngineVersion as RDS does: None when it asks for no
        change, else {version, major, is_major, group (the group after a major upgrade)}."""
        target, current = p.get("EngineVersion"), inst["engine_version"]
        if not target or target == current:
            return None
        if target not in self._upgrade_targets(current):
            raise Fault("InvalidParameterCombination",
                        f"Cannot upgrade postgres from {current} to {target}")
        major = major_of(target)
        if major == inst["major"]:
            return {"version": target, "major": major, "is_major": False, "group": None}
        if p.get("AllowMajorVersionUpgrade") is not True:
            raise Fault("InvalidParameterCombination",
                        "The AllowMajorVersionUpgrade flag must be present when upgrading to a "
                        "new major version.")
        family = self._family_of(target)
        name = p.get("DBParameterGroupName") or inst["parameter_group"]
        if (not p.get("DBParameterGroupName") and name.startswith("default.postgres")
                and self._group(name)["family"] != family):
            name = f"default.{family}"  # RDS moves a default group to the new default
        self._check_family(name, family)
        return {"version": target, "major": major, "is_major": True, "group": name}

    def _check_family(self, name, family):
        group = self._group(name)
        if group["family"] != family:
            raise Fault("InvalidParameterCombination",
                        f"The parameter group {name} with DBParameterGroupFamily "
                        f"{group['family']} can't be used for this instance. Use a parameter "
                        f"group with DBParameterGroupFamily {family}.")

    def _check_upgradable(self, inst, upgrade):
        """What the double cannot do (not AWS rules): clear faults before anything changes."""
        if not inst["owned"]:
            raise Fault("InvalidDBInstanceState",
                        f"Instance {inst['id']} was seeded by the test; the local AWS double "
                        "changes the engine version only of instances it created (restored or "
                        "replicas), never the test's clusters on disk.")
        if inst["source_id"] or inst["replica_ids"]:
            raise Fault("InvalidDBInstanceState",
                        f"Instance {inst['id']} is part of a read-replica set; the local AWS "
                        "double does not upgrade read replicas or their sources.")
        if (upgrade["is_major"] and inst["major"] <= clusters.DUMPALL_MAX_MAJOR
                and self.bin_dir(upgrade["major"]) is None):
            raise Fault("InvalidParameterValue",
                        f"The local AWS double has no PostgreSQL {upgrade['major']} binaries: "
                        f"name them in its seed (\"bin_dirs\": {{\"{upgrade['major']}\": "
                        "\"/path/bin\"}).")

    def _start_upgrade(self, inst, upgrade):
        inst["status"] = "upgrading"
        started = time.monotonic()
        body = self._major_upgrade if upgrade["is_major"] else self._minor_upgrade

        def broken():  # a bug of the double, not a rolled-back upgrade
            inst.update(status="failed", pending_upgrade=None)
        self._background(f"upgrade {inst['id']}", lambda: body(inst, upgrade, started), broken)

    def _end_upgrade(self, inst, started):
        """Back to available, the status having been `upgrading` at least timings.upgrade_seconds."""
        remaining = float(self.timings.get("upgrade_seconds", 0)) - (time.monotonic() - started)
        if remaining > 0:
            self.closing.wait(remaining)
        inst.update(status="available", pending_upgrade=None)

    def _minor_upgrade(self, inst, upgrade, started):
        """Minor versions share the on-disk format: a restart with the same binaries."""
        ev = self._instance_events(inst)
        ev(EV_UPGRADE_STARTED)
        if not self.closing.is_set():
            inst["cluster"].restart(self._settings(inst))
            clusters.wait_until(
                lambda: self.closing.is_set() or inst["cluster"].accepts_connections(), 120)
        inst.update(engine_version=upgrade["version"], param_status="in-sync")
        ev(EV_UPGRADE_FINISHED)
        self._end_upgrade(inst, started)

    def _instance_events(self, inst):
        def ev(message, categories=("maintenance",)):
            self._event("db-instance", inst["id"], message, categories)
        return ev

    def _major_upgrade(self, inst, upgrade, started):
        """RDS's major-version upgrade: pre-check (refusal leaves the instance untouched), then
        the upgrade proper (a failure rolls back to the old cluster and version)."""
        ev = self._instance_events(inst)
        steps = []

        def step(line):
            steps.append(f"{now().strftime('%Y-%m-%d %H:%M:%S UTC')} {line}")
            self.log(f"upgrade {inst['id']}: {line}")

        def refuse(message):
            ev(CANNOT_UPGRADE + message, ("notification",))
            ev(EV_ROLLED_BACK)
        ev(EV_PRECHECK_STARTED)
        try:
            problems = self._precheck(inst)
        except Exception as e:  # noqa: BLE001 - the server could not be asked
            step(f"pre-check failed: {e}")
            refuse("the pre-check could not query the instance.")
            self._end_upgrade(inst, started)
            return
        if problems:
            self._write_precheck_log(inst, upgrade, problems)
            ev(PRECHECK_FAILED + " ".join(reason for reason, _ in problems), ("notification",))
            self._end_upgrade(inst, started)
            return
        ev(EV_PRECHECK_FINISHED)
        if inst["major"] > clusters.DUMPALL_MAX_MAJOR:
            refuse(f"the local AWS double upgrades only from PostgreSQL "
                   f"{clusters.DUMPALL_MAX_MAJOR} or older (it copies the data with Debian's "
                   f"pg_dumpall {clusters.DUMPALL_MAX_MAJOR}); this instance runs "
                   f"{inst['major']}.")
            self._end_upgrade(inst, started)
            return
        ev(EV_DOWNTIME)
        ev(EV_UPGRADE_STARTED)
        step(f"upgrading {inst['engine_version']} -> {upgrade['version']} by dump and restore "
             "(pg_upgrade cannot run here: the npm builds lack pg_resetwal)")
        old_group = inst["parameter_group"]
        try:
            self._dump_and_restore(inst, upgrade, step)
        except RollbackFailed:
            raise
        except Exception as e:  # noqa: BLE001 - rolled back: the reason goes to the events
            step(f"failed, rolled back to {inst['engine_version']}: {e}")
            self._write_upgrade_log(inst, steps)
            refuse(str(e) if isinstance(e, UpgradeFault) else f"the upgrade failed: {e}")
            self._end_upgrade(inst, started)
            return
        step("finished")
        self._write_upgrade_log(inst, steps)
        ev(EV_UPGRADE_FINISHED)
        if inst["parameter_group"] != old_group:
            ev(f"Updated to use DBParameterGroup {inst['parameter_group']}.",
               ("configuration change",))
        ev(EV_POST_UPGRADE)
        self._end_upgrade(inst, started)

    def _precheck(self, inst):
        """[(reason, detail lines)]: what makes RDS refuse a major-version upgrade."""
        cluster, problems = inst["cluster"], []
        slots = cluster.query("SELECT slot_name, coalesce(database, ''), coalesce(plugin, '') "
                              "FROM pg_replication_slots WHERE slot_type = 'logical' ORDER BY 1")
        if slots:
            problems.append((SLOTS_REASON, [
                f'logical replication slot "{name}" (plugin {plugin}) in database "{db}"'
                for name, db, plugin in slots]))
        xacts = cluster.query("SELECT gid, database, owner FROM pg_prepared_xacts ORDER BY prepared")
        if xacts:
            problems.append((PREPARED_REASON, [
                f'prepared transaction "{gid}" in database "{db}" (owner {owner})'
                for gid, db, owner in xacts]))
        return problems

    def _upgrade_log_path(self, inst, name):
        when = now()
        return when, os.path.join(inst["cluster"].log_dir, "error",
                                  f"{name}.{when.strftime('%Y-%m-%d-%H')}")

    def _append_log(self, path, text):
        clusters.make_postgres_dir(os.path.dirname(path))
        with open(path, "a") as f:
            f.write(text)
        if clusters.IS_ROOT:
            shutil.chown(path, "postgres", "postgres")

    def _write_precheck_log(self, inst, upgrade, problems):
        """error/pg_upgrade_precheck.log.<hour>, framed as RDS writes it, naming each object."""
        when, path = self._upgrade_log_path(inst, "pg_upgrade_precheck.log")
        rule = "-" * 66
        lines = [rule, f"Upgrade could not be run on {when.strftime('%a %b %d %H:%M:%S %Y')}", rule,
                 f"The instance could not be upgraded from {inst['engine_version']}.R1 to "
                 f"{upgrade['version']}.R1 because of following reasons. Please take appropriate "
                 "action on databases that have usages incompatible with requested major engine "
                 "version upgrade and try again."]
        for reason, details in problems:
            lines.append(f"- {reason}")
            lines += [f"    {d}" for d in details]
        lines += ["", "----------------------- END OF LOG ----------------------", ""]
        self._append_log(path, "\n".join(lines) + "\n")

    def _write_upgrade_log(self, inst, steps):
        """error/pg_upgrade_internal.log.<hour>: what the double did (its own words)."""
        _, path = self._upgrade_log_path(inst, "pg_upgrade_internal.log")
        self._append_log(path, "".join(f"{line}\n" for line in steps))

    def _dump_and_restore(self, inst, upgrade, step):
        """The upgrade proper. The old server, restarted to listen only on its socket (clients
        see the downtime), is dumped with pg_dumpall and stopped; a new cluster of the target
        major (same superuser, password, locale, pg_hba.conf and included configuration) loads
        the dump and takes the old one's place. Any failure puts the old cluster back, running."""
        old = inst["cluster"]
        data, home = old.data_dir, inst["dir"]
        work, new_dir, saved = (os.path.join(home, n) for n in ("upgrade", "new", "old"))
        bin_dir = self.bin_dir(upgrade["major"])
        old_settings, new_settings = self._settings(inst), self._group_settings(upgrade["group"])
        new = clusters.Cluster(new_dir, bin_dir, inst["port"], upgrade["major"], old.user,
                               old.password, owned=True)
        for d in (work, new_dir, saved):
            clusters.remove_dir(d)
        clusters.make_postgres_dir(work)
        swapped = False
        try:
            self._dump_into(old, new, work, old_settings, new_settings, step)
            os.rename(data, saved)
            os.rename(new_dir, data)
            swapped = True
            clusters.configure_instance(data, inst["port"])
            clusters.merge_logs(os.path.join(saved, "log"), os.path.join(data, "log"))
            self._injected_upgrade_fault(inst)
            self._not_closing()
            final = clusters.Cluster(data, bin_dir, inst["port"], upgrade["major"], old.user,
                                     old.password, owned=True)
            final.start(new_settings)
            if not clusters.wait_until(
                    lambda: self.closing.is_set() or final.accepts_connections(), 300):
                raise RuntimeError("the upgraded cluster does not accept connections")
        except BaseException:
            self._roll_back(inst, old, new, swapped, saved, old_settings)
            raise
        inst.update(cluster=final, engine_version=upgrade["version"], major=upgrade["major"],
                    parameter_group=upgrade["group"], param_status="in-sync")
        clusters.remove_dir(saved)
        clusters.remove_dir(work)

    def _dump_into(self, old, new, work, old_settings, new_settings, step, started=None):
        """The data of `old` in `new`, a new cluster of another major (the dump-and-restore of a
        major upgrade). old is (re)started to listen only on its socket, dumped with pg_dumpall
        into work/ and stopped; new is made by initdb (while old is dumped) with old's
        superuser, password and locale, pg_hba.conf and included configuration, loads the dump
        and is stopped. started(): called once old runs again (may raise). Both are stopped
        when this returns or raises."""
        socket_only = {"listen_addresses": ""}
        initdb_job, initdb_error = None, []

        def make_new_cluster(collate, ctype):
            try:
                clusters.initdb(new.bin_dir, new.data_dir, old.user, old.password, collate,
                                ctype, work)
            except Exception as e:  # noqa: BLE001 - reported by the upgrade thread
                initdb_error.append(e)
        try:
            self._not_closing()
            old.stop("fast")
            old.start(dict(old_settings, **socket_only))
            collate, ctype = old.query("SELECT datcollate, datctype FROM pg_database "
                                       "WHERE datname = 'template1'", socket_only=True)[0]
            if started is not None:
                started()
            self._not_closing()
            # initdb of the new cluster runs while the old one is dumped.
            initdb_job = threading.Thread(target=make_new_cluster, args=(collate, ctype),
                                          daemon=True)
            initdb_job.start()
            dump = os.path.join(work, "dumpall.sql")
            clusters.dumpall(old, dump)
            step(f"pg_dumpall of the old cluster: {os.path.getsize(dump)} bytes")
            old.stop("fast")
            initdb_job.join()
            if initdb_error:
                raise initdb_error[0]
            self._not_closing()
            clusters.carry_config(old.data_dir, new.data_dir)
            clusters.configure_instance(new.data_dir, new.port)
            new.start(dict(new_settings, **socket_only))
            step(f"initdb of PostgreSQL {new.major} ({new.bin_dir}), lc_collate {collate}, "
                 f"lc_ctype {ctype}")
            clusters.restore_dump(new, dump, step)
            new.stop("fast")
        finally:
            if initdb_job is not None:
                initdb_job.join()

    def _roll_back(self, inst, old, new, swapped, saved, old_settings):
        try:
            data = old.data_dir
            if swapped:
                clusters.run([f"{new.bin_dir}/pg_ctl", "-D", data, "-m", "immediate", "-w",
                              "stop"], check=False, timeout=120)
                clusters.remove_dir(data)
            elif os.path.isdir(new.data_dir):
                new.stop("immediate")
            if not os.path.isdir(data) and os.path.isdir(saved):
                os.rename(saved, data)
            clusters.remove_dir(new.data_dir)
            clusters.remove_dir(os.path.join(inst["dir"], "upgrade"))
            if self.closing.is_set():
                return
            old.stop("fast")  # it may run on its socket only
            old.start(old_settings)
            if not clusters.wait_until(
                    lambda: self.closing.is_set() or old.accepts_connections(), 120):
                raise RuntimeError("the old cluster does not accept connections")
        except Exception as e:
            raise RollbackFailed(f"rolling back the upgrade of {inst['id']} failed: {e}") from e

    def _not_closing(self):
        if self.closing.is_set():
            raise RuntimeError("the double is stopping")

    def _injected_upgrade_fault(self, inst):
        fault = self.upgrade_faults.get(inst["id"])
        if fault and fault.get("times", -1) != 0:
            fault["times"] = fault.get("times", -1) - 1
            raise UpgradeFault(fault.get("message", "pg_upgrade failed"))

    def RebootDBInstance(self, p):
        inst = self.instance(p["DBInstanceIdentifier"])
        self._require_available(inst)
        inst["status"] = "rebooting"
        shape = self._instance_shape(inst)

        def reboot():
            if self.closing.is_set():
                return
            inst["cluster"].restart(self._settings(inst))
            clusters.wait_until(
                lambda: self.closing.is_set() or inst["cluster"].accepts_connections(), 120)
            inst["param_status"] = "in-sync"
            self._event("db-instance", inst["id"], "DB instance restarted.", ["availability"])
            inst["status"] = "available"
        self._background(f"reboot {inst['id']}", reboot, lambda: inst.update(status="failed"))
        return {"DBInstance": shape}

    def DeleteDBInstance(self, p):
        inst = self.instance(p["DBInstanceIdentifier"])
        if not inst["owned"]:
            raise Fault("InvalidDBInstanceState",
                        f"Instance {inst['id']} was seeded by the test; the double does not "
                        "delete clusters it did not create.")
        if inst["status"] not in ("available", "failed", "incompatible-restore"):
            raise Fault("InvalidDBInstanceState",
                        f"Instance {inst['id']} is currently {inst['status']}.")
        if not p.get("SkipFinalSnapshot") and not p.get("FinalDBSnapshotIdentifier"):
            raise Fault("InvalidParameterCombination",
                        "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.")
        if p.get("FinalDBSnapshotIdentifier"):
            raise Fault("InvalidParameterCombination",
                        "The local double does not take final snapshots; use SkipFinalSnapshot.")
        inst["status"] = "deleting"
        shape = self._instance_shape(inst)

        def delete():
            self.destroy(inst)
            with self.lock:
                self.instances.pop(inst["id"], None)
                self._event("db-instance", inst["id"], "DB instance deleted.", ["deletion"])
                for other in self.instances.values():
                    if inst["id"] in other["replica_ids"]:
                        other["replica_ids"].remove(inst["id"])
        self._background(f"delete {inst['id']}", delete, lambda: None)
        return {"DBInstance": shape}

    def destroy(self, inst):
        """Stops and removes an instance the double created."""
        if inst.get("owned") and inst.get("cluster"):
            inst["cluster"].stop("immediate")
            clusters.remove_dir(inst["dir"])

    def _create_owned(self, ident, spec, make_data, event):
        """Registers a new instance (status creating) and builds its cluster in the background:
        make_data(data_dir, inst) fills the data directory; then it starts on a free loopback port.
        event: (message, category) recorded once it is available."""
        with self.lock:
            if ident in self.instances:
                raise Fault("DBInstanceAlreadyExists", "DB instance already exists")
            inst = self._new_instance(ident, spec)
            inst["owned"], inst["port"] = True, free_port()
            inst["dir"] = os.path.join(self.root, "instances", ident)
            self.instances[ident] = inst
        data_dir = os.path.join(inst["dir"], "data")

        def build():
            make_data(data_dir, inst)
            cluster = clusters.Cluster(data_dir, spec["bin_dir"], inst["port"], inst["major"],
                                       spec["admin_user"], spec["admin_password"], owned=True)
            inst["cluster"] = cluster
            if self.closing.is_set():
                raise RuntimeError("the double is stopping")
            cluster.start(self._settings(inst))
            if not clusters.wait_until(
                    lambda: self.closing.is_set() or cluster.accepts_connections(), 300):
                raise RuntimeError("the new cluster does not accept connections")
            self._event("db-instance", ident, event[0], [event[1]])
            inst["status"] = "available"
        self._background(f"create {ident}", build, lambda: inst.update(status="failed"))
        return inst

    def _spec_overrides(self, base, p):
        spec = dict(base)
        for key, field in (("DBInstanceClass", "instance_class"), ("StorageType", "storage_type"),
                           ("Iops", "iops"), ("StorageThroughput", "storage_throughput"),
                           ("MultiAZ", "multi_az"), ("AllocatedStorage", "allocated_storage"),
                           ("DBParameterGroupName", "parameter_group"),
                           ("CACertificateIdentifier", "ca_identifier")):
            if p.get(key) is not None:
                spec[field] = p[key]
        if p.get("DBParameterGroupName"):
            self._group(p["DBParameterGroupName"])
        if p.get("DBSubnetGroupName"):
            g = self.subnet_groups.get(p["DBSubnetGroupName"])
            if g is None:
                raise Fault("DBSubnetGroupNotFoundFault",
                            f"DBSubnetGroup {p['DBSubnetGroupName']} not found.")
            spec["subnet_group"], spec["vpc_id"] = g["name"], g.get("vpc_id")
        if p.get("VpcSecurityGroupIds"):
            known = {s["id"]: s for s in self.seed.get("security_groups", [])}
            for sg in p["VpcSecurityGroupIds"]:
                if sg not in known:
                    raise Fault("InvalidParameterValue", f"Invalid security group: {sg}")
            spec["security_groups"] = list(p["VpcSecurityGroupIds"])
        return spec

    def RestoreDBInstanceFromDBSnapshot(self, p, form):
        snap = self.snapshot(p["DBSnapshotIdentifier"])
        if snap["status"] != "available":
            raise Fault("InvalidDBSnapshotState", f"Snapshot {snap['id']} is not available.")
        if major_of(snap["engine_version"]) != snap["major"]:
            raise Fault("InvalidParameterValue", "snapshot engine version does not match its data")
        if "AllocatedStorage" in form and "AllocatedStorage" not in p:  # newer API than botocore's
            p["AllocatedStorage"] = int(form["AllocatedStorage"])
        spec = self._spec_overrides(snap["instance_spec"], p)
        spec["engine_version"] = snap["engine_version"]
        spec["encrypted"], spec["kms_key_id"] = snap["encrypted"], snap["kms_key_id"]
        spec["read_replica_source"] = None

        def make(data, inst):
            clusters.copy_dir(snap["dir"], data)
            clusters.configure_instance(data, inst["port"])
        inst = self._create_owned(p["DBInstanceIdentifier"], spec, make,
                                  (f"Restored from snapshot {snap['id']}.", "restoration"))
        return {"DBInstance": self._instance_shape(inst)}

    def CreateDBInstanceReadReplica(self, p):
        source = self.instance(p["SourceDBInstanceIdentifier"])
        self._require_available(source)
        spec = self._spec_overrides(self._spec_of(source), p)
        spec["read_replica_source"] = source["id"]
        cluster = source["cluster"]

        def make(data, inst):
            cluster.physical_copy(data)
            clusters.configure_instance(data, inst["port"],
                                        primary=(cluster.port, cluster.user, cluster.password))
        inst = self._create_owned(p["DBInstanceIdentifier"], spec, make,
                                  ("DB instance created.", "creation"))
        source["replica_ids"].append(inst["id"])
        return {"DBInstance": self._instance_shape(inst)}

    def _spec_of(self, inst):
        c = inst["cluster"]
        return {"major": inst["major"], "engine_version": inst["engine_version"],
                "instance_class": inst["instance_class"], "storage_type": inst["storage_type"],
                "allocated_storage": inst["allocated_storage"], "iops": inst["iops"],
                "storage_throughput": inst["storage_throughput"],
                "parameter_group": inst["parameter_group"], "subnet_group": inst["subnet_group"],
                "vpc_id": inst["vpc_id"], "security_groups": inst["security_groups"],
                "encrypted": inst["encrypted"], "kms_key_id": inst["kms_key_id"],
                "ca_identifier": inst["ca_identifier"], "multi_az": inst["multi_az"],
                "master_username": inst["master_username"], "bin_dir": c.bin_dir,
                "admin_user": c.user, "admin_password": c.password}

    # -- parameter groups, engines, options, subnets, certificates ------------------------------

    def DescribeDBParameterGroups(self, p):
        if p.get("DBParameterGroupName"):
            names = [p["DBParameterGroupName"]]
            self._group(names[0])
        else:
            names = sorted(self.param_groups)
        chunk, marker = page(names, p)
        return {"DBParameterGroups": [{
            "DBParameterGroupName": n, "DBParameterGroupFamily": self.param_groups[n]["family"],
            "Description": self.param_groups[n]["description"],
            "DBParameterGroupArn": f"arn:aws:rds:{self.region}:{self.account}:pg:{n}"}
            for n in chunk], "Marker": marker}

    def DescribeDBParameters(self, p):
        group = self._group(p["DBParameterGroupName"])
        items = [dict(v, name=k) for k, v in sorted(group["parameters"].items())]
        if p.get("Source"):
            items = [i for i in items if i["source"] == p["Source"]]
        chunk, marker = page(items, p)
        return {"Parameters": [{
            "ParameterName": i["name"], "ParameterValue": i["value"],
            "Description": i["description"], "Source": i["source"], "ApplyType": i["apply_type"],
            "DataType": i["data_type"], "AllowedValues": i.get("allowed_values"),
            "IsModifiable": True,
            "ApplyMethod": "pending-reboot" if i["apply_type"] == "static" else "immediate"}
            for i in chunk], "Marker": marker}

    def ModifyDBParameterGroup(self, p):
        name = p["DBParameterGroupName"]
        group = self._group(name)
        if name.startswith("default."):
            raise Fault("InvalidParameterValue", f"Default parameter groups cannot be modified: {name}")
        changes = p.get("Parameters", [])
        if not 1 <= len(changes) <= 20:
            raise Fault("InvalidParameterValue", "Between 1 and 20 parameters may be modified at once.")
        for c in changes:
            pname, method = c.get("ParameterName"), c.get("ApplyMethod")
            if not pname or method not in ("immediate", "pending-reboot"):
                raise Fault("InvalidParameterValue",
                            "Each parameter needs ParameterName and an ApplyMethod of "
                            "immediate or pending-reboot.")
            if pname in STATIC_PARAMETERS and method == "immediate":
                raise Fault("InvalidParameterCombination",
                            "cannot use immediate apply method for static parameter")
        static_change = False
        for c in changes:
            old = group["parameters"].get(c["ParameterName"]) or _parameter(c["ParameterName"], None)
            group["parameters"][c["ParameterName"]] = dict(old, value=c.get("ParameterValue"),
                                                          source="user")
            static_change |= old["apply_type"] == "static"
        with self.lock:
            for inst in self.instances.values():
                if inst["parameter_group"] == name and static_change:
                    inst["param_status"] = "pending-reboot"
        return {"DBParameterGroupName": name}

    def DescribeDBEngineVersions(self, p):
        items = []
        for ev in self.engine_versions:
            if p.get("Engine") and p["Engine"] != "postgres":
                continue
            if p.get("EngineVersion") and p["EngineVersion"] != ev["version"]:
                continue
            if p.get("DBParameterGroupFamily") and p["DBParameterGroupFamily"] != ev.get("family"):
                continue
            items.append({
                "Engine": "postgres", "EngineVersion": ev["version"],
                "DBParameterGroupFamily": ev.get("family", f"postgres{major_of(ev['version'])}"),
                "DBEngineDescription": "PostgreSQL",
                "DBEngineVersionDescription": f"PostgreSQL {ev['version']}-R1",
                "MajorEngineVersion": str(major_of(ev["version"])),
                "ValidUpgradeTarget": [{
                    "Engine": "postgres", "EngineVersion": t["version"],
                    "Description": f"PostgreSQL {t['version']}-R1",
                    "AutoUpgrade": False, "IsMajorVersionUpgrade": t.get("is_major", False),
                    "SupportedEngineModes": ["provisioned"]}
                    for t in ev.get("valid_upgrade_targets", [])],
                "ExportableLogTypes": ["postgresql", "upgrade"],
                "SupportsLogExportsToCloudwatchLogs": True, "SupportsReadReplica": True,
                "SupportedEngineModes": ["provisioned"], "Status": "available"})
        chunk, marker = page(items, p)
        return {"DBEngineVersions": chunk, "Marker": marker}

    def DescribeOrderableDBInstanceOptions(self, p):
        items = []
        for o in self.seed.get("orderable_options", []):
            if p.get("EngineVersion") and p["EngineVersion"] != o["engine_version"]:
                continue
            if p.get("DBInstanceClass") and p["DBInstanceClass"] != o["instance_class"]:
                continue
            for storage in o.get("storage_types", ["gp2", "gp3", "io1"]):
                items.append({
                    "Engine": p["Engine"], "EngineVersion": o["engine_version"],
                    "DBInstanceClass": o["instance_class"], "LicenseModel": "postgresql-license",
                    "AvailabilityZones": [{"Name": f"{self.region}{z}"} for z in "abc"],
                    "MultiAZCapable": True, "ReadReplicaCapable": True, "Vpc": True,
                    "SupportsStorageEncryption": True, "StorageType": storage,
                    "SupportsIops": storage != "gp2", "SupportsStorageThroughput": storage == "gp3",
                    "MinStorageSize": 20, "MaxStorageSize": 65536,
                    "SupportedEngineModes": ["provisioned"], "SupportsStorageAutoscaling": True})
        if p["Engine"] != "postgres":
            items = []
        chunk, marker = page(items, p, maximum=10000)
        return {"OrderableDBInstanceOptions": chunk, "Marker": marker}

    def DescribeDBSubnetGroups(self, p):
        if p.get("DBSubnetGroupName"):
            g = self.subnet_groups.get(p["DBSubnetGroupName"])
            if g is None:
                raise Fault("DBSubnetGroupNotFoundFault",
                            f"DBSubnetGroup {p['DBSubnetGroupName']} not found.")
            items = [g]
        else:
            items = [self.subnet_groups[n] for n in sorted(self.subnet_groups)]
        chunk, marker = page(items, p)
        return {"DBSubnetGroups": [self._subnet_group_shape(g) for g in chunk], "Marker": marker}

    def DescribeCertificates(self, p):
        names = self.seed.get("certificates", DEFAULT_CERTIFICATES)
        if p.get("CertificateIdentifier"):
            if p["CertificateIdentifier"] not in names:
                raise Fault("CertificateNotFound", f"Certificate {p['CertificateIdentifier']} not found.")
            names = [p["CertificateIdentifier"]]
        chunk, marker = page(names, p)
        start = datetime.datetime(2021, 5, 25, tzinfo=datetime.timezone.utc)
        return {"Certificates": [{
            "CertificateIdentifier": n, "CertificateType": "CA",
            "Thumbprint": hashlib.sha1(n.encode()).hexdigest(), "ValidFrom": start,
            "ValidTill": start.replace(year=2061),
            "CertificateArn": f"arn:aws:rds:{self.region}::cert:{n}", "CustomerOverride": False}
            for n in chunk], "Marker": marker}

    # -- snapshots ------------------------------------------------------------------------------

    def CreateDBSnapshot(self, p):
        inst = self.instance(p["DBInstanceIdentifier"])
        self._require_available(inst)
        snap = self._new_snapshot(p["DBSnapshotIdentifier"], inst)
        cluster = inst["cluster"]
        snap["mode"] = inst.get("snapshot_mode") or self.snapshot_mode
        self._event("db-snapshot", snap["id"], "Creating manual snapshot.", ["creation"])

        def copy():
            if snap["mode"] == "backup":  # an online base backup, with the slots
                cluster.physical_copy(snap["dir"], with_slots=True)
            else:
                lsn = cluster.crash_consistent_copy(snap["dir"], free_port(), self.closing)
                self.log(f"snapshot {snap['id']}: crash-consistent copy of {inst['id']} "
                         f"caught up to {lsn}")
        self._fill_snapshot(snap, copy, ("Manual snapshot created.", "creation"))
        return {"DBSnapshot": self._snapshot_shape(snap)}

    def _new_snapshot(self, ident, inst=None, source=None):
        with self.lock:
            if ident in self.snapshots:
                raise Fault("DBSnapshotAlreadyExists", f"Cannot create the snapshot because a "
                            f"snapshot with the identifier {ident} already exists.")
            if source is not None:
                snap = dict(source, id=ident, source_snapshot=source["id"])
            else:
                snap = {"id": ident, "instance_id": inst["id"], "major": inst["major"],
                        "engine_version": inst["engine_version"],
                        "allocated_storage": inst["allocated_storage"], "port": inst["port"],
                        "vpc_id": inst["vpc_id"], "instance_created": inst["created"],
                        "master_username": inst["master_username"], "iops": inst["iops"],
                        "storage_type": inst["storage_type"], "encrypted": inst["encrypted"],
                        "kms_key_id": inst["kms_key_id"] and self._kms_arn(inst["kms_key_id"]),
                        "storage_throughput": inst["storage_throughput"],
                        "instance_spec": self._spec_of(inst)}
            snap.update(status="creating", progress=0, created=now(), started=time.monotonic(),
                        min_seconds=float(self.timings.get("snapshot_seconds", 0)),
                        dir=os.path.join(self.root, "snapshots", ident))
            self.snapshots[ident] = snap
        return snap

    def _fill_snapshot(self, snap, copy, event):
        def body():
            copy()
            remaining = snap["min_seconds"] - (time.monotonic() - snap["started"])
            if remaining > 0:
                time.sleep(remaining)
            self._event("db-snapshot", snap["id"], event[0], [event[1]])
            snap.update(status="available", progress=100, started=None)
        self._background(f"snapshot {snap['id']}", body, lambda: snap.update(status="failed"))

    def DescribeDBSnapshots(self, p):
        if p.get("DBSnapshotIdentifier"):
            items = [self.snapshot(p["DBSnapshotIdentifier"])]
        else:
            with self.lock:
                items = sorted(self.snapshots.values(), key=lambda s: s["created"])
            if p.get("DBInstanceIdentifier"):
                items = [s for s in items if s["instance_id"] == p["DBInstanceIdentifier"]]
        if p.get("SnapshotType") not in (None, "manual"):
            items = []
        chunk, marker = page(items, p)
        return {"DBSnapshots": [self._snapshot_shape(s) for s in chunk], "Marker": marker}

    def ModifyDBSnapshot(self, p):
        snap = self.snapshot(p["DBSnapshotIdentifier"])
        with self.lock:
            if snap["status"] != "available":
                raise Fault("InvalidDBSnapshotState", f"Snapshot {snap['id']} is not available.")
            target = p.get("EngineVersion")
            if not target or target == snap["engine_version"]:
                return {"DBSnapshot": self._snapshot_shape(snap)}
            if target not in self._upgrade_targets(snap["engine_version"]):
                raise Fault("InvalidParameterValue",
                            f"Cannot upgrade postgres from {snap['engine_version']} to {target}")
            major = major_of(target)
            if major == snap["major"]:
                snap.update(engine_version=target, status="upgrading")
                shape = self._snapshot_shape(snap)
                # Minor versions share the on-disk format: the data stays as it is.
                threading.Timer(1.0, lambda: snap.update(status="available")).start()
                return {"DBSnapshot": shape}
            if self.bin_dir(major) is None or self._snapshot_bin_dir(snap) is None:
                missing = major if self.bin_dir(major) is None else snap["major"]
                raise Fault("InvalidParameterValue",
                            f"The local AWS double has no PostgreSQL {missing} binaries: name "
                            f"them in its seed (\"bin_dirs\": {{\"{missing}\": \"/path/bin\"}}).")
            snap["status"] = "upgrading"
            shape = self._snapshot_shape(snap)
        started = time.monotonic()
        self._background(f"snapshot upgrade {snap['id']}",
                         lambda: self._snapshot_major_upgrade(snap, target, started),
                         lambda: snap.update(status="failed"))
        return {"DBSnapshot": shape}

    def _snapshot_bin_dir(self, snap):
        """The binaries of the snapshot's own major (those of the instance it was taken of)."""
        spec_bin = snap["instance_spec"].get("bin_dir")
        if spec_bin and os.access(os.path.join(spec_bin, "postgres"), os.X_OK):
            return spec_bin
        return self.bin_dir(snap["major"])

    def _snapshot_fault(self, name, snap):
        """A snapshot_upgrade_faults switch: true (every snapshot) or a list of snapshot ids."""
        which = self.snapshot_upgrade_faults.get(name)
        return which is True or (isinstance(which, list) and snap["id"] in which)

    def _snapshot_major_upgrade(self, snap, target, started):
        """ModifyDBSnapshot to another major, as RDS most likely does it: the snapshot's data
        is started on its own major (a real crash or backup recovery, logged by that server into
        the snapshot's log folder), stopped, and upgraded by the dump and restore of
        ModifyDBInstance. The new snapshot holds the new cluster's files (no slots, fresh WAL)
        and the old server's log files (error/postgresql.log.<hour>). A failure leaves the
        snapshot as it was, at its version, available again."""
        old_version = snap["engine_version"]

        def ev(message):
            self._event("db-snapshot", snap["id"], message, ["notification"])

        def step(line):
            self.log(f"snapshot upgrade {snap['id']}: {line}")
        ev(EV_SNAPSHOT_UPGRADE_STARTED.format(old_version, target))
        home = snap["dir"] + ".upgrade"
        major = major_of(target)
        try:
            # A restore of the upgraded snapshot runs the new major, in a group of its family.
            spec = dict(snap["instance_spec"], major=major, engine_version=target,
                        bin_dir=self.bin_dir(major))
            family = self._family_of(target)
            if self._group(spec["parameter_group"])["family"] != family:
                spec["parameter_group"] = f"default.{family}"
            new_dir = self._upgrade_snapshot_data(snap, target, home, step)
            self._not_closing()
            os.rename(snap["dir"], os.path.join(home, "previous"))
            os.rename(new_dir, snap["dir"])
        except Exception as e:  # noqa: BLE001 - rolled back: the snapshot is left as it was
            step(f"failed, left at {old_version}: {e}")
            clusters.remove_dir(home)
            ev(EV_SNAPSHOT_UPGRADE_FAILED.format(old_version, target, old_version, e))
            self._end_snapshot_upgrade(snap, started)
            return
        snap.update(engine_version=target, major=major, instance_spec=spec)
        clusters.remove_dir(home)
        step("finished")
        ev(EV_SNAPSHOT_UPGRADE_FINISHED.format(old_version, target))
        self._end_snapshot_upgrade(snap, started)

    def _end_snapshot_upgrade(self, snap, started):
        remaining = float(self.timings.get("upgrade_seconds", 0)) - (time.monotonic() - started)
        if remaining > 0:
            self.closing.wait(remaining)
        snap["status"] = "available"

    def _upgrade_snapshot_data(self, snap, target, home, step):
        """Builds the upgraded snapshot's files in home/new (returned); home/old is the started
        copy of the snapshot, home/work the dump. Nothing of the snapshot itself changes."""
        spec = snap["instance_spec"]
        major = major_of(target)
        old_dir, new_dir, work = (os.path.join(home, n) for n in ("old", "new", "work"))
        clusters.remove_dir(home)
        clusters.make_postgres_dir(home)
        clusters.make_postgres_dir(work)
        if snap["major"] > clusters.DUMPALL_MAX_MAJOR:
            raise RuntimeError(f"the local AWS double upgrades only from PostgreSQL "
                               f"{clusters.DUMPALL_MAX_MAJOR} or older (it copies the data with "
                               f"Debian's pg_dumpall {clusters.DUMPALL_MAX_MAJOR}); this snapshot "
                               f"is of {snap['major']}.")
        clusters.copy_dir(snap["dir"], old_dir)
        old_port = free_port()
        clusters.configure_instance(old_dir, old_port)
        user, password = spec["admin_user"], spec["admin_password"]
        old = clusters.Cluster(old_dir, self._snapshot_bin_dir(snap), old_port, snap["major"],
                               user, password, owned=True)
        new = clusters.Cluster(new_dir, self.bin_dir(major), free_port(), major, user, password,
                               owned=True)
        step(f"upgrading {snap['engine_version']} -> {target} by dump and restore: the "
             f"snapshot's data starts on PostgreSQL {snap['major']} ({old.bin_dir})")

        def injected_fault():  # once the old server has recovered the snapshot's data
            if self._snapshot_fault("upgrade_fails", snap):
                raise UpgradeFault("the upgrade failed (the seed's snapshot_upgrade_faults)")
        try:
            self._dump_into(old, new, work, self._group_settings(spec["parameter_group"]), {},
                            step, started=injected_fault)
        finally:
            old.stop("immediate")
            new.stop("immediate")
        # The snapshot keeps the old server's log (its recovery), not the new one's loading.
        clusters.remove_dir(os.path.join(new_dir, "log"))
        if self._snapshot_fault("logs_not_kept", snap):
            clusters.make_postgres_dir(os.path.join(new_dir, "log"))
            step("the old server's logs are not kept (the seed's snapshot_upgrade_faults)")
        else:
            clusters.copy_dir(os.path.join(old_dir, "log"), os.path.join(new_dir, "log"))
        for name in os.listdir(new_dir):
            if name in ("current_logfiles", "postmaster.opts"):
                os.remove(os.path.join(new_dir, name))
        return new_dir

    def CopyDBSnapshot(self, p):
        source = self.snapshot(p["SourceDBSnapshotIdentifier"])
        if source["status"] != "available":
            raise Fault("InvalidDBSnapshotState", f"Snapshot {source['id']} is not available.")
        kms = self._kms_arn(p["KmsKeyId"]) if p.get("KmsKeyId") else None
        if source["encrypted"] and not kms:
            kms = source["kms_key_id"]
        snap = self._new_snapshot(p["TargetDBSnapshotIdentifier"], source=source)
        snap.update(encrypted=bool(kms) or source["encrypted"], kms_key_id=kms)
        where = f"snapshot {source['id']} in region {self.region}"
        self._event("db-snapshot", snap["id"], f"Started copy of {where}.", ["notification"])
        self._fill_snapshot(snap, lambda: clusters.copy_dir(source["dir"], snap["dir"]),
                            (f"Finished copy of {where}.", "notification"))
        return {"DBSnapshot": self._snapshot_shape(snap)}

    def DeleteDBSnapshot(self, p):
        snap = self.snapshot(p["DBSnapshotIdentifier"])
        if snap["status"] not in ("available", "failed"):
            raise Fault("InvalidDBSnapshotState", f"Snapshot {snap['id']} is {snap['status']}.")
        with self.lock:
            self.snapshots.pop(snap["id"], None)
        clusters.remove_dir(snap["dir"])
        snap["status"] = "deleted"
        self._event("db-snapshot", snap["id"], "Deleted user snapshot.", ["deletion"])
        return {"DBSnapshot": self._snapshot_shape(snap)}

    # -- events ---------------------------------------------------------------------------------

    def DescribeEvents(self, p):
        """Oldest first. The window: StartTime..EndTime, EndTime defaulting to now and StartTime
        to Duration (minutes, default 60) before EndTime. Filters (the API's) match nothing
        more: RDS documents them as not supported."""
        if p.get("SourceIdentifier") and not p.get("SourceType"):
            raise Fault("InvalidParameterCombination",
                        "SourceType must be specified when SourceIdentifier is specified.")
        end = utc(p["EndTime"]) if p.get("EndTime") else now()
        if p.get("StartTime"):
            start = utc(p["StartTime"])
        else:
            start = end - datetime.timedelta(minutes=p.get("Duration") or 60)
        wanted = set(p.get("EventCategories") or [])
        with self.lock:
            events = list(self.events)
        items = [e for e in events
                 if start <= e["Date"] <= end
                 and (not p.get("SourceType") or e["SourceType"] == p["SourceType"])
                 and (not p.get("SourceIdentifier") or e["SourceIdentifier"] == p["SourceIdentifier"])
                 and (not wanted or wanted & set(e["EventCategories"]))]
        chunk, marker = page(items, p)
        return {"Events": chunk, "Marker": marker}

    # -- logs -----------------------------------------------------------------------------------

    def _log_files(self, inst):
        """{api name: path}: RDS names the files error/postgresql.log.YYYY-MM-DD-HH."""
        cluster = inst.get("cluster")
        if cluster is None:
            return {}
        files = {}
        for root, _, names in os.walk(cluster.log_dir):
            for name in names:
                if name.startswith(("postgresql", "pg_upgrade")):
                    path = os.path.join(root, name)
                    rel = os.path.relpath(path, cluster.log_dir)
                    files[rel if cluster.owned else f"error/{name}"] = path
        return files

    def DescribeDBLogFiles(self, p):
        inst = self.instance(p["DBInstanceIdentifier"])
        items = []
        for name, path in sorted(self._log_files(inst).items()):
            st = os.stat(path)
            written = int(st.st_mtime * 1000)
            if p.get("FilenameContains") and p["FilenameContains"] not in name:
                continue
            if p.get("FileLastWritten") and written < p["FileLastWritten"]:
                continue
            if p.get("FileSize") and st.st_size < p["FileSize"]:
                continue
            items.append({"LogFileName": name, "LastWritten": written, "Size": st.st_size})
        chunk, marker = page(items, p, default=1000, minimum=1, maximum=1000)
        return {"DescribeDBLogFiles": chunk, "Marker": marker}

    def DownloadDBLogFilePortion(self, p):
        inst = self.instance(p["DBInstanceIdentifier"])
        path = self._log_files(inst).get(p["LogFileName"])
        if path is None:
            raise Fault("DBLogFileNotFoundFault", f"DBLog File: {p['LogFileName']}, is not found "
                        f"on the DB instance {inst['id']}")
        with open(path, "rb") as f:
            data = f.read()
        lines = data.splitlines(keepends=True)
        limit = min(p.get("NumberOfLines") or 10000, 10000)
        marker = p.get("Marker")
        if marker is None:  # no marker: the most recent lines
            chunk, end, pending = lines[-limit:], len(data), False
        else:
            start = _offset(marker)
            chunk, size = [], 0
            rest = data[start:].splitlines(keepends=True)
            for line in rest:
                if len(chunk) >= limit or (chunk and size + len(line) > 1_000_000):
                    break
                chunk.append(line)
                size += len(line)
            end = start + size
            pending = end < len(data)
        text = b"".join(chunk).decode("utf-8", errors="replace")
        return {"LogFileData": text, "Marker": f"0:{end}", "AdditionalDataPending": pending}


def _offset(marker):
    try:
        return int(marker.split(":")[-1])
    except ValueError:
        raise Fault("InvalidParameterValue", f"Invalid marker: {marker}")


def _parameter(name, value, **extra):
    static = name in STATIC_PARAMETERS
    out = {"value": value, "description": name, "source": "user",
           "apply_type": "static" if static else "dynamic",
           "data_type": "boolean" if name.startswith("rds.") else "string"}
    out.update(extra)
    return out


def _parameters(seeded):
    out = {}
    for name, v in seeded.items():
        if isinstance(v, dict):
            out[name] = _parameter(name, v.get("value"), **{k: v[k] for k in v if k != "value"})
        else:
            out[name] = _parameter(name, None if v is None else str(v))
    return out


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
