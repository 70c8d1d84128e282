#!/usr/bin/env python3
"""A stand-in for Amazon Managed Prometheus (and STS AssumeRole) that checks every AWS
Signature Version 4 independently with botocore, for augur's integration tests.

    python3 sigv4_verify.py --region us-east-1 --upstream http://127.0.0.1:9090 \
        --key AKID:SECRET[:SESSION_TOKEN] [--key ...] [--assume-role AKID:SECRET:TOKEN]

Listens on 127.0.0.1 (a free port, printed as the first line of stdout) and exits when
its stdin closes (the test binary holds the other end), so it never outlives the tests.

* A request whose path contains ``/aps-workspaces/`` (augur decides to sign by Argo's
  ``strings.Contains(address, "aps-workspaces")``, so the tests use the address
  ``http://127.0.0.1:PORT/aps-workspaces/workspaces/ws-test``) must carry a sigv4
  ``Authorization`` for service ``aps`` in ``--region`` from one of the ``--key``s.
  The signature is recomputed with botocore's ``SigV4Auth`` (canonical request, string to
  sign, signature) from the method, path, query, the headers the client says it signed,
  the body and the client's ``X-Amz-Date``; ``x-amz-content-sha256``, when sent, must be
  the body's SHA-256, a session token must be the key's, and the date must be within
  5 minutes. A mismatch is a 403 with an AMP-like JSON body (for a wrong signature it
  quotes the canonical request, session token included, as AWS does). A verified request
  is forwarded from ``/api/v1/...`` on to ``--upstream`` (a real Prometheus) and its answer
  relayed.
* ``POST /`` is STS (``Action=AssumeRole``, signed for service ``sts``): it answers the
  ``--assume-role`` credentials, which are then accepted for ``aps`` too.
* ``GET /_verifier/log`` lists what was checked, as JSON (no secrets).
"""

import argparse
import datetime
import hashlib
import hmac
import json
import os
import re
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AUTH_RE = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<akid>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)
MAX_SKEW = datetime.timedelta(minutes=5)

KEYS = {}  # access key id -> (secret, session token or None)
ASSUMED = None  # (akid, secret, token) handed out by AssumeRole
REGION = ""
UPSTREAM = ""
LOG = []
LOG_LOCK = threading.Lock()


def parse_key(text):
    parts = text.split(":", 2)
    if len(parts) < 2:
        raise argparse.ArgumentTypeError("expected AKID:SECRET[:TOKEN]")
    return parts[0], parts[1], (parts[2] if len(parts) > 2 and parts[2] else None)


class Refused(Exception):
    def __init__(self, error_type, message):
        super().__init__(message)
        self.error_type = error_type
        self.message = message


def verify(handler, path, query, body, service):
    """Checks the request's sigv4 signature; returns the access key id or raises Refused."""
    auth = handler.headers.get("Authorization")
    if not auth:
        raise Refused("MissingAuthenticationTokenException", "Missing Authentication Token")
    m = AUTH_RE.fullmatch(auth)
    if not m:
        raise Refused(
            "IncompleteSignatureException",
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.",
        )
    akid = m["akid"]
    if akid not in KEYS:
        raise Refused("UnrecognizedClientException", "The security token included in the request is invalid.")
    if m["region"] != REGION or m["service"] != service:
        raise Refused(
            "InvalidSignatureException",
            f"Credential should be scoped to a valid region and service: expected {REGION}/{service}, "
            f"got {m['region']}/{m['service']}.",
        )
    amz_date = handler.headers.get("X-Amz-Date", "")
    try:
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise Refused("IncompleteSignatureException", f"Invalid X-Amz-Date {amz_date!r}.")
    if amz_date[:8] != m["date"]:
        raise Refused("InvalidSignatureException", "Credential date does not match X-Amz-Date.")
    if abs(datetime.datetime.now(datetime.timezone.utc) - when) > MAX_SKEW:
        raise Refused("InvalidSignatureException", "Signature expired: the request time is too skewed.")
    signed = m["signed"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        raise Refused("InvalidSignatureException", "'Host' and 'X-Amz-Date' must be signed headers.")
    headers = {}
    for name in signed:
        values = handler.headers.get_all(name)
        if not values:
            raise Refused("InvalidSignatureException", f"Signed header {name!r} is missing from the request.")
        headers[name] = ",".join(values)
    sent_hash = headers.get("x-amz-content-sha256")
    if sent_hash is not None and sent_hash != hashlib.sha256(body).hexdigest():
        raise Refused(
            "InvalidSignatureException",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )
    secret, token = KEYS[akid]
    if token is not None and handler.headers.get("X-Amz-Security-Token") != token:
        raise Refused("UnrecognizedClientException", "The security token included in the request is invalid.")

    request = AWSRequest(
        method=handler.command,
        url=f"http://{headers['host']}{path}",
        headers=headers,
        data=body,
        params=urllib.parse.parse_qsl(query, keep_blank_values=True),
    )
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(akid, secret, token), service, REGION)
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    expected = signer.signature(string_to_sign, request)
    if signer.signed_headers(signer.headers_to_sign(request)) != m["signed"] or not hmac.compare_digest(
        expected, m["signature"]
    ):
        raise Refused(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
            "Access Key and signing method. Consult the service documentation for details.\n\nThe Canonical String "
            f"for this request should have been\n'{canonical}'\n\nThe String-to-Sign should have been\n"
            f"'{string_to_sign}'\n",
        )
    return akid


def record(entry):
    with LOG_LOCK:
        LOG.append(entry)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet: the tests read /_verifier/log
        pass

    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def reply(self, status, content_type, body, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urllib.parse.urlsplit(self.path)
        if parts.path == "/_verifier/log" and self.command == "GET":
            with LOG_LOCK:
                payload = json.dumps(LOG).encode()
            return self.reply(200, "application/json", payload)
        if parts.path == "/" and self.command == "POST":
            return self.sts(parts, body)
        if "/aps-workspaces/" in parts.path:
            return self.amp(parts, body)
        self.reply(404, "application/json", b'{"message":"Not Found"}')

    def amp(self, parts, body):
        entry = {"service": "aps", "method": self.command, "path": parts.path}
        try:
            entry["access_key"] = verify(self, parts.path, parts.query, body, "aps")
        except Refused as refused:
            entry["verdict"] = refused.error_type
            record(entry)
            payload = json.dumps({"message": refused.message}).encode()
            return self.reply(403, "application/json", payload, [("x-amzn-ErrorType", refused.error_type)])
        entry["verdict"] = "ok"
        entry["session_token"] = self.headers.get("X-Amz-Security-Token") is not None
        record(entry)
        at = parts.path.find("/api/v1/")
        if at < 0:
            return self.reply(404, "application/json", b'{"message":"Not Found"}')
        url = UPSTREAM + parts.path[at:] + (f"?{parts.query}" if parts.query else "")
        headers = {}
        if self.headers.get("Content-Type"):
            headers["Content-Type"] = self.headers["Content-Type"]
        forwarded = urllib.request.Request(url, data=body if body else None, method=self.command, headers=headers)
        try:
            with urllib.request.urlopen(forwarded, timeout=30) as answer:
                status, content_type, payload = answer.status, answer.headers.get("Content-Type"), answer.read()
        except urllib.error.HTTPError as answer:
            status, content_type, payload = answer.code, answer.headers.get("Content-Type"), answer.read()
        except OSError as error:
            status, content_type, payload = 502, None, json.dumps({"message": f"upstream: {error}"}).encode()
        self.reply(status, content_type or "application/json", payload)

    def sts(self, parts, body):
        form = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        entry = {"service": "sts", "action": form.get("Action"), "role_arn": form.get("RoleArn")}
        try:
            entry["access_key"] = verify(self, parts.path, parts.query, body, "sts")
            if form.get("Action") != "AssumeRole" or ASSUMED is None:
                raise Refused("InvalidAction", f"Could not find operation {form.get('Action')}")
        except Refused as refused:
            entry["verdict"] = refused.error_type
            record(entry)
            xml = (
                "<ErrorResponse><Error><Type>Sender</Type>"
                f"<Code>{refused.error_type}</Code><Message>{refused.message}</Message>"
                "</Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
            )
            return self.reply(403, "text/xml", xml.encode())
        entry["verdict"] = "ok"
        record(entry)
        akid, secret, token = ASSUMED
        expiration = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        session = form.get("RoleSessionName", "")
        role = form.get("RoleArn", "")
        xml = f"""<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>{akid}</AccessKeyId>
      <SecretAccessKey>{secret}</SecretAccessKey>
      <SessionToken>{token}</SessionToken>
      <Expiration>{expiration}</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <AssumedRoleId>AROAEXAMPLE:{session}</AssumedRoleId>
      <Arn>{role.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/")}/{session}</Arn>
    </AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000001</RequestId></ResponseMetadata>
</AssumeRoleResponse>"""
        self.reply(200, "text/xml", xml.encode())


def main():
    global ASSUMED, REGION, UPSTREAM
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", required=True)
    parser.add_argument("--upstream", required=True, help="the real Prometheus, http://127.0.0.1:PORT")
    parser.add_argument("--key", action="append", type=parse_key, default=[], help="AKID:SECRET[:TOKEN]")
    parser.add_argument("--assume-role", type=parse_key, help="AKID:SECRET:TOKEN that AssumeRole hands out")
    args = parser.parse_args()
    REGION, UPSTREAM = args.region, args.upstream.rstrip("/")
    for akid, secret, token in args.key:
        KEYS[akid] = (secret, token)
    if args.assume_role:
        ASSUMED = args.assume_role
        KEYS[ASSUMED[0]] = (ASSUMED[1], ASSUMED[2])

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)

    def exit_when_stdin_closes():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
