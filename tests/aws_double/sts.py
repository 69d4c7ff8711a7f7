"""STS of the double, and the credentials every service checks signatures against."""
import datetime
import secrets
import threading

from protocol import Fault


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


class Credentials:
    """Seeded keys plus the temporary ones our AssumeRole* hand out."""

    def __init__(self, seed):
        self.account = seed.get("account_id", "123456789012")
        self.lock = threading.Lock()
        self.keys = {}
        for c in seed.get("credentials", []):
            self.keys[c["access_key"]] = {
                "secret": c["secret"], "token": c.get("session_token"),
                "expired": c.get("expired", False), "expires": None,
                "arn": c.get("arn", f"arn:aws:iam::{self.account}:user/{c.get('user', 'tester')}"),
                "user_id": c.get("user_id", "AIDA" + c["access_key"][4:].ljust(17, "X")[:17])}

    def lookup(self, access_key):
        with self.lock:
            return self.keys.get(access_key)

    def is_expired(self, key):
        return key["expired"] or (key["expires"] is not None and _now() >= key["expires"])

    def issue(self, arn, user_id, seconds):
        access_key = "ASIA" + secrets.token_hex(8).upper()
        key = {"secret": secrets.token_urlsafe(30), "token": secrets.token_urlsafe(96),
               "expired": False, "expires": _now() + datetime.timedelta(seconds=seconds),
               "arn": arn, "user_id": user_id}
        with self.lock:
            self.keys[access_key] = key
        return {"AccessKeyId": access_key, "SecretAccessKey": key["secret"],
                "SessionToken": key["token"], "Expiration": key["expires"]}


class Sts:
    def __init__(self, seed, creds):
        self.creds, self.account = creds, creds.account
        self.roles = seed.get("roles", {})
        self.tokens = set(seed.get("web_identity_tokens", []))

    def _assume(self, p):
        arn = p["RoleArn"]
        if not self.roles.get(arn):
            raise Fault("AccessDenied", f"User is not authorized to perform: sts:AssumeRole on "
                        f"resource: {arn}", status=403)
        seconds = p.get("DurationSeconds", 3600)
        if not 900 <= seconds <= 43200:
            raise Fault("ValidationError", "The requested DurationSeconds exceeds the "
                        "MaxSessionDuration set for this role.")
        role_name = arn.split("/")[-1]
        role_id = "AROA" + secrets.token_hex(8).upper()
        session = p["RoleSessionName"]
        assumed = f"arn:aws:sts::{self.account}:assumed-role/{role_name}/{session}"
        creds = self.creds.issue(assumed, f"{role_id}:{session}", seconds)
        return {"Credentials": creds,
                "AssumedRoleUser": {"AssumedRoleId": f"{role_id}:{session}", "Arn": assumed}}

    def AssumeRole(self, p, caller):
        return self._assume(p)

    def AssumeRoleWithWebIdentity(self, p, caller):
        if p["WebIdentityToken"] not in self.tokens:
            raise Fault("InvalidIdentityToken", "Couldn't retrieve verification key from your "
                        "identity provider")
        out = self._assume(p)
        out.update(SubjectFromWebIdentityToken="system:serviceaccount:test:db-relocate",
                   Audience="sts.amazonaws.com", Provider="oidc.test")
        return out

    def GetCallerIdentity(self, p, caller):
        return {"UserId": caller["user_id"], "Account": self.account, "Arn": caller["arn"]}
