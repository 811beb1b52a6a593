"""``make send FILE=...`` (``.venv/bin/pandabridge-send FILE``): post a JSON file to the webhook.

The URL and both credentials are the running local stack's (its state file) unless flags give
them: ``--url``, ``--api-key`` and ``--bearer-token`` together reach any stack, deployed ones too.

Prints the status (coloured on a terminal) and the JSON answer. Exits 0 on a 2xx answer, 1 on
any other answer and 2 when the file cannot be read or no stack answers, so that scripts can
tell them apart.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from local import state
from local.client import Credentials, post_webhook
from local.demo.console import Console

EXIT_REJECTED = 1
EXIT_UNREACHABLE = 2


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="pandabridge-send",
        description=(
            "Post a JSON file to the webhook of the running local stack (make run), or of the "
            "stack that --url, --api-key and --bearer-token name."
        ),
    )
    parser.add_argument("file", type=Path, help="the body to post, e.g. events/sample.json")
    running = "(default: the running local stack's)"
    parser.add_argument("--url", help=f"the webhook URL {running}")
    parser.add_argument("--api-key", help=f"the x-api-key value ('' sends none) {running}")
    parser.add_argument(
        "--bearer-token",
        help=f"the token sent as 'Authorization: Bearer <token>' ('' sends no header) {running}",
    )
    return parser.parse_args(argv)


def _fill_from_state(args: argparse.Namespace) -> None:
    """Take what no flag gave from the running stack's state file."""
    if args.url is not None and args.api_key is not None and args.bearer_token is not None:
        return
    try:
        running = state.read()
    except state.NoRunningStackError as error:
        raise state.NoRunningStackError(
            f"{error}, or pass --url, --api-key and --bearer-token"
        ) from None
    args.url = running.webhook_url if args.url is None else args.url
    args.api_key = running.api_key if args.api_key is None else args.api_key
    args.bearer_token = running.bearer_token if args.bearer_token is None else args.bearer_token


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        _fill_from_state(args)
    except state.NoRunningStackError as error:
        Console(sys.stderr).print(str(error))
        return EXIT_UNREACHABLE
    try:
        with args.file.open("rb") as body:
            credentials = Credentials(args.api_key or None, args.bearer_token or None)
            answer = post_webhook(args.url, credentials, body)
    except FileNotFoundError:
        Console(sys.stderr).print(f"no such file: {args.file}")
        return EXIT_UNREACHABLE
    except OSError as exc:
        Console(sys.stderr).print(f"no answer from {args.url} ({exc}); is `make run` running?")
        return EXIT_UNREACHABLE
    console = Console()
    status = console.tone(f"HTTP {answer.status}", "good" if answer.ok else "bad")
    elapsed = console.tone(f"({answer.elapsed * 1000:.0f} ms)", "dim")
    console.print(console.join(status, "  ", answer.summary(), "  ", elapsed))
    parsed = answer.json()
    if parsed is not None:
        console.print(*json.dumps(parsed, indent=2).split("\n"))
    elif answer.body:
        console.print(*answer.body.decode("utf-8", "replace").split("\n"))
    return 0 if answer.ok else EXIT_REJECTED


if __name__ == "__main__":
    sys.exit(main())
