"""KMS (JSON 1.1) of the double: the seeded keys and aliases."""
import datetime

from protocol import Fault


class Kms:
    def __init__(self, seed):
        self.region = seed.get("region", "us-east-1")
        self.account = seed.get("account_id", "123456789012")
        self.keys = seed.get("kms_keys", [])

    def _arn(self, key):
        return key.get("arn") or f"arn:aws:kms:{self.region}:{self.account}:key/{key['id']}"

    def _find(self, key_id):
        for key in self.keys:
            aliases = key.get("aliases", [])
            alias_arns = [f"arn:aws:kms:{self.region}:{self.account}:{a}" for a in aliases]
            if key_id in (key["id"], self._arn(key)) or key_id in aliases + alias_arns:
                return key
        raise Fault("NotFoundException", f"Key '{key_id}' does not exist")

    def DescribeKey(self, p):
        key = self._find(p["KeyId"])
        aws_managed = any(a.startswith("alias/aws/") for a in key.get("aliases", []))
        return {"KeyMetadata": {
            "AWSAccountId": self.account, "KeyId": key["id"], "Arn": self._arn(key),
            "CreationDate": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
            "Enabled": key.get("enabled", True), "Description": key.get("description", ""),
            "KeyUsage": "ENCRYPT_DECRYPT", "KeyState": key.get("state", "Enabled"),
            "Origin": "AWS_KMS", "KeyManager": "AWS" if aws_managed else "CUSTOMER",
            "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT", "KeySpec": "SYMMETRIC_DEFAULT",
            "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"], "MultiRegion": False}}

    def ListAliases(self, p):
        items = []
        for key in self.keys:
            if p.get("KeyId") and self._find(p["KeyId"]) is not key:
                continue
            for alias in key.get("aliases", []):
                items.append({"AliasName": alias,
                              "AliasArn": f"arn:aws:kms:{self.region}:{self.account}:{alias}",
                              "TargetKeyId": key["id"]})
        start = int(p.get("Marker") or 0)
        limit = p.get("Limit", 100)
        chunk = items[start:start + limit]
        more = start + limit < len(items)
        return {"Aliases": chunk, "Truncated": more, "NextMarker": str(start + limit) if more else None}
