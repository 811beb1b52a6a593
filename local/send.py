"""``python -m local.send FILE`` (``make send``): post a JSON file to the local webhook.

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

from local import defaults
from local.client import Credentials, post_webhook
from local.console import Console

EXIT_REJECTED = 1
EXIT_UNREACHABLE = 2


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local.send", description="Post a JSON file to the local webhook."
    )
    parser.add_argument("file", type=Path, help="the body to post, e.g. events/sample.json")
    parser.add_argument("--url", default=defaults.webhook_url(), help="the webhook URL")
    parser.add_argument(
        "--api-key", default=defaults.API_KEY, help="the x-api-key value ('' sends none)"
    )
    parser.add_argument(
        "--bearer-token",
        default=defaults.BEARER_TOKEN,
        help="the token sent as 'Authorization: Bearer <token>' ('' sends no header)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
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
