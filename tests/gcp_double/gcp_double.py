#!/usr/bin/python3
"""A local Google endpoint for tests: the OAuth 2.0 token endpoint (service-account JWT bearer
grant, RFC 7523, and refresh-token grant, as https://oauth2.googleapis.com/token answers them)
and the metadata server's token path, faithful to Google's public documentation ("Using OAuth 2.0
for Server to Server Applications", "Authenticate workloads using service accounts").

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
  "expires_in": 3599
}
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
        return 200, {"access_token": "ya29.double-" + secrets.token_urlsafe(24),
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
