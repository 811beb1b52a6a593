"""Write the API Gateway test-console events around the sample and the story bodies.

    .venv/bin/python -m events.make_console_events           # (re)write events/apigateway/
    .venv/bin/python -m events.make_console_events --check   # exit 1 if a committed event is stale

Each event is the REST proxy event that the API Gateway console's *Test* button sends to the
ingest function for ``POST /webhook``, with the body file's text, byte for byte, as ``body``:
``events/sample.json`` becomes ``apigateway/test-console-sample.json`` and
``events/story/NN-name.json`` becomes ``apigateway/story/NN-name.json``. Edit a body, run this,
commit both; a test fails while they differ.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parent
OUT = EVENTS / "apigateway"
SAMPLE = EVENTS / "sample.json"
STORY = EVENTS / "story"

_ACCOUNT = "123456789012"
# The console's fixed placeholders; only the request id differs from one event to the next.
_REQUEST_TIME = "28/Nov/2026:17:00:00 +0000"
_REQUEST_TIME_EPOCH = 1795885200000


def console_event(body: str, request_number: int) -> dict[str, Any]:
    """The proxy event the test console sends for ``body``."""
    headers = {"Content-Type": "application/json", "x-api-key": "test-invoke-api-key"}
    return {
        "resource": "/webhook",
        "path": "/webhook",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": "/webhook",
            "httpMethod": "POST",
            "extendedRequestId": "test-invoke-extendedRequestId",
            "requestTime": _REQUEST_TIME,
            "path": "/webhook",
            "accountId": _ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": "test-invoke-stage",
            "domainPrefix": "testPrefix",
            "requestTimeEpoch": _REQUEST_TIME_EPOCH,
            "requestId": f"8f3c5b1e-0000-4000-8000-{request_number:012d}",
            "identity": {
                "cognitoIdentityPoolId": None,
                "cognitoIdentityId": None,
                "apiKey": "test-invoke-api-key",
                "principalOrgId": None,
                "cognitoAuthenticationType": None,
                "userArn": f"arn:aws:iam::{_ACCOUNT}:user/operator",
                "apiKeyId": "test-invoke-api-key-id",
                "userAgent": "aws-internal/3",
                "accountId": _ACCOUNT,
                "caller": "AIDAEXAMPLE",
                "sourceIp": "test-invoke-source-ip",
                "accessKey": "ASIAEXAMPLE",
                "cognitoAuthenticationProvider": None,
                "user": "AIDAEXAMPLE",
            },
            "domainName": "testPrefix.testDomainName",
            "apiId": "abcdef1234",
        },
        "body": body,
        "isBase64Encoded": False,
    }


def bodies() -> list[tuple[Path, Path]]:
    """(body file, event file) pairs: the sample first, then the story's steps in order."""
    pairs = [(SAMPLE, OUT / "test-console-sample.json")]
    pairs += [(body, OUT / "story" / body.name) for body in sorted(STORY.glob("*.json"))]
    return pairs


def rendered() -> dict[Path, str]:
    """Every event file's expected text, by path."""
    return {
        target: json.dumps(console_event(body.read_text(), number), indent=2) + "\n"
        for number, (body, target) in enumerate(bodies(), start=1)
    }


def stale() -> list[Path]:
    """Event files that are missing, differ from their body, or have no body any more."""
    expected = rendered()
    wrong = [path for path, text in expected.items() if _read(path) != text]
    orphans = [path for path in sorted((OUT / "story").glob("*.json")) if path not in expected]
    return wrong + orphans


def _read(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


def write() -> list[Path]:
    """Write every event whose text changed, remove orphans; returns what was touched."""
    expected = rendered()
    touched = []
    for path in stale():
        if path in expected:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(expected[path])
        else:
            path.unlink()
        touched.append(path)
    return touched


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m events.make_console_events",
        description="Write the API Gateway test-console events around the sample and story.",
    )
    parser.add_argument(
        "--check", action="store_true", help="only report stale events (exit 1 if any)"
    )
    args = parser.parse_args(argv)
    root = EVENTS.parent
    if args.check:
        outdated = stale()
        for path in outdated:
            print(f"stale: {path.relative_to(root)}", file=sys.stderr)
        if outdated:
            print("run: .venv/bin/python -m events.make_console_events", file=sys.stderr)
        return 1 if outdated else 0
    touched = write()
    for path in touched:
        print(f"wrote {path.relative_to(root)}")
    if not touched:
        print("every event is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
