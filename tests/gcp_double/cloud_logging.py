"""Cloud Logging's view of a Cloud SQL for PostgreSQL instance's server log, for the Google
double's entries:list (Cloud Logging API v2, "Method: entries.list"): the instance's log lines
as the LogEntry values Cloud SQL exports them as (log cloudsql.googleapis.com/postgres.log,
resource cloudsql_database), and the part of the Logging query language ("Logging query
language", cloud.google.com/logging/docs/view/logging-query-language) a client reading such a
log uses.

Cloud SQL's log_line_prefix, which customers cannot change, is '%m [%p]: [%l-1] db=%d,user=%u '
(as `SHOW log_line_prefix` answers on Cloud SQL: pgBadger issue #699, pganalyze collector
PR #82), and an exported entry's textPayload is the whole line, prefix included (pgBadger issue
#747: "2022-07-30 05:04:30.061 UTC [4075710]: [2-1] db=...,user=... STATEMENT:  SELECT ...").
"""
import base64
import calendar
import hashlib
import json
import re
import time

CLOUDSQL_LOG_LINE_PREFIX = "%m [%p]: [%l-1] db=%d,user=%u "
# The server settings that make PostgreSQL write its log as Cloud SQL's does (one file, given to
# pg_ctl -l; timestamps in UTC).
CLOUDSQL_LOGGING = (
    "logging_collector = off",
    f"log_line_prefix = '{CLOUDSQL_LOG_LINE_PREFIX}'",
    "log_timezone = 'UTC'",
)
LOG_ID = "cloudsql.googleapis.com%2Fpostgres.log"
RESOURCE_TYPE = "cloudsql_database"

# A line with Cloud SQL's prefix, or with '%m [%p] ' (the test clusters' prefix, whose lines are
# given Cloud SQL's form): timestamp, zone, pid, [session line, db, user], severity, message.
_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) (\S+) \[(\d+)\]"
                   r"(?:: \[(\d+)-\d+\] db=([^,]*),user=(\S*))? ([A-Z]+[0-9]?):  (.*)$")
# PostgreSQL's message levels as LogEntry severities (Google documents no mapping for Cloud
# SQL; its entries show LOG and STATEMENT lines as INFO).
_SEVERITY = {"DEBUG": "DEBUG", "LOG": "INFO", "INFO": "INFO", "STATEMENT": "INFO",
             "DETAIL": "INFO", "HINT": "INFO", "CONTEXT": "INFO", "QUERY": "INFO",
             "LOCATION": "INFO", "NOTICE": "NOTICE", "WARNING": "WARNING", "ERROR": "ERROR",
             "FATAL": "CRITICAL", "PANIC": "EMERGENCY"}
# google.logging.type.LogSeverity, in its order.
SEVERITIES = ("DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT",
              "EMERGENCY")
_RFC3339 = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?"
                      r"(Z|[+-]\d\d:\d\d)$", re.IGNORECASE)


class FilterError(Exception):
    """A filter or request Cloud Logging refuses (400 INVALID_ARGUMENT with this message)."""


def rfc3339_seconds(text):
    """Seconds since the epoch of an RFC 3339 timestamp ("2026-12-05T10:00:00Z"), else None."""
    m = _RFC3339.match(text)
    if not m:
        return None
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    t = calendar.timegm((y, mo, d, h, mi, s)) + float(m.group(7) or 0)
    zone = m.group(8).upper()
    if zone != "Z":
        t -= (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return t


def _line_seconds(stamp, zone):
    """Seconds since the epoch of a '%m' timestamp; zones other than UTC/GMT or a numeric offset
    (log_timezone names) are taken as UTC."""
    date, clock = stamp.split(" ")
    y, mo, d = (int(x) for x in date.split("-"))
    h, mi, s = clock.split(":")
    t = calendar.timegm((y, mo, d, int(h), int(mi), 0)) + float(s)
    m = re.fullmatch(r"([+-])(\d\d)(?::?(\d\d))?", zone)
    if m:
        t -= (1 if m.group(1) == "+" else -1) * (int(m.group(2)) * 3600 + int(m.group(3) or 0) * 60)
    return t


def _rfc3339(t):
    """An RFC 3339 timestamp in UTC with microseconds, as Cloud Logging writes them."""
    whole = int(t)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + \
        f".{min(round((t - whole) * 1e6), 999999):06d}Z"


def log_records(text):
    """The records of a PostgreSQL server log: [(offset, seconds, severity, textPayload)], one
    per line with a prefix (a line without one, such as the tab-indented rest of a multi-line
    statement, belongs to the record before it, as Cloud SQL exports it). A line with the test
    clusters' prefix '%m [%p] ' gets Cloud SQL's form, its session line number counted per pid
    and db= and user= left empty (as in Cloud SQL's own lines of background processes)."""
    records, counts, offset = [], {}, 0
    for line in text.splitlines(keepends=True):
        start, offset = offset, offset + len(line.encode())
        line = line.rstrip("\n")
        m = _LINE.match(line)
        if not m:
            if records:
                records[-1][3] += "\n" + line
            continue
        stamp, zone, pid, number, db, user, level, message = m.groups()
        if number is None:
            counts[pid] = counts.get(pid, 0) + 1
            line = f"{stamp} {zone} [{pid}]: [{counts[pid]}-1] db=,user= {level}:  {message}"
        severity = _SEVERITY.get(re.sub(r"\d$", "", level), "DEFAULT")
        records.append([start, _line_seconds(stamp, zone), severity, line])
    return records


def log_entries(project, instance, region, text):
    """The LogEntry values (Cloud Logging API v2) of an instance's server log `text`, with their
    times: [(seconds, LogEntry)]."""
    database_id = f"{project}:{instance}"
    source = hashlib.sha1(database_id.encode()).hexdigest()[:32]
    out = []
    for offset, t, severity, payload in log_records(text):
        stamp = _rfc3339(t)
        out.append((t, {
            # Unique, and in the log's order among entries of one time (Cloud Logging returns
            # those in insertId order; Cloud SQL's insertIds count up, "s=...;i=cb0cc;...").
            "insertId": f"s={source};i={offset:012x}",
            "logName": f"projects/{project}/logs/{LOG_ID}",
            "resource": {"type": RESOURCE_TYPE, "labels": {
                "database_id": database_id, "project_id": project, "region": region}},
            "textPayload": payload, "timestamp": stamp, "receiveTimestamp": stamp,
            "severity": severity}))
    return out


# -- the Logging query language, as far as a client reading one instance's log needs it ----------

_TOKEN = re.compile(r'\s+|"(?:[^"\\]|\\.)*"|"|>=|<=|!=|=~|!~|[=<>:()]|[^\s"()=<>!:~]+|.')
_OPERATORS = {"=", "!=", "<", "<=", ">", ">="}
_UNSUPPORTED = {"OR", "NOT", "(", ")", ":", "=~", "!~"}
SUPPORTED = ("comparisons (=, !=, <, <=, >, >=) of resource.type, resource.labels.<label>, "
             "logName, timestamp and severity, joined by AND")


def _tokens(text):
    """[(token, line, column)] of a filter, whitespace left out (1-based lines and columns)."""
    out, line, column = [], 1, 1
    for m in _TOKEN.finditer(text):
        token = m.group(0)
        if not token.isspace():
            out.append((token, line, column))
        for ch in token:
            line, column = (line + 1, 1) if ch == "\n" else (line, column + 1)
    return out


def _syntax_error(token):
    """Cloud Logging's answer to a filter it cannot parse (as gcloud logging read shows it:
    "INVALID_ARGUMENT: Unparseable filter: syntax error at line 1, column 122, token ':'")."""
    text, line, column = token
    return FilterError(f"Unparseable filter: syntax error at line {line}, column {column}, "
                       f"token '{text}'")


def _unsupported(token, what=None):
    text, line, column = token
    return FilterError(f"Unparseable filter: the Google double takes only {SUPPORTED}; not "
                       f"{what or repr(text)} (line {line}, column {column})")


def _value(token):
    text = token[0]
    if text.startswith('"'):
        if len(text) < 2 or not text.endswith('"'):
            raise _syntax_error(token)
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def parse_filter(text):
    """The comparisons of a filter [(field, operator, value)] (all must hold), or FilterError:
    Google's syntax error, or what the double does not take (OR, NOT, parentheses, the has
    operator ':', regular expressions, global restrictions, other fields). Comparisons side by
    side are joined by AND, as the language has it."""
    tokens, out, i = _tokens(text or ""), [], 0
    end = ("<end>",) + (tokens[-1][1:] if tokens else (1, 1))
    while i < len(tokens):
        if tokens[i][0] == "AND" and out:
            i += 1
        field, op, value = (tokens[i:i + 3] + [end, end, end])[:3]
        i += 3
        if field[0] in _UNSUPPORTED or op[0] in _UNSUPPORTED:
            raise _unsupported(field if field[0] in _UNSUPPORTED else op)
        if field[0].startswith('"'):
            raise _unsupported(field, f"the global restriction {field[0]}")
        if field[0] == "AND" or not re.fullmatch(r"[A-Za-z_][\w.]*", field[0]):
            raise _syntax_error(field)
        if op is end:
            raise _unsupported(field, f"the global restriction {field[0]!r}")
        if op[0] not in _OPERATORS:
            raise _syntax_error(op)
        if value[0] in _OPERATORS | _UNSUPPORTED | {"AND", "<end>"}:
            raise _syntax_error(value)
        if i < len(tokens) and tokens[i][0] in _OPERATORS | {":", "=~", "!~"}:
            raise _syntax_error(tokens[i])
        out.append((field, op[0], _value(value)))
    for (name, line, column), _, value in out:
        if name == "timestamp" and rfc3339_seconds(value) is None:
            raise FilterError(f"Unparseable filter: invalid timestamp {value!r} (line {line}, "
                              f"column {column}): an RFC 3339 time is needed")
        if name == "severity" and value.upper() not in SEVERITIES:
            raise FilterError(f"Unparseable filter: invalid severity {value!r} (line {line}, "
                              f"column {column})")
        if name not in ("resource.type", "logName", "timestamp", "severity") and \
                not re.fullmatch(r"resource\.labels\.\w+", name):
            raise _unsupported((name, line, column), f"the field {name!r}")
    return [(field[0], op, value) for field, op, value in out]


def _compare(left, op, right):
    return {"=": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
            ">": left > right, ">=": left >= right}[op]


def matches(entry, t, comparisons):
    """Whether a LogEntry (of time t) meets every comparison; strings compare case-insensitively
    ("String comparisons aren't case sensitive"), times as times, severities in their order."""
    for name, op, value in comparisons:
        if name == "timestamp":
            left, right = t, rfc3339_seconds(value)
        elif name == "severity":
            left, right = SEVERITIES.index(entry["severity"]), SEVERITIES.index(value.upper())
        else:
            field = entry
            for part in name.split("."):
                field = field.get(part, {}) if isinstance(field, dict) else {}
            if not isinstance(field, str):
                return False
            left, right = field.lower(), value.lower()
        if not _compare(left, op, right):
            return False
    return True


def _projects(request):
    """The projects of a request's resourceNames (and deprecated projectIds)."""
    names = list(request.get("resourceNames") or []) + [
        f"projects/{p}" for p in request.get("projectIds") or []]
    if not names:
        raise FilterError("resource_names: at least one resource name is required")
    out = set()
    for name in names:
        m = re.fullmatch(r"projects/([^/]+)", name)
        if not m:
            raise FilterError(f"Invalid resource name {name!r}: the Google double takes "
                              "projects/[PROJECT_ID] only")
        out.add(m.group(1))
    return out


def _page_token(position, request):
    key = hashlib.sha1(json.dumps([request.get(k) for k in ("filter", "orderBy",
                                                            "resourceNames", "projectIds")],
                                  sort_keys=True).encode()).hexdigest()[:12]
    return base64.urlsafe_b64encode(f"{key}:{position}".encode()).decode()


def list_entries(request, logs):
    """entries.list (a ListLogEntriesRequest) over the logs [(project, instance, region, log
    text)] -> a ListLogEntriesResponse, or FilterError. pageSize: 50 by default, at most 1000;
    nextPageToken while more entries match."""
    projects = _projects(request)
    comparisons = parse_filter(request.get("filter"))
    order = " ".join((request.get("orderBy") or "timestamp asc").lower().split())
    if order not in ("timestamp asc", "timestamp desc"):
        raise FilterError(f"Invalid orderBy {request.get('orderBy')!r}: only \"timestamp asc\" "
                          "and \"timestamp desc\" are permitted")
    size = request.get("pageSize") or 50
    if size < 0:
        raise FilterError("page_size must not be negative")
    size = min(size, 1000)
    position = 0
    if request.get("pageToken"):
        try:
            key, position = base64.urlsafe_b64decode(request["pageToken"]).decode().split(":")
            position = int(position)
        except ValueError:
            raise FilterError("Invalid page token") from None
        if _page_token(position, request) != request["pageToken"]:
            raise FilterError("Invalid page token: the request changed")
    found = [(t, e) for project, instance, region, text in logs if project in projects
             for t, e in log_entries(project, instance, region, text)
             if matches(e, t, comparisons)]
    found.sort(key=lambda te: (te[0], te[1]["insertId"]), reverse=order.endswith("desc"))
    answer = {"entries": [e for _, e in found[position:position + size]]}
    if position + size < len(found):
        answer["nextPageToken"] = _page_token(position + size, request)
    return answer
