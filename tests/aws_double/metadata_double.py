"""A local stand-in for the AWS endpoints the credential chain and AwsClient talk to.

Usage: metadata_double.py --port-file FILE [--token TOKEN] [--expires-in SECONDS]
Binds 127.0.0.1 on a free port and writes the port to FILE once it listens.

Serves, on the same port:
  * IMDSv2 (as documented for EC2): PUT /latest/api/token needs
    X-aws-ec2-metadata-token-ttl-seconds (1..21600; 400 otherwise) and returns a token; every
    GET under /latest/ needs X-aws-ec2-metadata-token with a token it issued (401 otherwise).
    /latest/meta-data/iam/security-credentials/ lists one role, .../<role> its credentials.
  * Container credentials: GET /container/credentials; with --token, the Authorization header
    must equal it (401 otherwise).
  * A Query/JSON AWS API at POST /: the Action (form body) or X-Amz-Target decides the reply:
      ThrottleTwice  400 Throttling twice, then success      FailOnce       500 once, then success
      Permanent      400 ValidationError, always             ExpireOnce     400 ExpiredToken once
      AlwaysExpired  400 ExpiredToken, always                AssumeRole[WithWebIdentity]  STS
    anything else succeeds. A request without Authorization is refused (403) except
    AssumeRoleWithWebIdentity, which must come unsigned.
  * GET /__count/<Action>: how many requests that action received, as text.
Credentials it hands out have AccessKeyId ASIA<source><n>, n counting up, so a test sees
whether it got fresh ones; they expire --expires-in seconds from now (default 3600).
"""
import argparse
import datetime
import json
import os
import secrets
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

ROLE = "dbr-test-role"


class State:
    def __init__(self, args):
        self.args = args
        self.imds_tokens = set()
        self.counts = {}
        self.issued = 0

    def credentials(self, source):
        self.issued += 1
        expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
            seconds=self.args.expires_in)
        return {
            "AccessKeyId": f"ASIA{source}{self.issued}",
            "SecretAccessKey": f"secret-{source}-{self.issued}",
            "Token": f"token-{source}-{self.issued}",
            "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


def xml_error(code, message):
    return (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
            f"<Message>{message}</Message></Error><RequestId>req-1</RequestId></ErrorResponse>")


class Handler(BaseHTTPRequestHandler):
    state = None

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type="text/plain"):
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != "/latest/api/token":
            return self.reply(404, "not found")
        if self.headers.get("X-Forwarded-For"):
            return self.reply(403, "forbidden")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self.reply(400, "missing or invalid X-aws-ec2-metadata-token-ttl-seconds")
        token = secrets.token_urlsafe(24)
        self.state.imds_tokens.add(token)
        self.reply(200, token)

    def do_GET(self):
        state = self.state
        if self.path.startswith("/__count/"):
            return self.reply(200, str(state.counts.get(self.path[len("/__count/"):], 0)))
        if self.path == "/container/credentials":
            if state.args.token and self.headers.get("Authorization") != state.args.token:
                return self.reply(401, "unauthorized")
            return self.reply(200, json.dumps(state.credentials("CONTAINER")), "application/json")
        if self.path.startswith("/latest/"):
            if self.headers.get("X-aws-ec2-metadata-token") not in state.imds_tokens:
                return self.reply(401, "unauthorized")
            base = "/latest/meta-data/iam/security-credentials/"
            if self.path == base:
                return self.reply(200, ROLE)
            if self.path == base + ROLE:
                body = dict(state.credentials("IMDS"), Code="Success", Type="AWS-HMAC",
                            LastUpdated="2024-01-01T00:00:00Z")
                return self.reply(200, json.dumps(body), "application/json")
        self.reply(404, "not found")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
        target = self.headers.get("X-Amz-Target")
        if target:
            action = target.split(".", 1)[1]
        else:
            action = urllib.parse.parse_qs(body).get("Action", [""])[0]
        state = self.state
        n = state.counts[action] = state.counts.get(action, 0) + 1
        signed = "Authorization" in self.headers
        if action == "AssumeRoleWithWebIdentity" and signed:
            return self.reply(400, xml_error("InvalidRequest", "must be unsigned"))
        if action != "AssumeRoleWithWebIdentity" and not signed:
            return self.reply(403, xml_error("MissingAuthenticationToken", "not signed"))

        def error(status, code, message):
            if target:
                return self.reply(status, json.dumps({"__type": f"com.amazonaws.kms#{code}",
                                                      "message": message}),
                                  "application/x-amz-json-1.1")
            return self.reply(status, xml_error(code, message), "text/xml")

        if action == "ThrottleTwice" and n <= 2:
            return error(400, "ThrottlingException" if target else "Throttling", "Rate exceeded")
        if action == "FailOnce" and n == 1:
            return error(500, "InternalFailure", "try again")
        if action == "Permanent":
            return error(400, "ValidationError", "DBInstanceIdentifier is not valid")
        if action == "AlwaysExpired" or (action == "ExpireOnce" and n == 1):
            return error(400, "ExpiredToken", "The security token included in the request is expired")
        if target:
            return self.reply(200, json.dumps({"Action": action, "Attempt": n}),
                              "application/x-amz-json-1.1")
        if action.startswith("AssumeRole"):
            c = state.credentials("STS")
            result = (f"<Credentials><AccessKeyId>{c['AccessKeyId']}</AccessKeyId>"
                      f"<SecretAccessKey>{c['SecretAccessKey']}</SecretAccessKey>"
                      f"<SessionToken>{c['Token']}</SessionToken>"
                      f"<Expiration>{c['Expiration']}</Expiration></Credentials>")
        else:
            result = f"<Attempt>{n}</Attempt>"
        self.reply(200, f"<{action}Response><{action}Result>{result}</{action}Result>"
                        f"<ResponseMetadata><RequestId>req-{n}</RequestId></ResponseMetadata>"
                        f"</{action}Response>", "text/xml")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--token", default="")
    parser.add_argument("--expires-in", type=int, default=3600)
    args = parser.parse_args()
    Handler.state = State(args)
    server = HTTPServer(("127.0.0.1", 0), Handler)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
