"""``python -m local`` (``make run``): the whole pipeline on this machine, no AWS account.

Starts a moto server, creates the stack's resources on it, serves the webhook behind a local
API gateway, posts ``events/sample.json`` once and reads it back. If a local stack already
serves the port, it posts the sample to that one instead (the answer is then ``duplicate``).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from aws_lambda_powertools.shared import constants as powertools

from local import defaults
from local.aws import LOCAL_CREDENTIALS, LOCAL_REGION
from local.client import Answer, post_webhook, probe_stack
from local.console import Console, configure_logging, seconds_since
from local.readback import describe_stored
from local.stack import LocalStack, StackOptions
from pandabridge.names import INCIDENTS_TABLE

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local",
        description="Run the webhook receiver locally: moto server + local API gateway.",
    )
    parser.add_argument("--host", default=defaults.HOST, help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=defaults.GATEWAY_PORT, help="gateway port (0: any free)"
    )
    parser.add_argument(
        "--moto-port", type=int, default=defaults.MOTO_PORT, help="moto server port (0: any free)"
    )
    parser.add_argument(
        "--api-key", default=defaults.API_KEY, help="the key that requests must carry"
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=_LOG_LEVELS,
        help="log level of the local stack; DEBUG also turns on the functions' logs and metrics",
    )
    parser.add_argument(
        "--no-sample", action="store_true", help="do not post events/sample.json at start-up"
    )
    return parser.parse_args(argv)


def _display_path(path: Path) -> str:
    """``path`` relative to the working directory when under it, so commands stay short."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _curl(url: str, api_key: str) -> str:
    return shlex.join(
        [
            "curl", "-sS", "-X", "POST", url,
            "-H", f"{defaults.API_KEY_HEADER}: {api_key}",
            "-H", "content-type: application/json",
            "--data-binary", f"@{_display_path(defaults.SAMPLE_EVENT)}",
        ]
    )  # fmt: skip


def _aws_scan(endpoint: str) -> str:
    credentials = " ".join(f"{name}={value}" for name, value in LOCAL_CREDENTIALS.items())
    command = shlex.join(
        [
            "aws", "--region", LOCAL_REGION, "--endpoint-url", endpoint,
            "dynamodb", "scan", "--table-name", INCIDENTS_TABLE.local_name,
        ]
    )  # fmt: skip
    return f"{credentials} {command}"


def _report(console: Console, answer: Answer) -> None:
    show = console.ok if answer.ok else console.fail
    show("sample", answer.summary(), f"HTTP {answer.status}, {answer.elapsed:.2f} s")


def _post_sample(console: Console, url: str, api_key: str) -> Answer | None:
    try:
        answer = post_webhook(url, api_key, defaults.SAMPLE_EVENT.read_bytes())
    except OSError as exc:
        console.fail("sample", f"could not post {_display_path(defaults.SAMPLE_EVENT)}: {exc}")
        return None
    _report(console, answer)
    return answer


def _read_back(console: Console, answer: Answer) -> None:
    incident_id = (answer.json() or {}).get("incident_id")
    if not incident_id:
        return
    # The read-back only informs: its step line says what failed, and serving goes on.
    with contextlib.suppress(Exception), console.step("stored") as step:
        step.detail = describe_stored(str(incident_id)) or f"{incident_id} is not in the store"


def _use_running_stack(
    console: Console, health: dict[str, object], args: argparse.Namespace
) -> int:
    url = defaults.webhook_url(args.host, args.port)
    console.ok(
        "running", f"a local stack already serves {url}", f"aws {health.get('aws_endpoint')}"
    )
    if args.no_sample:
        return 0
    answer = _post_sample(console, url, args.api_key)
    return 0 if answer is not None and answer.ok else 1


class PortTakenError(Exception):
    """A port the stack needs is used by another program."""


def _on_port(start: Callable[[], str], flag: str, port: int) -> str:
    """Run ``start``; a taken port becomes an error that says which flag picks another."""
    try:
        return start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            message = f"port {port} is taken by another program; choose another with {flag}"
            raise PortTakenError(message) from None
        raise


def _start(console: Console, stack: LocalStack, args: argparse.Namespace) -> bool:
    """Start every part, one step line each; ``False`` (after a FAIL line) if one fails."""
    try:
        with console.step("aws") as step:
            endpoint = _on_port(stack.start_aws, "--moto-port", args.moto_port)
            step.detail = f"moto server at {endpoint}"
        with console.step("resources") as step:
            step.detail = stack.create_resources()
        with console.step("functions") as step:
            step.detail = f"{stack.load_functions()} loaded"
        with console.step("gateway") as step:
            step.detail = f"POST {_on_port(stack.start_gateway, '--port', args.port)}"
    except (PortTakenError, OSError, ImportError):
        return False
    return True


def _function_overrides(*, debug: bool) -> dict[str, str]:
    """Quiet functions by default: their JSON logs and metric lines would bury the steps."""
    return {
        powertools.POWERTOOLS_LOG_LEVEL_ENV: "DEBUG" if debug else "WARNING",
        powertools.METRICS_DISABLED_ENV: "false" if debug else "true",
    }


def _print_banner(console: Console, stack: LocalStack, api_key: str) -> None:
    console.banner(
        "BigPanda webhook receiver, local stack",
        [
            ("Webhook", f"POST {stack.webhook_url}"),
            ("API key", f"{api_key}  (header {defaults.API_KEY_HEADER})"),
            ("Try it", console.command(_curl(stack.webhook_url, api_key))),
            ("AWS", f"{stack.aws_endpoint}  (moto; the functions' tables and buckets)"),
            ("", console.command(_aws_scan(stack.aws_endpoint))),
            ("Stop", "Ctrl-C"),
        ],
    )


def _serve_until_signal() -> None:
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    configure_logging(console, args.log_level)

    try:
        running = probe_stack(f"http://{args.host}:{args.port}")
    except ConnectionError as exc:
        console.fail("gateway", f"{exc}; choose another port with --port")
        return 1
    if running is not None:
        return _use_running_stack(console, running, args)

    stack = LocalStack(
        StackOptions(
            host=args.host,
            port=args.port,
            moto_port=args.moto_port,
            api_key=args.api_key,
            function_overrides=_function_overrides(debug=args.log_level == "DEBUG"),
        )
    )
    try:
        if not _start(console, stack, args):
            return 1
        _print_banner(console, stack, args.api_key)
        if not args.no_sample:
            answer = _post_sample(console, stack.webhook_url, args.api_key)
            if answer is not None and answer.ok:
                _read_back(console, answer)
        console.ok("serving", f"until Ctrl-C or SIGTERM ({stack.webhook_url})")
        _serve_until_signal()
    except KeyboardInterrupt:
        pass
    finally:
        started = time.monotonic()
        stopped = stack.stop()
        if stopped:
            console.ok("stopped", " and ".join(stopped) + " closed", seconds_since(started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
