"""The Cloud SQL Admin API v1 as Google publishes it, read from npm's @googleapis/sqladmin
(generated from the sqladmin v1 discovery document; scripts/install-deps.sh puts its v1.ts in
.cache/sqladmin/): every schema with its fields and their types, and every method's HTTP verb
and URL template. The Google double checks what it serves against it.
"""
import re

_SCHEMA = re.compile(r"^  export interface Schema\$(\w+) \{$")
_FIELD = re.compile(r"^    '?(\w+)'?\?: (.+);$")
_URL = re.compile(r"^\s*(?:rootUrl \+ )?'(/v1/[^']+)'")
_VERB = re.compile(r"method: '(GET|POST|PATCH|PUT|DELETE)'")


class Model:
    def __init__(self, path):
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
                pattern = re.sub(r"\\\{\+?\w+\\\}", "[^/]+", re.escape(pending_url))
                self.routes.append((m.group(1), re.compile("^" + pattern + "$"), pending_url))
                pending_url = None
        if "DatabaseInstance" not in self.schemas or not self.routes:
            raise ValueError(f"{path} does not look like @googleapis/sqladmin's v1.ts")

    def route(self, verb, path):
        """The URL template of the method `verb path` calls, or None when the API has none."""
        for v, pattern, template in self.routes:
            if v == verb and pattern.match(path):
                return template
        return None

    def problems(self, value, schema, where="$"):
        """What in `value` the schema `schema` does not allow: unknown fields, wrong types."""
        if not isinstance(value, dict):
            return [f"{where}: {schema} must be an object"]
        fields = self.schemas.get(schema)
        if fields is None:
            return [f"{where}: no schema {schema} in the model"]
        out = []
        for name, item in value.items():
            if name not in fields:
                out.append(f"{where}.{name}: not a field of {schema}")
                continue
            out += self._type_problems(item, fields[name], f"{where}.{name}")
        return out

    def _type_problems(self, value, type_text, where):
        type_text = type_text.replace(" | null", "").strip()
        if value is None:
            return []
        if type_text.endswith("[]"):
            if not isinstance(value, list):
                return [f"{where}: must be a list ({type_text})"]
            out = []
            for i, item in enumerate(value):
                out += self._type_problems(item, type_text[:-2], f"{where}[{i}]")
            return out
        if type_text.startswith("Schema$"):
            return self.problems(value, type_text[len("Schema$"):], where)
        expected = {"string": str, "boolean": bool, "number": (int, float)}.get(type_text)
        if expected is None:  # maps and `any`: their contents are free
            return []
        if type_text == "number" and isinstance(value, bool):
            return [f"{where}: must be a number"]
        if not isinstance(value, expected):
            return [f"{where}: must be a {type_text} (int64 values are strings in this API)"]
        return []
