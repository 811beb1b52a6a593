"""``make smoke``: prove a deployment end to end with one incident of its own, then remove it.

It sends the vendor sample as a new incident, ``smoke-<uuid>``, to the webhook URL with the API
key and the bearer token, as BigPanda would, and expects a 200. It then watches the stack's
stores, found as the on-call commands find them (``ops.discovery``), until the incident is
stored, its ticket is created and in step, and BigPanda has accepted the callback, printing
each step with its time after the webhook and finally what ``ops inspect`` shows. Once every
step was seen, it deletes what it created: the incident's item, its ticket state and its
archived payloads (the ticket in the service desk stays: close it there). When a step is not
seen in time it names that step, keeps everything for ``ops inspect``, and prints the command
that removes it later.

Only ids that start with ``smoke-`` are ever deleted, so no real incident can be.

Exit status: 0 every step seen, 1 a step not seen (or the webhook refused), 2 wrong usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Final, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from local import defaults, state
from local.client import Credentials
from ops import discovery
from ops.archive import list_versions
from ops.discovery import Resource, Target
from ops.errors import OpsError
from ops.inspection import Inspection, inspect, render
from pandabridge.names import INCIDENTS_TABLE, TICKETS_TABLE

PREFIX: Final = "smoke-"
# The credentials are read from these rather than typed on the command line, where the shell
# history and the process list would keep them.
API_KEY_ENV: Final = "WEBHOOK_API_KEY"
BEARER_TOKEN_ENV: Final = "WEBHOOK_BEARER_TOKEN"  # noqa: S105 - a variable name
DEFAULT_TIMEOUT_SECONDS: Final = 120.0
POLL_SECONDS: Final = 0.5
REQUEST_TIMEOUT_SECONDS: Final = 30.0

EXIT_FAILED: Final = 1


class Step(Enum):
    """What the smoke test waits for, in the order the stack does it; the value is its name."""

    STORED = "stored"
    TICKET = "ticket"
    CALLBACK = "callback"

    def seen_in(self, found: Inspection) -> bool:
        state = found.state
        if self is Step.STORED:
            return True
        if state is None or state.ticket is None:
            return False
        if self is Step.TICKET:
            return state.synced_hash == found.incident.summary.content_hash
        return state.callback_confirmed_at is not None

    @property
    def missing(self) -> str:
        """What not seeing this step means, and where to look first."""
        return {
            Step.STORED: "the incident was answered 200 but never stored: see the ingest logs",
            Step.TICKET: (
                "no ticket in step with the incident: see the ticket-sync logs and its DLQ's "
                "reason attribute"
            ),
            Step.CALLBACK: (
                "BigPanda never accepted the callback: see the callback logs and its DLQ's "
                "reason attribute (bigpanda_app_key, the User API key secret)"
            ),
        }[self]


@dataclass(frozen=True)
class Delivery:
    """The webhook's answer: its status and body as text (it holds no credential)."""

    status: int
    body: str


def smoke_body(incident_id: str, sample: bytes) -> bytes:
    """The vendor sample as a new incident with ``incident_id``."""
    document = json.loads(sample)
    document["incident"]["id"] = incident_id
    return json.dumps(document).encode()


def post(url: str, body: bytes, api_key: str, bearer_token: str) -> Delivery:
    """POST ``body`` as BigPanda does; every HTTP status is an answer, no answer an error.

    The error names the URL and the reason only: the headers carry the credentials.
    """
    headers = {"Content-Type": "application/json", **Credentials(api_key, bearer_token).headers()}
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked by the caller
        url, data=body, method="POST", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as answer:  # noqa: S310
            return Delivery(answer.status, answer.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as refused:
        return Delivery(refused.code, refused.read().decode("utf-8", "replace"))
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise OpsError(f"no answer from {url} ({reason})") from None


def follow(
    look: Callable[[], Inspection | None],
    *,
    sent_at: float,
    timeout: float,
    out: TextIO,
) -> tuple[Inspection | None, Step | None]:
    """Look until every step is seen or ``timeout`` passes: the last look, and the first step
    not seen (``None`` when all were). Each step is printed once, when first seen, with the
    time since ``sent_at`` (``time.monotonic()`` when the webhook was sent)."""
    pending = list(Step)
    found = None
    while True:
        found = look()
        while found is not None and pending and pending[0].seen_in(found):
            after = time.monotonic() - sent_at
            out.write(f"  ok   {pending.pop(0).value:<9} {after:.1f} s after the webhook\n")
        if not pending:
            return found, None
        if time.monotonic() - sent_at > timeout:
            return found, pending[0]
        time.sleep(POLL_SECONDS)


def looker(target: Target, incident_id: str) -> Callable[[], Inspection | None]:
    """What ``ops inspect`` would show now; ``None`` while the incident is not stored."""

    def look() -> Inspection | None:
        try:
            return inspect(target, incident_id)
        except OpsError:
            return None

    return look


def clean_up(target: Target, incident_id: str) -> list[str]:
    """Delete a smoke incident's item, ticket state and archived payloads; what was deleted."""
    if not incident_id.startswith(PREFIX):
        raise OpsError(f"{incident_id} is not a smoke incident (its id starts with {PREFIX!r})")
    aws, resources = target.aws, target.resources
    dynamodb, s3 = aws.client("dynamodb"), aws.client("s3")
    deleted = []
    for table, spec in (
        (resources[Resource.INCIDENTS_TABLE], INCIDENTS_TABLE),
        (resources[Resource.TICKETS_TABLE], TICKETS_TABLE),
    ):
        old = dynamodb.delete_item(
            TableName=table, Key={spec.partition_key: {"S": incident_id}}, ReturnValues="ALL_OLD"
        )
        if old.get("Attributes"):
            deleted.append(f"item {incident_id} of table {table}")
    bucket = resources[Resource.PAYLOAD_BUCKET]
    for version in list_versions(s3, bucket, incident_id):
        s3.delete_object(Bucket=bucket, Key=version.key)
        deleted.append(f"s3://{bucket}/{version.key}")
    return deleted


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="make smoke",
        description=(
            "Send one smoke incident to the webhook and follow it until it is stored, has a "
            "ticket and BigPanda accepted its callback, then delete what it created. The API "
            f"key and bearer token come from ${API_KEY_ENV} and ${BEARER_TOKEN_ENV}."
        ),
    )
    parser.add_argument("--url", help="the webhook URL (the stack's WebhookUrl output)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help=f"how long to wait for every step (default {DEFAULT_TIMEOUT_SECONDS:.0f})",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the smoke incident's items and payloads"
    )
    parser.add_argument(
        "--clean-up",
        metavar="INCIDENT_ID",
        help="only delete what an earlier smoke run left (an id starting with 'smoke-')",
    )
    discovery.add_arguments(parser)
    return parser


def _credentials(args: argparse.Namespace, parser: argparse.ArgumentParser) -> tuple[str, str]:
    api_key = os.environ.get(API_KEY_ENV, "")
    bearer_token = os.environ.get(BEARER_TOKEN_ENV, "")
    if args.local and not (api_key and bearer_token):
        running = _running_stack(parser)
        api_key, bearer_token = api_key or running.api_key, bearer_token or running.bearer_token
    pairs = ((API_KEY_ENV, api_key), (BEARER_TOKEN_ENV, bearer_token))
    missing = [name for name, value in pairs if not value]
    if missing:
        parser.error(f"set {' and '.join(missing)} (see the README's deploy steps)")
    return api_key, bearer_token


def _running_stack(parser: argparse.ArgumentParser) -> state.StackState:
    """``make run``'s stack, on whatever ports and keys it was started with."""
    try:
        return state.read()
    except state.NoRunningStackError as error:
        parser.error(str(error))


def _url(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str:
    url = args.url
    if url is None and args.local:
        url = _running_stack(parser).webhook_url
    if not url:
        parser.error("give the webhook URL: make smoke URL=https://.../webhook")
    if not url.startswith(("https://", "http://")):
        parser.error(f"not an http(s) URL: {url}")
    return str(url)


def run(args: argparse.Namespace, target: Target, credentials: tuple[str, str], out: TextIO) -> int:
    """Send, follow and clean up; the exit status."""
    incident_id = f"{PREFIX}{uuid.uuid4()}"
    body = smoke_body(incident_id, defaults.SAMPLE_EVENT.read_bytes())
    sent_at = time.monotonic()
    delivery = post(args.url, body, *credentials)
    if delivery.status != 200:
        out.write(f"FAIL webhook   HTTP {delivery.status} {delivery.body}\n")
        return EXIT_FAILED
    out.write(f"  ok   webhook   HTTP 200 {delivery.body}\n")
    look = looker(target, incident_id)
    found, missing = follow(look, sent_at=sent_at, timeout=args.timeout, out=out)
    if found is not None:
        out.write(render(found) + "\n")
    if missing is not None:
        out.write(
            f"FAIL {missing.value}: not seen within {args.timeout:.0f} s: {missing.missing}\n"
            f"kept for a look: .venv/bin/pandabridge-ops inspect {incident_id}{_where(args)}\n"
            f'then remove it: make smoke ARGS="--clean-up {incident_id}{_where(args)}"\n'
        )
        return EXIT_FAILED
    if args.keep:
        out.write(f"kept {incident_id} (--keep)\n")
    else:
        for what in clean_up(target, incident_id):
            out.write(f"  deleted {what}\n")
    out.write(f"smoke passed: {incident_id}\n")
    return 0


def _where(args: argparse.Namespace) -> str:
    """The flags that point at the same stack, for the commands printed to run next."""
    flags = [
        f"--{name.replace('_', '-')} {getattr(args, name)}"
        for name in ("stack", "region", "profile", "endpoint_url")
        if getattr(args, name)
    ]
    return "".join(f" {flag}" for flag in (["--local"] if args.local else []) + flags)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.clean_up is None:
        args.url = _url(args, parser)
        credentials = _credentials(args, parser)
    try:
        target = discovery.resolve(args)
        if args.clean_up is not None:
            for what in clean_up(target, args.clean_up):
                out.write(f"  deleted {what}\n")
            return 0
        return run(args, target, credentials, out)
    except OpsError as error:
        sys.stderr.write(f"error: {error}\n")
    except (BotoCoreError, ClientError) as error:
        sys.stderr.write(f"error: AWS: {error}\n")
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
