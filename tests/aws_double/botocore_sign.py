"""Signs requests with botocore's SigV4Auth, the reference the C++ signer is checked against.

Usage: botocore_sign.py REQUESTS.json
REQUESTS.json: a list of {method, url, headers: [[name, value]...], body, service, region,
access_key, secret_key, token, timestamp: "20150830T123600Z"}. Prints a JSON list of the
Authorization headers, in order.
"""
import datetime
import json
import sys

import botocore.auth
import botocore.awsrequest
import botocore.credentials


def sign(spec):
    now = datetime.datetime.strptime(spec["timestamp"], "%Y%m%dT%H%M%SZ")

    class FixedClock(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return now

    saved = botocore.auth.datetime.datetime
    botocore.auth.datetime.datetime = FixedClock
    try:
        credentials = botocore.credentials.Credentials(
            spec["access_key"], spec["secret_key"], spec.get("token") or None)
        request = botocore.awsrequest.AWSRequest(
            method=spec["method"], url=spec["url"], data=spec["body"].encode("utf-8"))
        for name, value in spec["headers"]:
            request.headers[name] = value
        botocore.auth.SigV4Auth(credentials, spec["service"], spec["region"]).add_auth(request)
        return request.headers["Authorization"]
    finally:
        botocore.auth.datetime.datetime = saved


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        specs = json.load(f)
    print(json.dumps([sign(spec) for spec in specs]))


if __name__ == "__main__":
    main()
