"""Real PostgreSQL clusters behind the double's RDS instances.

Servers run as the `postgres` OS user (runuser when we are root). A snapshot is, by default,
crash-consistent as an EBS snapshot of the volume is (Cluster.crash_consistent_copy): a streaming
standby of the server, caught up to the server's WAL and stopped with `pg_ctl -m immediate`,
so that starting the copy runs crash recovery. The base copy under it (and the whole snapshot
in the "backup" mode, Cluster.physical_copy) is Debian's pg_basebackup 15 for servers up to 15;
for 16+ (which it refuses) the low-level backup API in one psql session, a file copy, the WAL
and backup_label.
A major-version upgrade is a dump and restore (pg_upgrade needs the old major's pg_resetwal,
which the npm builds lack): Debian's pg_dumpall 15 (servers up to 15) into a new cluster.
"""
import os
import shlex
import shutil
import subprocess
import threading
import time

DEBIAN_BIN = "/usr/lib/postgresql/15/bin"
PSQL = f"{DEBIAN_BIN}/psql"
PG_BASEBACKUP = f"{DEBIAN_BIN}/pg_basebackup"
PG_DUMPALL = f"{DEBIAN_BIN}/pg_dumpall"
DUMPALL_MAX_MAJOR = 15  # pg_dumpall refuses servers newer than itself
IS_ROOT = os.geteuid() == 0

# Parameter-group parameters the double passes to the server (the rest are bookkeeping).
APPLIED_GUCS = {
    "wal_level", "max_wal_senders", "max_replication_slots", "max_logical_replication_workers",
    "max_worker_processes", "wal_sender_timeout", "max_slot_wal_keep_size", "statement_timeout",
    "idle_in_transaction_session_timeout", "track_commit_timestamp", "log_min_duration_statement",
    "log_connections", "log_disconnections", "hot_standby_feedback", "max_prepared_transactions",
}

# Not part of a physical copy (what pg_basebackup leaves out, plus the server log).
_SKIP_FILES = {"postmaster.pid", "postmaster.opts", "backup_label.old", "standby.signal",
               "recovery.signal"}
_EMPTY_DIRS = {"pg_wal", "pg_replslot", "pg_stat_tmp", "pg_dynshmem", "pg_notify", "pg_serial",
               "pg_snapshots", "pg_subtrans", "log"}


def as_postgres(args):
    return ["runuser", "-u", "postgres", "--"] + args if IS_ROOT else args


def run(args, env=None, timeout=600, check=True):
    full_env = dict(os.environ, **(env or {}))
    proc = subprocess.run(as_postgres(args), env=full_env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{os.path.basename(args[0])} failed ({proc.returncode}): "
                           f"{(proc.stderr or proc.stdout).strip()[-2000:]}")
    return proc


def make_postgres_dir(path):
    os.makedirs(path, exist_ok=True)
    if IS_ROOT:
        shutil.chown(path, "postgres", "postgres")
    os.chmod(path, 0o700)


def applied_settings(parameters):
    """Server settings for a parameter group's {name: value}."""
    out = {}
    for name, value in parameters.items():
        if name == "rds.logical_replication":
            out["wal_level"] = "logical" if str(value) == "1" else "replica"
        elif name in APPLIED_GUCS and value not in (None, ""):
            out[name] = str(value)
    return out


class Cluster:
    """One PostgreSQL server. owned: created by the double (may be stopped and deleted). host:
    the address it listens on for TCP clients."""

    def __init__(self, data_dir, bin_dir, port, major, user, password, log_file=None,
                 owned=False, host="127.0.0.1"):
        self.data_dir, self.bin_dir, self.port, self.major = data_dir, bin_dir, port, major
        self.user, self.password, self.owned, self.host = user, password, owned, host
        # Seeded clusters log where the test put it; ours log like RDS (logging_collector).
        self.log_file = log_file or os.path.join(os.path.dirname(data_dir), "startup.log")
        self.lock = threading.Lock()

    @property
    def log_dir(self):
        if self.owned:
            return os.path.join(self.data_dir, "log")
        return os.path.dirname(self.log_file)

    def _env(self):
        return {"PGPASSWORD": self.password, "PGCONNECT_TIMEOUT": "3"}

    def _conn(self):
        return ["-h", self.host, "-p", str(self.port), "-U", self.user]

    def accepts_connections(self):
        proc = run([PSQL, "-X", "-At", *self._conn(), "-d", "postgres", "-c", "select 1"],
                   env=self._env(), timeout=30, check=False)
        return proc.returncode == 0

    def query(self, sql, db="postgres", socket_only=False):
        """Rows (tuples of text) of one statement, as the admin user (TCP, or the unix socket in
        the data directory when the server listens on no address)."""
        host = self.data_dir if socket_only else self.host
        proc = run([PSQL, "-X", "-At", "-F", "\x1f", "-v", "ON_ERROR_STOP=1", "-h", host,
                    "-p", str(self.port), "-U", self.user, "-d", db, "-c", sql],
                   env=self._env(), timeout=120)
        return [tuple(line.split("\x1f")) for line in proc.stdout.splitlines()]

    def is_running(self):
        proc = run([f"{self.bin_dir}/pg_ctl", "-D", self.data_dir, "status"], check=False,
                   timeout=30)
        return proc.returncode == 0

    def start(self, settings=None):
        opts = " ".join(f"-c {shlex.quote(f'{k}={v}')}" for k, v in (settings or {}).items())
        args = [f"{self.bin_dir}/pg_ctl", "-w", "-t", "300", "-D", self.data_dir,
                "-l", self.log_file, "start"]
        if opts:
            args[1:1] = ["-o", opts]
        run(args)

    def stop(self, mode="fast"):
        run([f"{self.bin_dir}/pg_ctl", "-D", self.data_dir, "-m", mode, "-w", "stop"],
            check=False, timeout=120)

    def restart(self, settings=None):
        with self.lock:
            self.stop("fast")
            self.start(settings)

    # -- physical copies ---------------------------------------------------------------------

    def physical_copy(self, dest, with_slots=False):
        """A consistent physical copy of the running server in dest (must not exist).
        with_slots: also the replication slots, as a volume snapshot (RDS's) holds them, and
        with them the WAL they retain once the copy runs; an online base backup leaves them out."""
        make_postgres_dir(os.path.dirname(dest))
        if self.major <= 15:
            run([PG_BASEBACKUP, *self._conn(), "-D", dest, "-X", "stream", "-c", "fast",
                 "--no-password"], env=self._env())
        else:
            self._low_level_copy(dest)
        if with_slots:
            _copy_slots(self.data_dir, dest)
        log_dir = os.path.join(dest, "log")
        shutil.rmtree(log_dir, ignore_errors=True)
        make_postgres_dir(log_dir)

    # Settings a hot standby needs at least as high as its primary's, and the WAL level.
    _STANDBY_SETTINGS = ("max_connections", "max_worker_processes", "max_wal_senders",
                         "max_prepared_transactions", "max_locks_per_transaction", "wal_level")

    def crash_consistent_copy(self, dest, port, closing=None, timeout=300, **configure):
        """A crash-consistent copy of the running server in dest (must not exist), as an EBS
        snapshot of its volume: a base copy made a streaming standby of the server (on `port`,
        listening on its socket only), caught up to the server's pg_current_wal_flush_lsn() read
        once the copy is taken, stopped with `pg_ctl -m immediate`, its standby.signal and
        primary_conninfo removed. Its LSNs are the server's; starting it runs crash recovery,
        which ends at the end of the WAL it received. A standby holds no copy of its primary's
        logical slots: the server's slot state files, as they are on disk when the flush
        position is read, go into the copy (and keep WAL from there on, as on the volume).
        Before that the server commits one empty transaction (an xid and its commit record), as
        RDS's own writes on an idle instance do, so that the copy's WAL goes on past the WAL
        switch of the base copy. closing: an Event that abandons the wait. configure: more
        arguments of configure_instance (the copy's configuration file, logging, pg_hba.conf).
        -> the LSN waited for."""
        settings = dict(self.query(
            "SELECT name, setting FROM pg_settings WHERE name IN (" +
            ", ".join(f"'{n}'" for n in self._STANDBY_SETTINGS) + ")"))
        self.physical_copy(dest)
        if self.query("SELECT pg_is_in_recovery()")[0][0] == "t":
            target = self.query("SELECT pg_last_wal_replay_lsn()")[0][0]
        else:
            self.query("SET synchronous_commit = on; SELECT pg_current_xact_id()")
            target = self.query("SELECT pg_current_wal_flush_lsn()")[0][0]
        slots = _read_slots(self.data_dir)
        configure_instance(dest, port, primary=(self.port, self.user, self.password),
                           primary_host=self.host, **configure)
        standby_log = dest + ".standby.log"
        standby = Cluster(dest, self.bin_dir, port, self.major, self.user, self.password,
                          log_file=standby_log, owned=True)
        try:
            standby.start(dict(settings, hot_standby="on", listen_addresses=""))

            def caught_up():
                if closing is not None and closing.is_set():
                    return True
                proc = run([PSQL, "-X", "-At", "-h", dest, "-p", str(port), "-U", self.user,
                            "-d", "postgres", "-c",
                            f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"],
                           env=self._env(), timeout=30, check=False)
                return proc.returncode == 0 and proc.stdout.strip() == "t"
            if not wait_until(caught_up, timeout, interval=0.1):
                raise RuntimeError(f"the standby copy did not replay up to {target} in "
                                   f"{timeout} s")
            if closing is not None and closing.is_set():
                raise RuntimeError("the double is stopping")
        finally:
            standby.stop("immediate")
            try:
                os.remove(standby_log)
            except FileNotFoundError:
                pass
        for name in os.listdir(dest):
            if name in ("standby.signal", "backup_label.old", "current_logfiles") or \
                    name.startswith(".s.PGSQL."):
                os.remove(os.path.join(dest, name))
        configure_instance(dest, port, **configure)  # the same without primary_conninfo
        _write_slots(dest, slots)
        log_dir = os.path.join(dest, "log")
        shutil.rmtree(log_dir, ignore_errors=True)
        make_postgres_dir(log_dir)
        return target

    def _low_level_copy(self, dest):
        session = subprocess.Popen(
            as_postgres([PSQL, "-X", "-At", "-v", "ON_ERROR_STOP=1", *self._conn(),
                         "-d", "postgres"]),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=dict(os.environ, **self._env()))
        try:
            ask = _line_asker(session)
            ask("SELECT pg_backup_start('rds-double snapshot', true);")
            _copy_tree(self.data_dir, dest)
            label = bytes.fromhex(ask(
                "SELECT encode(convert_to(labelfile, 'UTF8'), 'hex') FROM pg_backup_stop(false);"
            )).decode()
            wal = os.path.join(self.data_dir, "pg_wal")
            for name in sorted(os.listdir(wal)):
                src = os.path.join(wal, name)
                if os.path.isfile(src):
                    shutil.copy2(src, os.path.join(dest, "pg_wal", name))
            with open(os.path.join(dest, "backup_label"), "w") as f:
                f.write(label)
        finally:
            session.stdin.close()
            session.wait(timeout=30)
        if IS_ROOT:
            subprocess.run(["chown", "-R", "postgres:postgres", dest], check=True)


def _line_asker(session):
    def ask(sql):
        session.stdin.write(sql + "\n")
        session.stdin.flush()
        line = session.stdout.readline()
        if not line:
            raise RuntimeError(f"psql ended during the low-level backup ({sql.split('(')[0]})")
        return line.strip()
    return ask


def _copy_slots(data_dir, dest):
    """The slots' state files, as the server last saved them (each one written whole, by rename)."""
    _write_slots(dest, _read_slots(data_dir))


def _read_slots(data_dir):
    """{slot directory name: its state file's bytes}."""
    out = {}
    slots = os.path.join(data_dir, "pg_replslot")
    for name in os.listdir(slots):
        try:
            with open(os.path.join(slots, name, "state"), "rb") as f:
                out[name] = f.read()
        except (FileNotFoundError, NotADirectoryError):
            pass  # not a slot, or dropped meanwhile
    return out


def _write_slots(dest, slots):
    for name, state in slots.items():
        target = os.path.join(dest, "pg_replslot", name)
        make_postgres_dir(target)
        path = os.path.join(target, "state")
        with open(path, "wb") as f:
            f.write(state)
        if IS_ROOT:
            shutil.chown(path, "postgres", "postgres")
        os.chmod(path, 0o600)


def _copy_tree(src, dest):
    """Copies a live data directory; files may vanish while we walk it."""
    os.makedirs(dest, mode=0o700)
    for root, dirs, files in os.walk(src):
        rel = os.path.relpath(root, src)
        target = dest if rel == "." else os.path.join(dest, rel)
        os.makedirs(target, mode=0o700, exist_ok=True)
        if rel in _EMPTY_DIRS:
            if rel == "pg_wal":
                os.makedirs(os.path.join(target, "archive_status"), mode=0o700, exist_ok=True)
            dirs[:] = []
            continue
        for name in files:
            path = os.path.join(root, name)
            if rel == "." and (name in _SKIP_FILES or name.startswith(".s.PGSQL.")):
                continue
            try:
                if os.path.isfile(path):  # not the server's socket
                    shutil.copy2(path, os.path.join(target, name))
            except FileNotFoundError:
                pass


def initdb(bin_dir, data_dir, user, password, collate, ctype, work_dir):
    """A new cluster in data_dir: superuser `user` with `password`, encoding UTF8, the given
    collation and character classification (those of the cluster it replaces)."""
    pwfile = os.path.join(work_dir, "initdb.pw")
    _write_as_postgres(pwfile, password + "\n")
    try:
        run([f"{bin_dir}/initdb", "-D", data_dir, "-U", user, f"--pwfile={pwfile}", "-E", "UTF8",
             f"--locale={ctype}", f"--lc-collate={collate}", "--auth-local=trust", "--auth-host=scram-sha-256",
             "--no-sync"], timeout=300)
    finally:
        os.remove(pwfile)


def dumpall(cluster, dest):
    """pg_dumpall of a running server that listens only on its socket (see Cluster.query)."""
    run([PG_DUMPALL, "-h", cluster.data_dir, "-p", str(cluster.port), "-U", cluster.user,
         "--no-password", "-f", dest], env=cluster._env(), timeout=3600)


def restore_dump(cluster, dump, log):
    """Loads a pg_dumpall script with Debian's psql, stopping at the first error. The script
    creates the connecting superuser, which initdb already made: that one line is left out.
    pg_dumpall 15 writes CREATE DATABASE ... LOCALE_PROVIDER, which servers before 15 do not know
    (libc is all they have): left out for them."""
    with open(dump, encoding="utf-8") as f:
        lines = f.readlines()
    skip = {f"CREATE ROLE {cluster.user};\n", f'CREATE ROLE "{cluster.user}";\n'}

    def for_target(line):
        if cluster.major < 15 and line.startswith("CREATE DATABASE "):
            return line.replace(" LOCALE_PROVIDER = libc", "")
        return line
    filtered = dump + ".load"
    _write_as_postgres(filtered, "".join(for_target(line) for line in lines if line not in skip))
    proc = run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", cluster.data_dir,
                "-p", str(cluster.port), "-U", cluster.user, "-d", "postgres", "-f", filtered],
               env=cluster._env(), timeout=3600, check=False)
    log(f"psql restore exited {proc.returncode}{': ' + proc.stderr.strip() if proc.stderr else ''}")
    if proc.returncode != 0:
        raise RuntimeError(f"restoring the dump failed: {proc.stderr.strip()[-1000:]}")


def config_includes(data_dir):
    """The files postgresql.conf includes, except the double's own (in their order)."""
    out = []
    with open(os.path.join(data_dir, "postgresql.conf")) as f:
        for line in f:
            words = line.strip().split(None, 1)
            if len(words) == 2 and words[0] in ("include", "include_if_exists"):
                name = words[1].strip().strip("'")
                if name != "rds_double.conf":
                    out.append((words[0], name))
    return out


def carry_config(old_dir, new_dir):
    """What the server's configuration holds besides the parameter group (pg_hba.conf and the
    included files of the seeded cluster the data came from) goes to the new cluster."""
    shutil.copy2(os.path.join(old_dir, "pg_hba.conf"), os.path.join(new_dir, "pg_hba.conf"))
    includes = config_includes(old_dir)
    for _, name in includes:
        src = os.path.join(old_dir, name)
        if not os.path.isabs(name) and os.path.exists(src):
            shutil.copy2(src, os.path.join(new_dir, name))
    conf = os.path.join(new_dir, "postgresql.conf")
    with open(conf) as f:
        text = f.read()
    extra = "".join(f"\n{kind} '{name}'" for kind, name in includes)
    _write_as_postgres(conf, text + extra + "\n")
    if IS_ROOT:
        subprocess.run(["chown", "-R", "postgres:postgres", new_dir], check=True)


def merge_logs(old_log_dir, new_log_dir):
    """The server logs of the old cluster stay readable after an upgrade: old files move into
    the new log directory; a file both have is the old text followed by the new."""
    for root, _, names in os.walk(old_log_dir):
        rel = os.path.relpath(root, old_log_dir)
        target_dir = os.path.normpath(os.path.join(new_log_dir, rel))
        make_postgres_dir(target_dir)
        for name in names:
            src, dest = os.path.join(root, name), os.path.join(target_dir, name)
            if os.path.exists(dest):
                with open(src, "rb") as f:
                    old = f.read()
                with open(dest, "rb") as f:
                    new = f.read()
                with open(dest, "wb") as f:
                    f.write(old + new)
            else:
                shutil.copy2(src, dest)
            if IS_ROOT:
                shutil.chown(dest, "postgres", "postgres")


def copy_dir(src, dest):
    make_postgres_dir(os.path.dirname(dest))
    run(["cp", "-a", src, dest])


def remove_dir(path):
    shutil.rmtree(path, ignore_errors=True)


# How RDS logs (RDS's default log_line_prefix, hourly files under log/error).
RDS_LOGGING = (
    "logging_collector = on",
    "log_destination = 'stderr'",
    "log_directory = 'log/error'",
    "log_filename = 'postgresql.log.%Y-%m-%d-%H'",
    "log_rotation_age = 60",
    "log_rotation_size = 0",
    "log_line_prefix = '%t:%r:%u@%d:[%p]:'",
    "log_timezone = 'UTC'",
)


def configure_instance(data_dir, port, primary=None, listen="127.0.0.1",
                       conf_name="rds_double.conf", writer="the AWS double (tests/aws_double)",
                       hba=None, logging=RDS_LOGGING, primary_host="127.0.0.1"):
    """Makes a copied data directory an instance of ours: its own port and socket, and logging
    (the setting lines `logging`, RDS's by default). primary: (port, user, password) of the
    server at primary_host to make it a streaming standby of. listen: the address it listens
    on; conf_name: the file, included by postgresql.conf, these settings go to, which says
    `writer` wrote it; hba: the lines of its pg_hba.conf (None: initdb's stay)."""
    for name in ("postmaster.pid", "postmaster.opts"):
        try:
            os.remove(os.path.join(data_dir, name))
        except FileNotFoundError:
            pass
    lines = [
        f"# Written by {writer}.",
        f"listen_addresses = '{listen}'",
        f"port = {port}",
        f"unix_socket_directories = '{data_dir}'",
        *logging,
    ]
    if primary:
        p_port, user, password = primary
        conninfo = f"host={primary_host} port={p_port} user={user} password={password}"
        lines.append("primary_conninfo = '" + conninfo.replace("'", "''") + "'")
        lines.append("hot_standby = on")
        _write_as_postgres(os.path.join(data_dir, "standby.signal"), "")
    _write_as_postgres(os.path.join(data_dir, conf_name), "\n".join(lines) + "\n")
    if hba is not None:
        _write_as_postgres(os.path.join(data_dir, "pg_hba.conf"), "\n".join(hba) + "\n")
    conf = os.path.join(data_dir, "postgresql.conf")
    with open(conf) as f:
        text = f.read()
    if f"include '{conf_name}'" not in text:
        _write_as_postgres(conf, text + f"\ninclude '{conf_name}'\n")
    make_postgres_dir(os.path.join(data_dir, "log"))
    make_postgres_dir(os.path.join(data_dir, "log", "error"))


def _write_as_postgres(path, text):
    with open(path, "w") as f:
        f.write(text)
    if IS_ROOT:
        shutil.chown(path, "postgres", "postgres")
    os.chmod(path, 0o600)


def wait_until(predicate, timeout, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
