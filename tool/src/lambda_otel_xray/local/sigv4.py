"""Server-side check of an AWS Signature Version 4 `Authorization` header.

The xray-otlp stand-in recomputes the signature the way AWS does (canonical request, string to
sign, HMAC key chain) from what actually arrived, so a collector that signs the wrong body,
service or region fails locally instead of with a 403 after deploy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)
MAX_SKEW = dt.timedelta(minutes=5)
UTC = dt.timezone.utc  # noqa: UP017 (datetime.UTC needs Python 3.11)


@dataclass
class SigV4Check:
    ok: bool
    reason: str = ""
    access_key: str = ""
    date: str = ""
    region: str = ""
    service: str = ""
    signed_headers: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _canonical_query(query: str) -> str:
    if not query:
        return ""
    pairs = []
    for part in query.split("&"):
        name, _, value = part.partition("=")
        pairs.append((quote(unquote(name), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def verify(
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    *,
    secret_key: str,
    access_key: str,
    region: str,
    service: str,
    now: dt.datetime | None = None,
) -> SigV4Check:
    """Check the request's SigV4 signature; ``headers`` keys are lower-case."""
    auth = headers.get("authorization", "")
    match = _AUTH.match(auth.strip())
    if not match:
        return SigV4Check(False, f"no SigV4 Authorization header (got {auth[:40]!r})")
    parts = match["credential"].split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        return SigV4Check(False, f"malformed credential scope {match['credential']!r}")
    key_id, date, scope_region, scope_service, _ = parts
    signed = match["signed"].split(";")
    check = SigV4Check(False, "", key_id, date, scope_region, scope_service, signed)
    if key_id != access_key:
        check.reason = f"signed with access key {key_id!r}, expected {access_key!r}"
        return check
    if scope_service != service:
        check.reason = f"signed for service {scope_service!r}, expected {service!r}"
        return check
    if scope_region != region:
        check.reason = f"signed for region {scope_region!r}, expected {region!r}"
        return check
    if "host" not in signed:
        check.reason = "the Host header is not signed"
        return check
    missing = [h for h in signed if h not in headers]
    if missing:
        check.reason = f"signed headers missing from the request: {missing}"
        return check
    amz_date = headers.get("x-amz-date", "")
    try:
        when = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        check.reason = f"bad or missing X-Amz-Date {amz_date!r}"
        return check
    if not amz_date.startswith(date):
        check.reason = f"X-Amz-Date {amz_date} does not match the credential date {date}"
        return check
    now = now or dt.datetime.now(UTC)
    if abs(now - when) > MAX_SKEW:
        check.reason = f"request time {amz_date} is more than 5 minutes from now"
        return check

    payload_hash = hashlib.sha256(body).hexdigest()
    claimed = headers.get("x-amz-content-sha256")
    if claimed and claimed not in (payload_hash, "UNSIGNED-PAYLOAD"):
        check.reason = "X-Amz-Content-Sha256 does not match the body that arrived"
        return check
    canonical_headers = "".join(
        f"{name}:{' '.join(headers[name].strip().split())}\n" for name in signed
    )
    canonical_path = quote(path or "/", safe="/-_.~")
    canonical_request = "\n".join(
        [
            method.upper(),
            canonical_path,
            _canonical_query(query),
            canonical_headers,
            ";".join(signed),
            claimed or payload_hash,
        ]
    )
    scope = f"{date}/{scope_region}/{scope_service}/aws4_request"
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = _hmac(("AWS4" + secret_key).encode(), date)
    for part in (scope_region, scope_service, "aws4_request"):
        key = _hmac(key, part)
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, match["signature"]):
        check.reason = "signature mismatch: body, headers or secret key differ from what was signed"
        return check
    check.ok = True
    return check
