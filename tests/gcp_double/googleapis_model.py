"""A Google API as Google publishes it, read from the npm package Google generates from the API's
discovery document: @googleapis/sqladmin's v1.ts (the Cloud SQL Admin API v1) and
@googleapis/logging's v2.ts (the Cloud Logging API v2), which scripts/install-deps.sh puts in
.cache/sqladmin/ and .cache/logging/. Each holds every schema with its fields and their types,
and every method's HTTP verb and URL template. The Google double checks what it serves, and
what it is sent, against them.
"""
import collections
import re

_SCHEMA = re.compile(r"^  export interface Schema\$(\w+) \{$")
_FIELD = re.compile(r"^    '?(\w+)'?\?: (.+);$")
# The URL on a line of its own, or on the `url:` line when it is short enough for one.
_URL = re.compile(r"^\s*(?:url: \()?(?:rootUrl \+ )?'(/v\d\w*/[^']+)'")
_VERB = re.compile(r"method: '(GET|POST|PATCH|PUT|DELETE)'")

# What a value breaks: path, a tuple of field names and list indices from the top; kind,
# "unknown" (path[-1] is no field of the schema `expected`), "schema" (the model has no schema
# `expected`) or "type" (the value is not of the type text `expected`, e.g. "string",
# "Schema$Settings", "Schema$DatabaseFlags[]").
Violation = collections.namedtuple("Violation", "path kind expected value")


class Model:
    """The API in the v1.ts/v2.ts at `path`, which must define the schema `sentinel` (e.g.
    DatabaseInstance for the Admin API, LogEntry for Cloud Logging)."""

    def __init__(self, path, sentinel):
        self.schemas = {}   # name -> {field: type text}
        self.routes = []    # (verb, compiled regex of the URL template, template)
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        current = None
        pending_url = None
        for line in lines:
            m = _SCHEMA.match(line)
            if m:
                current = self.schemas.setdefault(m.group(1), {})
                continue
            if current is not None:
                if line == "  }":
                    current = None
                    continue
                m = _FIELD.match(line)
                if m:
                    current[m.group(1)] = m.group(2)
                continue
            m = _URL.search(line)
            if m:
                pending_url = m.group(1)
                continue
            m = _VERB.search(line)
            if m and pending_url:
                # A reserved expansion ({+name}: several segments) matches only as its
                # parameter's pattern allows, which v1.ts leaves out: such routes (the backups
                # resource's) are not matched at all rather than too widely.
                if "{+" not in pending_url:
                    pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(pending_url))
                    self.routes.append((m.group(1), re.compile("^" + pattern + "$"), pending_url))
                pending_url = None
        if sentinel not in self.schemas or not self.routes:
            raise ValueError(f"{path} does not look like a @googleapis package's API model "
                             f"(no schema {sentinel} or no method)")

    def route(self, verb, path):
        """The URL template of the method `verb path` calls, or None when the API has none."""
        for v, pattern, template in self.routes:
            if v == verb and pattern.match(path):
                return template
        return None

    def problems(self, value, schema):
        """What in `value` the schema `schema` does not allow: unknown fields, wrong types."""
        return [_describe(v) for v in self.violations(value, schema)]

    def violations(self, value, schema, path=()):
        """The Violations of `value` against the schema `schema`."""
        if not isinstance(value, dict):
            return [Violation(path, "type", "Schema$" + schema, value)]
        fields = self.schemas.get(schema)
        if fields is None:
            return [Violation(path, "schema", schema, value)]
        out = []
        for name, item in value.items():
            if name not in fields:
                out.append(Violation(path + (name,), "unknown", schema, item))
                continue
            out += self._type_violations(item, fields[name], path + (name,))
        return out

    def _type_violations(self, value, type_text, path):
        type_text = type_text.replace(" | null", "").strip()
        if value is None:
            return []
        if type_text.endswith("[]"):
            if not isinstance(value, list):
                return [Violation(path, "type", type_text, value)]
            out = []
            for i, item in enumerate(value):
                out += self._type_violations(item, type_text[:-2], path + (i,))
            return out
        if type_text.startswith("Schema$"):
            return self.violations(value, type_text[len("Schema$"):], path)
        expected = {"string": str, "boolean": bool, "number": (int, float)}.get(type_text)
        if expected is None:  # maps and `any`: their contents are free
            return []
        if not isinstance(value, expected) or (type_text == "number" and isinstance(value, bool)):
            return [Violation(path, "type", type_text, value)]
        return []


def _describe(v):
    where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in v.path[:-1])
    if v.kind == "unknown":
        return f"{where}.{v.path[-1]}: not a field of {v.expected}"
    if v.path:
        last = v.path[-1]
        where += f"[{last}]" if isinstance(last, int) else f".{last}"
    if v.kind == "schema":
        return f"{where}: no schema {v.expected} in the model"
    if v.expected.endswith("[]"):
        return f"{where}: must be a list ({v.expected})"
    if v.expected.startswith("Schema$"):
        return f"{where}: {v.expected[len('Schema$'):]} must be an object"
    if v.expected == "number":
        return f"{where}: must be a number"
    return f"{where}: must be a {v.expected} (int64 values are strings in this API)"
