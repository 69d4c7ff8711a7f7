#!/usr/bin/python3
"""A local Google endpoint for tests: the OAuth 2.0 token endpoint (service-account JWT bearer
grant, RFC 7523, and refresh-token grant, as https://oauth2.googleapis.com/token answers them),
the metadata server's token path, faithful to Google's public documentation ("Using OAuth 2.0
for Server to Server Applications", "Authenticate workloads using service accounts"), and the
Cloud SQL Admin API v1's instances.get and operations.get, whose every route and answer is
checked against the API's published model (sqladmin_model.py) before it is served.

    /usr/bin/python3 tests/gcp_double/gcp_double.py --seed SEED.json --workdir DIR \
        [--port 0] --ready-file FILE

Writes {"endpoint": "http://127.0.0.1:PORT"} to FILE once listening. The token endpoint is
ENDPOINT/token: every assertion's RS256 signature is checked against the seeded public key of
its issuer, and its header and claims as Google checks them (alg, kid, aud = this endpoint,
iat/exp within an hour, the scopes asked). Requests are logged to DIR/double.log without any
assertion, secret or token.

SEED (JSON; every key optional):
{
  "service_accounts": [{"client_email": "sa@p.iam.gserviceaccount.com", "private_key_id": "k1",
                        "public_key_pem": "-----BEGIN PUBLIC KEY-----..."}],
  "authorized_users": [{"client_id": "c", "client_secret": "s", "refresh_token": "r"}],
  "metadata": true,                 # serve the metadata server's token path
  "required_scopes": ["https://www.googleapis.com/auth/sqlservice.admin"],
  "token_failures": 0,              # answer this many token requests 503 first
  "expires_in": 3599,
  "sqladmin_model": ".cache/sqladmin/v1.ts",   # required with instances or operations
  "instances": [{"project": "shop", "name": "orders-pg13", "region": "europe-west1",
                 "database_version": "POSTGRES_13", "state": "RUNNABLE",
                 "tier": "db-custom-2-7680", "flags": {"cloudsql.logical_decoding": "on"},
                 "host": "127.0.0.1"}],
  "operations": [{"project": "shop", "name": "op-1", "operation_type": "CREATE",
                  "target_id": "orders-pg17", "running_polls": 2,     # RUNNING twice, then DONE
                  "error": {"code": "ERROR_RDBMS", "message": "..."}}], # optional
  "sqladmin_failures": 0            # answer this many Admin API calls 503 first
}

Admin API calls need a token this double issued ("Authorization: Bearer ..."), as Google's do.
"""
import argparse
import base64
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sqladmin_model  # noqa: E402

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
METADATA_TOKEN = "/computeMetadata/v1/instance/service-accounts/default/token"


def b64url_decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class Double:
    def __init__(self, seed, log_path):
        self.seed = seed
        self.lock = threading.Lock()
        self.failures_left = int(seed.get("token_failures", 0))
        self.log = open(log_path, "a", buffering=1)
        self.endpoint = None
        self.issued = set()
        self.sqladmin_failures_left = int(seed.get("sqladmin_failures", 0))
        self.polls = {}
        self.model = None
        if seed.get("instances") or seed.get("operations"):
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

    def instance_resource(self, spec):
        project, name = spec["project"], spec["name"]
        base = f"{self.endpoint}/v1/projects/{project}/instances/{name}"
        return {
            "kind": "sql#instance", "name": name, "project": project,
            "region": spec.get("region", "us-central1"),
            "gceZone": spec.get("region", "us-central1") + "-b",
            "databaseVersion": spec["database_version"], "state": spec.get("state", "RUNNABLE"),
            "backendType": "SECOND_GEN", "instanceType": "CLOUD_SQL_INSTANCE",
            "connectionName": f"{project}:{spec.get('region', 'us-central1')}:{name}",
            "ipAddresses": [{"type": "PRIMARY", "ipAddress": spec.get("host", "127.0.0.1")}],
            "selfLink": base,
            "settings": {
                "kind": "sql#settings", "tier": spec.get("tier", "db-custom-2-7680"),
                "settingsVersion": "1", "availabilityType": "ZONAL", "dataDiskType": "PD_SSD",
                "dataDiskSizeGb": str(spec.get("disk_gb", 10)),
                "databaseFlags": [{"name": k, "value": v}
                                  for k, v in sorted(spec.get("flags", {}).items())],
                "ipConfiguration": {"ipv4Enabled": True}},
        }

    def operation_resource(self, spec):
        project, name = spec["project"], spec["name"]
        with self.lock:
            self.polls[name] = self.polls.get(name, 0) + 1
            polls = self.polls[name]
        running = polls <= int(spec.get("running_polls", 0))
        body = {
            "kind": "sql#operation", "name": name, "operationType": spec["operation_type"],
            "status": "RUNNING" if running else "DONE", "targetId": spec["target_id"],
            "targetProject": project, "insertTime": "2026-12-05T10:00:00.000Z",
            "startTime": "2026-12-05T10:00:01.000Z",
            "selfLink": f"{self.endpoint}/v1/projects/{project}/operations/{name}",
            "targetLink": f"{self.endpoint}/v1/projects/{project}/instances/{spec['target_id']}"}
        if not running:
            body["endTime"] = "2026-12-05T10:05:00.000Z"
            if spec.get("error"):
                body["error"] = {"kind": "sql#operationErrors", "errors": [
                    {"kind": "sql#operationError", **spec["error"]}]}
        return body

    def sqladmin(self, verb, path, headers):
        auth = headers.get("Authorization", "")
        with self.lock:
            known = auth.startswith("Bearer ") and auth[len("Bearer "):] in self.issued
        if not known:
            self.note(f"sqladmin {verb} {path} 401")
            return self.google_error(
                401, "UNAUTHENTICATED", "Request had invalid authentication credentials. "
                "Expected OAuth 2 access token, login cookie or other valid authentication "
                "credential.")
        template = self.model.route(verb, path.split("?")[0]) if self.model else None
        if template is None:
            return self.google_error(404, "NOT_FOUND", f"Method not found: {verb} {path}")
        with self.lock:
            fail = self.sqladmin_failures_left > 0
            self.sqladmin_failures_left -= int(fail)
        if fail:
            self.note(f"sqladmin {verb} {path} 503 (injected)")
            return self.google_error(503, "UNAVAILABLE", "The service is currently unavailable.")
        parts = path.split("?")[0].strip("/").split("/")
        status, body, schema = 404, None, None
        if template == "/v1/projects/{project}/instances/{instance}" and verb == "GET":
            for spec in self.seed.get("instances", []):
                if spec["project"] == parts[2] and spec["name"] == parts[4]:
                    status, body, schema = 200, self.instance_resource(spec), "DatabaseInstance"
            if body is None:
                status, body = self.google_error(404, "NOT_FOUND",
                                                 "The Cloud SQL instance does not exist.",
                                                 "instanceDoesNotExist")
        elif template == "/v1/projects/{project}/operations/{operation}" and verb == "GET":
            for spec in self.seed.get("operations", []):
                if spec["project"] == parts[2] and spec["name"] == parts[4]:
                    status, body, schema = 200, self.operation_resource(spec), "Operation"
            if body is None:
                status, body = self.google_error(404, "NOT_FOUND", "The operation does not exist.",
                                                 "operationDoesNotExist")
        else:
            status, body = self.google_error(501, "UNIMPLEMENTED",
                                             f"the double does not serve {verb} {template}")
        if schema:
            problems = self.model.problems(body, schema)
            if problems:
                self.note(f"sqladmin {verb} {path} 500 answer off the model: {problems}")
                return self.google_error(500, "INTERNAL",
                                         "the double's answer is off the published model: " +
                                         "; ".join(problems))
        self.note(f"sqladmin {verb} {path} {status}")
        return status, body


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

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path == "/token":
                self.reply(*double.token_endpoint(body, self.headers.get("Content-Type", "")))
            else:
                self.reply(404, {"error": "not found"})

        def do_GET(self):
            if self.path.split("?")[0] == METADATA_TOKEN:
                self.reply(*double.metadata(self.headers))
            elif self.path.startswith("/v1/"):
                self.reply(*double.sqladmin("GET", self.path, self.headers))
            else:
                self.reply(404, {"error": "not found"})

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
    double = Double(seed, os.path.join(args.workdir, "double.log"))
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(double))
    double.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    tmp = args.ready_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"endpoint": double.endpoint}, f)
    os.replace(tmp, args.ready_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
