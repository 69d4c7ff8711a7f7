"""EC2 of the double: the seeded VPCs and security groups."""
from protocol import Fault


def _matches(item, filters, fields):
    for f in filters or []:
        field = fields.get(f["Name"])
        if field is not None and item.get(field) not in f.get("Values", []):
            return False
    return True


class Ec2:
    def __init__(self, seed):
        self.account = seed.get("account_id", "123456789012")
        self.vpcs = seed.get("vpcs", [])
        self.groups = seed.get("security_groups", [])

    def DescribeVpcs(self, p):
        wanted = p.get("VpcIds")
        for vid in wanted or []:
            if vid not in {v["id"] for v in self.vpcs}:
                raise Fault("InvalidVpcID.NotFound", f"The vpc ID '{vid}' does not exist")
        out = []
        for v in self.vpcs:
            item = {"vpc-id": v["id"], "cidr": v.get("cidr", "10.0.0.0/16")}
            if (wanted and v["id"] not in wanted) or not _matches(item, p.get("Filters"),
                                                                  {"vpc-id": "vpc-id", "cidr": "cidr"}):
                continue
            out.append({"CidrBlock": item["cidr"], "State": "available", "VpcId": v["id"],
                        "OwnerId": self.account, "InstanceTenancy": "default",
                        "IsDefault": v.get("is_default", False), "DhcpOptionsId": "dopt-0001"})
        return {"Vpcs": out}

    def DescribeSecurityGroups(self, p):
        wanted = p.get("GroupIds")
        for gid in wanted or []:
            if gid not in {g["id"] for g in self.groups}:
                raise Fault("InvalidGroup.NotFound", f"The security group '{gid}' does not exist")
        out = []
        for g in self.groups:
            item = {"group-id": g["id"], "vpc-id": g.get("vpc_id"), "group-name": g.get("name", g["id"])}
            if (wanted and g["id"] not in wanted) or not _matches(
                    item, p.get("Filters"),
                    {"group-id": "group-id", "vpc-id": "vpc-id", "group-name": "group-name"}):
                continue
            out.append({"GroupId": g["id"], "GroupName": item["group-name"],
                        "Description": g.get("description", item["group-name"]),
                        "VpcId": g.get("vpc_id"), "OwnerId": self.account,
                        "IpPermissions": [], "IpPermissionsEgress": []})
        return {"SecurityGroups": out}
