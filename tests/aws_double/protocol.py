"""Wire formats of the AWS double, driven by botocore's service models.

Query (rds, sts) and EC2 requests are form bodies parsed into the operation's input shape;
responses are XML written from the output shape (a member the model lacks is an error). KMS
speaks JSON 1.1. SigV4 signatures are recomputed with botocore.auth.SigV4Auth.
"""
import base64
import datetime
import hmac
import json
import uuid
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.validate import ParamValidator

_SESSION = botocore.session.get_session()
_MODELS = {}


def model(service):
    if service not in _MODELS:
        _MODELS[service] = _SESSION.get_service_model(service)
    return _MODELS[service]


class Fault(Exception):
    """An AWS error reply: code, message, HTTP status (from the model's error shape if known)."""

    def __init__(self, code, message, status=None, sender=True):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status, self.sender = code, message, status, sender


_STATUS = {}


def error_status(service, code, default=400):
    if service not in _STATUS:
        m, table = model(service), {}
        for name in m.shape_names:
            shape = m.shape_for(name)
            if shape.metadata.get("exception"):
                err = shape.metadata.get("error") or {}
                table[err.get("code", name)] = err.get("httpStatusCode", 400)
        _STATUS[service] = table
    return _STATUS[service].get(code, default)


def request_id():
    return str(uuid.uuid4())


# ------------------------------------------------------------------------------------------
# Input: form parameters -> the operation's input shape
# ------------------------------------------------------------------------------------------


def _member_key(shape, name, ec2):
    ser = shape.serialization
    if ec2:
        if "queryName" in ser:
            return ser["queryName"]
        if "name" in ser:
            return ser["name"][0].upper() + ser["name"][1:]
        return name
    return ser.get("name", name)


def _has_prefix(form, prefix):
    dotted = prefix + "."
    return any(k == prefix or k.startswith(dotted) for k in form)


def _scalar(shape, raw, key):
    t = shape.type_name
    try:
        if t in ("integer", "long"):
            return int(raw)
        if t in ("float", "double"):
            return float(raw)
        if t == "boolean":
            if raw.lower() not in ("true", "false"):
                raise ValueError(raw)
            return raw.lower() == "true"
        if t == "timestamp":
            return parse_time(raw)
        if t == "blob":
            return base64.b64decode(raw)
    except ValueError:
        raise Fault("InvalidParameterValue", f"Invalid value '{raw}' for parameter {key}.")
    return raw


def _parse(shape, form, prefix, ec2):
    t = shape.type_name
    if t == "structure":
        out = {}
        for name, member in shape.members.items():
            key = _member_key(member, name, ec2)
            full = f"{prefix}.{key}" if prefix else key
            if _has_prefix(form, full):
                value = _parse(member, form, full, ec2)
                if value is not None:
                    out[name] = value
        return out
    if t == "list":
        if form.get(prefix) == "":
            return []
        candidates = [prefix] if ec2 or shape.serialization.get("flattened") else [
            f"{prefix}.{shape.member.serialization.get('name', 'member')}", f"{prefix}.member"]
        for base in candidates:
            items, i = [], 1
            while _has_prefix(form, f"{base}.{i}"):
                items.append(_parse(shape.member, form, f"{base}.{i}", ec2))
                i += 1
            if items:
                return items
        return None
    if t == "map":
        out, i = {}, 1
        while _has_prefix(form, f"{prefix}.entry.{i}"):
            k = form.get(f"{prefix}.entry.{i}.key")
            out[k] = _parse(shape.value, form, f"{prefix}.entry.{i}.value", ec2)
            i += 1
        return out
    if prefix not in form:
        return None
    return _scalar(shape, form[prefix], prefix)


def parse_input(service, action, form):
    """form: dict of the request's parameters. Returns (operation_model, params)."""
    m = model(service)
    if action not in m.operation_names:
        raise Fault("InvalidAction", f"The action {action} is not valid for this web service.")
    op = m.operation_model(action)
    if op.input_shape is None:
        return op, {}
    params = _parse(op.input_shape, form, "", m.protocol == "ec2")
    validate(op.input_shape, params)
    return op, params


def validate(shape, params):
    report = ParamValidator().validate(params, shape)
    if not report.has_errors():
        return
    missing = [e for e in report._errors if e[0] == "missing required field"]
    if missing:
        raise Fault("MissingParameter",
                    f"The request must contain the parameter {missing[0][2]['required_name']}")
    raise Fault("InvalidParameterValue", report.generate_report().replace("\n", " "))


# ------------------------------------------------------------------------------------------
# Output: XML from the output shape
# ------------------------------------------------------------------------------------------


def iso8601(value):
    if isinstance(value, (int, float)):
        value = datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_time(raw):
    raw = raw.strip()
    if raw.replace(".", "", 1).isdigit():
        return datetime.datetime.fromtimestamp(float(raw), datetime.timezone.utc)
    return datetime.datetime.fromisoformat(raw.replace("Z", "+00:00"))


def _xml_scalar(shape, value):
    t = shape.type_name
    if t == "boolean":
        return "true" if value else "false"
    if t == "timestamp":
        return iso8601(value)
    if t == "blob":
        return base64.b64encode(value).decode()
    return escape(str(value))


def _xml(shape, value, tag):
    """The element(s) for one value whose element name is tag."""
    t = shape.type_name
    if t == "structure":
        inner = "".join(_xml_member(shape, value))
        return f"<{tag}>{inner}</{tag}>"
    if t == "list":
        member_tag = shape.member.serialization.get("name", "member")
        if shape.serialization.get("flattened"):
            return "".join(_xml(shape.member, v, tag) for v in value)
        return f"<{tag}>" + "".join(_xml(shape.member, v, member_tag) for v in value) + f"</{tag}>"
    if t == "map":
        entries = "".join(
            f"<entry><key>{escape(str(k))}</key>{_xml(shape.value, v, 'value')}</entry>"
            for k, v in value.items())
        return f"<{tag}>{entries}</{tag}>"
    return f"<{tag}>{_xml_scalar(shape, value)}</{tag}>"


def _xml_member(shape, value):
    unknown = set(value) - set(shape.members)
    if unknown:  # a bug of the double: botocore's model has no such member
        raise ValueError(f"{shape.name} has no member {', '.join(sorted(unknown))}")
    for name, member in shape.members.items():
        if name in value and value[name] is not None:
            tag = member.serialization.get("name", name)
            if member.type_name == "list" and member.serialization.get("flattened"):
                tag = member.member.serialization.get("name", tag)
            yield _xml(member, value[name], tag)


def query_response(service, op, result, rid):
    ns = model(service).metadata["xmlNamespace"]
    inner = "".join(_xml_member(op.output_shape, result)) if op.output_shape is not None else ""
    wrapper = op.output_shape.serialization.get("resultWrapper") if op.output_shape else None
    body = f"<{wrapper}>{inner}</{wrapper}>" if wrapper else ""
    return (f'<{op.name}Response xmlns="{ns}">{body}'
            f"<ResponseMetadata><RequestId>{rid}</RequestId></ResponseMetadata>"
            f"</{op.name}Response>")


def ec2_response(op, result, rid):
    ns = model("ec2").metadata["xmlNamespace"]
    inner = "".join(_xml_member(op.output_shape, result)) if op.output_shape is not None else ""
    return (f'<{op.name}Response xmlns="{ns}/"><requestId>{rid}</requestId>{inner}'
            f"</{op.name}Response>")


def query_error(service, fault, rid):
    ns = model(service).metadata["xmlNamespace"]
    kind = "Sender" if fault.sender else "Receiver"
    return (f'<ErrorResponse xmlns="{ns}"><Error><Type>{kind}</Type>'
            f"<Code>{escape(fault.code)}</Code><Message>{escape(fault.message)}</Message>"
            f"</Error><RequestId>{rid}</RequestId></ErrorResponse>")


def ec2_error(fault, rid):
    return (f"<Response><Errors><Error><Code>{escape(fault.code)}</Code>"
            f"<Message>{escape(fault.message)}</Message></Error></Errors>"
            f"<RequestID>{rid}</RequestID></Response>")


def _jsonable(shape, value):
    t = shape.type_name
    if t == "structure":
        return {k: _jsonable(shape.members[k], v) for k, v in value.items()
                if k in shape.members and v is not None}
    if t == "list":
        return [_jsonable(shape.member, v) for v in value]
    if t == "map":
        return {k: _jsonable(shape.value, v) for k, v in value.items()}
    if t == "timestamp" and isinstance(value, datetime.datetime):
        return value.timestamp()
    if t == "blob":
        return base64.b64encode(value).decode()
    return value


def json_response(op, result):
    return json.dumps(_jsonable(op.output_shape, result) if op.output_shape else {})


def json_error(fault):
    return json.dumps({"__type": fault.code, "message": fault.message})


# ------------------------------------------------------------------------------------------
# SigV4
# ------------------------------------------------------------------------------------------


def parse_authorization(header):
    """'AWS4-HMAC-SHA256 Credential=AK/DATE/REGION/SERVICE/aws4_request, SignedHeaders=..,
    Signature=..' -> dict(access_key, date, region, service, signed_headers, signature)."""
    if not header or not header.startswith("AWS4-HMAC-SHA256 "):
        return None
    fields = {}
    for part in header[len("AWS4-HMAC-SHA256 "):].split(","):
        k, _, v = part.strip().partition("=")
        fields[k] = v
    scope = fields.get("Credential", "").split("/")
    if len(scope) != 5 or "SignedHeaders" not in fields or "Signature" not in fields:
        return None
    return {"access_key": scope[0], "date": scope[1], "region": scope[2], "service": scope[3],
            "signed_headers": fields["SignedHeaders"].split(";"),
            "signature": fields["Signature"]}


def expected_signature(auth, secret, method, url, headers, body):
    """The signature botocore computes for this request with the given secret."""
    wanted = set(auth["signed_headers"])
    signed = {k: v for k, v in headers.items() if k.lower() in wanted}
    request = AWSRequest(method=method, url=url, headers=signed, data=body)
    request.context["timestamp"] = headers.get("X-Amz-Date", "")
    signer = SigV4Auth(Credentials(auth["access_key"], secret), auth["service"], auth["region"])
    canonical = signer.canonical_request(request)
    return signer.signature(signer.string_to_sign(request, canonical), request), canonical


def signatures_match(a, b):
    return hmac.compare_digest(a.encode(), b.encode())


def url_of(host, path):
    parts = urlsplit(path)
    return f"http://{host}{parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")
