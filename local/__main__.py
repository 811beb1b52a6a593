"""``make run`` (``.venv/bin/pandabridge-local``): the whole pipeline here, no AWS account.

Starts a moto server, creates the stack's resources on it, starts the demo service desk and a
stand-in for BigPanda's API, serves the webhook behind a local API gateway (API key and
bearer token, the token kept in its secret as the stack keeps it), and plays the pipe
and the ticket-sync and callback event source mappings. It posts ``events/sample.json`` once,
reads it back and waits until it is a ticket and BigPanda has confirmed it, then plays the story
of one incident (``events/story/``, see ``local.demo.story``) step by step. If a local stack already
serves the port, it posts the sample and the story to that one instead (the answers are then
``duplicate``). With ``--aws-endpoint`` it works on an AWS endpoint that is already serving,
e.g. a moto server that outlives it, so a second stack can take over the queues, tables and
stream of one that was stopped or killed.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from aws_lambda_powertools.shared import constants as powertools
from botocore.exceptions import BotoCoreError, ClientError

from local import defaults, state
from local.aws import LOCAL_CREDENTIALS, LOCAL_REGION
from local.client import Answer, Credentials, authorization, post_webhook, probe_stack
from local.demo.console import Console, configure_logging, seconds_since
from local.demo.function_logs import route_function_logs
from local.demo.journey import Journey
from local.demo.missed import play_missed
from local.demo.readback import describe_stored
from local.demo.service_desk import FAIL_PATH
from local.demo.story import StoryPlayer, load_story
from local.names import INCIDENTS_TABLE
from local.stack import BigPandaOptions, LocalStack, StackOptions, TicketTargetOptions
from pandabridge.auth import TokenSecretError, is_short, valid_tokens
from pandabridge.names import AUTHORIZATION_HEADER, Limits
from pandabridge.settings import TargetKind
from stacks.limits import StackLimits

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_TARGETS: tuple[TargetKind, ...] = ("http", "jira", "servicenow")
_SIGNAL_CHECK_SECONDS = 0.2


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="pandabridge-local",
        description=(
            "Run the webhook receiver locally: moto server, local API gateway, ticket sync, "
            "a demo service desk, the callback and a BigPanda API stand-in."
        ),
    )
    parser.add_argument("--host", default=defaults.HOST, help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=defaults.GATEWAY_PORT, help="gateway port (0: any free)"
    )
    parser.add_argument(
        "--moto-port", type=int, default=defaults.MOTO_PORT, help="moto server port (0: any free)"
    )
    parser.add_argument(
        "--aws-endpoint",
        metavar="URL",
        help=(
            "an AWS endpoint that is already serving (e.g. a moto server that outlives the "
            "stack) instead of a moto server of the stack's own (--moto-port is then unused); "
            "the stack's resources are created there if missing and reused if present"
        ),
    )
    parser.add_argument(
        "--queue-visibility",
        type=int,
        metavar="SECONDS",
        help=(
            "visibility timeout of the ticket-sync and callback queues (default: as deployed, "
            f"{StackLimits.TICKET_SYNC_VISIBILITY_SECONDS} s and "
            f"{StackLimits.CALLBACK_VISIBILITY_SECONDS} s): how long the batch of a stopped "
            "stack stays hidden before it is handled again"
        ),
    )
    parser.add_argument(
        "--desk-port",
        type=int,
        default=defaults.DESK_PORT,
        help="demo service desk port (0: any free)",
    )
    parser.add_argument(
        "--api-key", default=defaults.API_KEY, help="the key that requests must carry"
    )
    parser.add_argument(
        "--bearer-token",
        default=defaults.BEARER_TOKEN,
        help=(
            "the token that requests must carry as 'Authorization: Bearer <token>' (kept in "
            f"the secret {defaults.BEARER_SECRET_NAME}, as the stack keeps it)"
        ),
    )
    parser.add_argument(
        "--desk",
        default="http",
        choices=_TARGETS,
        help=(
            "the local desk tickets go to: http (the demo desk, the default), jira or "
            "servicenow (stateful fakes of those desks' APIs)"
        ),
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=defaults.DESK_CONFIG_FILE,
        help=(
            "the desk configuration file (default: the repository's pandabridge.toml), "
            "pointed at the local desk or at --ticket-url"
        ),
    )
    parser.add_argument(
        "--ticket-target",
        default="http",
        choices=_TARGETS,
        help="the kind of the real service desk at --ticket-url (default: http)",
    )
    parser.add_argument(
        "--ticket-url",
        help=(
            "a real service desk's base URL instead of the demo desk; its credentials come "
            f"from ${defaults.TICKET_SECRET_ENV} (JSON)"
        ),
    )
    parser.add_argument(
        "--bigpanda-port",
        type=int,
        default=defaults.BIGPANDA_PORT,
        help="BigPanda API stand-in port (0: any free)",
    )
    parser.add_argument(
        "--bigpanda-url",
        help=(
            "another BigPanda API base URL for the callback instead of the stand-in (e.g. "
            f"https://api.bigpanda.io); its User API key comes from ${defaults.BIGPANDA_KEY_ENV}"
        ),
    )
    parser.add_argument(
        "--app-key",
        default=defaults.BIGPANDA_APP_KEY,
        help="the BigPanda integration's app key that callbacks carry",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=_LOG_LEVELS,
        help="log level of the local stack; DEBUG also turns on the functions' logs and metrics",
    )
    parser.add_argument(
        "--reconcile-every",
        type=float,
        default=defaults.RECONCILE_EVERY_SECONDS,
        metavar="SECONDS",
        help=(
            "how often the reconciler searches the BigPanda stand-in for deliveries that never "
            f"arrived (default {defaults.RECONCILE_EVERY_SECONDS:g}; 0: off). Deployed, "
            "[reconciler] every_minutes of the configuration file sets it"
        ),
    )
    parser.add_argument(
        "--drop-delivery",
        type=int,
        default=0,
        metavar="N",
        help=(
            "after start-up, the BigPanda stand-in shares N new incidents and drops their "
            "deliveries on purpose; the reconciler's next run finds them (default 0)"
        ),
    )
    parser.add_argument(
        "--no-sample", action="store_true", help="do not post events/sample.json at start-up"
    )
    parser.add_argument(
        "--no-story",
        action="store_true",
        help="do not play the incident story of events/story/ at start-up",
    )
    args = parser.parse_args(argv)
    _check_aws(parser, args)
    if args.drop_delivery < 0:
        parser.error("--drop-delivery: a number of deliveries, 0 or more")
    if args.drop_delivery and args.bigpanda_url:
        parser.error("--drop-delivery needs the BigPanda stand-in: leave out --bigpanda-url")
    _check_bearer_token(parser, args.bearer_token)
    args.credentials = Credentials(args.api_key, args.bearer_token)
    args.tickets = _ticket_target(parser, args)
    args.bigpanda = _bigpanda_target(parser, args)
    return args


def _check_aws(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Usage errors for an endpoint that is no URL and a visibility that SQS would refuse."""
    endpoint = args.aws_endpoint
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        parser.error("--aws-endpoint must be an http:// or https:// URL")
    most = defaults.QUEUE_VISIBILITY_MAX_SECONDS
    if args.queue_visibility is not None and not 1 <= args.queue_visibility <= most:
        parser.error(f"--queue-visibility must be within 1..{most} seconds")


def _check_bearer_token(parser: argparse.ArgumentParser, token: str) -> None:
    """A usage error for a token that the deployed secret would not hold either: the
    authorizer refuses every request when its secret holds such a token."""
    try:
        valid_tokens({defaults.BEARER_SECRET_KEY: token})
    except TokenSecretError as error:
        parser.error(str(TokenSecretError(error.reason, "--bearer-token")))


def _ticket_target(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> TicketTargetOptions:
    """The ticket target the flags ask for; a usage error if they do not add up."""
    if args.ticket_url is None:
        if args.ticket_target != "http":
            parser.error(f"--ticket-target {args.ticket_target} needs --ticket-url")
        return TicketTargetOptions(args.desk, config_file=args.config)
    if args.desk != "http":
        parser.error("--desk starts a local desk; leave it out with --ticket-url")
    raw = os.environ.get(defaults.TICKET_SECRET_ENV)
    if not raw:
        parser.error(f"--ticket-url needs the desk's credentials in ${defaults.TICKET_SECRET_ENV}")
    try:
        credentials = json.loads(raw)
    except ValueError:
        credentials = None
    if not isinstance(credentials, dict):
        parser.error(f"${defaults.TICKET_SECRET_ENV} is not a JSON object")
    return TicketTargetOptions(
        args.ticket_target, args.ticket_url, credentials, config_file=args.config
    )


def _bigpanda_target(parser: argparse.ArgumentParser, args: argparse.Namespace) -> BigPandaOptions:
    """Where callbacks go: the stand-in, or the API ``--bigpanda-url`` names with its key."""
    if not args.app_key:
        parser.error("--app-key must not be empty")
    if args.bigpanda_url is None:
        return BigPandaOptions(app_key=args.app_key)
    if not args.bigpanda_url.startswith(("http://", "https://")):
        parser.error("--bigpanda-url must be an http:// or https:// URL")
    api_key = os.environ.get(defaults.BIGPANDA_KEY_ENV, "").strip()
    if not api_key:
        parser.error(f"--bigpanda-url needs the User API key in ${defaults.BIGPANDA_KEY_ENV}")
    return BigPandaOptions(args.bigpanda_url, api_key, args.app_key)


def _display_path(path: Path) -> str:
    """``path`` relative to the working directory when under it, so commands stay short."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _curl(url: str, api_key: str, bearer_token: str) -> str:
    return shlex.join(
        [
            "curl", "-sS", "-X", "POST", url,
            "-H", f"{defaults.API_KEY_HEADER}: {api_key}",
            "-H", f"{AUTHORIZATION_HEADER}: {authorization(bearer_token)}",
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
    note = f"HTTP {answer.status}, {answer.elapsed:.2f} s"
    if answer.status in (401, 403):
        note += "; do --api-key and --bearer-token match the stack's?"
    show("sample", answer.summary(), note)


def _post_sample(
    console: Console, url: str, credentials: Credentials, *, reported: bool
) -> Answer | None:
    """Post the sample; ``reported``: to this process's stack, whose journey then leaves the
    delivery's line to this one."""
    try:
        body = defaults.SAMPLE_EVENT.read_bytes()
        answer = post_webhook(url, credentials, body, reported=reported)
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


def _await_ticket(
    console: Console, journey: Journey, answer: Answer, stop: threading.Event, *, demo: bool
) -> str | None:
    """Wait (bounded) until ticket sync has handled the sample; the journey prints the ticket.
    Returns the incident once it has a ticket (or, for a real desk, once it is synced)."""
    result = answer.json() or {}
    incident_id = str(result.get("incident_id", ""))
    if result.get("result") not in ("created", "updated") or not incident_id:
        return None
    if not journey.wait_for_sync(incident_id, defaults.SAMPLE_TICKET_WAIT_SECONDS, stop):
        if stop.is_set():
            return None
        wait = defaults.SAMPLE_TICKET_WAIT_SECONDS
        console.warn("ticket", f"incident {incident_id} not synced after {wait:.0f} s", "see above")
        return None
    if demo and journey.ticket_of(incident_id) is None:
        console.warn("ticket", f"no ticket for incident {incident_id}", "see the log above")
        return None
    return incident_id


def _await_callback(
    console: Console, journey: Journey, incident_id: str, stop: threading.Event
) -> None:
    """Wait (bounded) for BigPanda's confirmation of the ticket; the journey prints it."""
    wait = defaults.SAMPLE_CALLBACK_WAIT_SECONDS
    if not journey.wait_for_callback(incident_id, wait, stop) and not stop.is_set():
        detail = f"incident {incident_id} not confirmed to BigPanda after {wait:.0f} s"
        console.warn("callback", detail, "see above")


def _play_sample(
    console: Console,
    journey: Journey,
    url: str,
    credentials: Credentials,
    stop: threading.Event,
    *,
    demo: bool,
) -> None:
    """Post the sample, read it back, and wait (bounded) for its ticket and callback."""
    answer = _post_sample(console, url, credentials, reported=True)
    if answer is None or not answer.ok:
        return
    _read_back(console, answer)
    incident_id = _await_ticket(console, journey, answer, stop, demo=demo)
    if incident_id is not None:
        _await_callback(console, journey, incident_id, stop)


def _use_running_stack(
    console: Console, health: dict[str, object], args: argparse.Namespace
) -> int:
    url = defaults.webhook_url(args.host, args.port)
    console.ok(
        "running", f"a local stack already serves {url}", f"aws {health.get('aws_endpoint')}"
    )
    if health.get("ticket_url"):
        console.ok("tickets", f"at {health['ticket_url']}")
    if health.get("bigpanda_url"):
        console.ok("bigpanda", f"callbacks to {health['bigpanda_url']}")
    ok = True
    if not args.no_sample:
        answer = _post_sample(console, url, args.credentials, reported=False)
        ok = answer is not None and answer.ok
    if not args.no_story:
        ok = StoryPlayer(console, url, args.credentials).play(load_story()) and ok
    return 0 if ok else 1


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
            step.detail = (
                f"moto server at {endpoint}"
                if args.aws_endpoint is None
                else f"{endpoint} (already serving, not started here)"
            )
        with console.step("resources") as step:
            step.detail = stack.create_resources()
        with console.step("bearer") as step:
            step.detail = stack.store_bearer_token()
        if is_short(args.bearer_token):
            recommended = Limits.BEARER_TOKEN_RECOMMENDED_LENGTH
            console.warn(
                "bearer", f"the token is shorter than the {recommended} characters advised"
            )
        with console.step("tickets") as step:
            step.detail = _on_port(stack.start_tickets, "--desk-port", args.desk_port)
        with console.step("bigpanda") as step:
            step.detail = _on_port(stack.start_bigpanda, "--bigpanda-port", args.bigpanda_port)
        with console.step("functions") as step:
            step.detail = f"{stack.load_functions()} loaded"
        route_function_logs(args.log_level)
        with console.step("gateway") as step:
            step.detail = f"POST {_on_port(stack.start_gateway, '--port', args.port)}"
        with console.step("pipe") as step:
            step.detail = stack.start_pipe()
        with console.step("pollers") as step:
            step.detail = stack.start_pollers()
        with console.step("reconciler") as step:
            step.detail = stack.start_reconciler()
    # Each of these has printed its FAIL line; anything else is a bug and keeps its traceback.
    except (
        PortTakenError,
        OSError,
        ImportError,
        RuntimeError,
        BotoCoreError,
        ClientError,
        TokenSecretError,
    ):
        return False
    return True


def _function_overrides(*, debug: bool) -> dict[str, str]:
    """Quiet functions by default: their JSON logs and metric lines would bury the steps."""
    return {
        powertools.POWERTOOLS_LOG_LEVEL_ENV: "DEBUG" if debug else "WARNING",
        powertools.METRICS_DISABLED_ENV: "false" if debug else "true",
    }


def _ticket_rows(console: Console, stack: LocalStack) -> list[tuple[str, str]]:
    if stack.desk is None:
        target = stack.options.tickets
        return [("Tickets", f"{target.kind} desk at {stack.ticket_url}")]
    fail = f"{stack.desk.url.rstrip('/')}{FAIL_PATH}?status=503&count=2"
    return [
        ("Tickets", f"{stack.desk.url}  (demo service desk: open it in a browser)"),
        ("", console.command(shlex.join(["curl", "-sS", "-X", "POST", fail]))),
        ("", "  (makes the desk's next 2 calls fail: watch ticket sync retry)"),
    ]


def _bigpanda_rows(console: Console, stack: LocalStack) -> list[tuple[str, str]]:
    app_key = stack.options.bigpanda.app_key
    if stack.bigpanda is None:
        return [("BigPanda", f"callbacks go to {stack.bigpanda_url}  (app key {app_key})")]
    stand_in = stack.bigpanda
    fail = f"{stand_in.fail_url}?status=503&count=2"
    return [
        ("BigPanda", f"{stand_in.api_base}  (API stand-in; app key {app_key})"),
        ("", f"{stand_in.callbacks_url}  (the callbacks it got, as JSON)"),
        ("", console.command(shlex.join(["curl", "-sS", "-X", "POST", fail]))),
        ("", "  (makes the next 2 callbacks fail: watch the callback retry)"),
    ]


def _print_banner(console: Console, stack: LocalStack, api_key: str, bearer_token: str) -> None:
    """The stack's addresses and both credentials, printed on purpose: they are local demo
    values (or the ones given on the command line), and a pasted curl needs them."""
    console.banner(
        "BigPanda webhook receiver, local stack",
        [
            ("Webhook", f"POST {stack.webhook_url}"),
            ("API key", f"{api_key}  (header {defaults.API_KEY_HEADER})"),
            (
                "Bearer",
                f"{AUTHORIZATION_HEADER}: {authorization(bearer_token)}  "
                f"(token in secret {defaults.BEARER_SECRET_NAME})",
            ),
            ("Try it", console.command(_curl(stack.webhook_url, api_key, bearer_token))),
            ("AWS", f"{stack.aws_endpoint}  (moto; the functions' tables and buckets)"),
            ("", console.command(_aws_scan(stack.aws_endpoint))),
            *_ticket_rows(console, stack),
            *_bigpanda_rows(console, stack),
            ("Stop", "Ctrl-C"),
        ],
    )


def _record(console: Console, stack: LocalStack, args: argparse.Namespace) -> None:
    """Write the state file that `make send`, `status`, `show` and `ops --local` read."""
    recorded = state.StackState(
        pid=os.getpid(),
        webhook_url=stack.webhook_url,
        aws_endpoint=stack.aws_endpoint,
        api_key=args.api_key,
        bearer_token=args.bearer_token,
        desk_config=str(stack.desk_config_file) if stack.desk_config_file else None,
    )
    # A stack that cannot record itself still serves; its step line says why the helpers
    # will not find it.
    with contextlib.suppress(OSError), console.step("state") as step:
        step.detail = f"{_display_path(state.write(recorded))}  (read by make send/status/show)"


def _stop_on_signal() -> threading.Event:
    """An event that SIGINT and SIGTERM set, installed before the sample is posted: a signal
    during the sample or the story ends their waits and stops the stack like one later."""
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    return stop


def _serve_until(stop: threading.Event) -> None:
    # Wait in slices: the OS may deliver the signal to one of the stack's threads, and Python
    # runs its handler only once the main thread wakes up; a wait without a timeout may never.
    while not stop.wait(_SIGNAL_CHECK_SECONDS):
        pass


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

    tickets: TicketTargetOptions = args.tickets
    journey = Journey(console, target=None if tickets.demo else tickets.kind)
    stack = LocalStack(
        StackOptions(
            host=args.host,
            port=args.port,
            moto_port=args.moto_port,
            desk_port=args.desk_port,
            bigpanda_port=args.bigpanda_port,
            api_key=args.api_key,
            bearer_token=args.bearer_token,
            tickets=tickets,
            bigpanda=args.bigpanda,
            aws_endpoint=args.aws_endpoint,
            queue_visibility_seconds=args.queue_visibility,
            reconcile_every_seconds=args.reconcile_every,
            function_overrides=_function_overrides(debug=args.log_level == "DEBUG"),
        ),
        journey,
    )
    try:
        if not _start(console, stack, args):
            return 1
        _record(console, stack, args)
        _print_banner(console, stack, args.api_key, args.bearer_token)
        stop = _stop_on_signal()
        if not args.no_sample:
            _play_sample(
                console, journey, stack.webhook_url, args.credentials, stop, demo=tickets.demo
            )
        if not args.no_story and not stop.is_set():
            player = StoryPlayer(
                console, stack.webhook_url, args.credentials, journey=journey, stop=stop
            )
            player.play(load_story())
        if args.drop_delivery and not stop.is_set():
            play_missed(
                console,
                journey,
                stack.drop_delivery,
                args.drop_delivery,
                args.reconcile_every,
                stop,
            )
        if not stop.is_set():
            console.ok("serving", f"until Ctrl-C or SIGTERM ({stack.webhook_url})")
            _serve_until(stop)
    except KeyboardInterrupt:
        pass
    finally:
        state.remove(os.getpid())
        started = time.monotonic()
        stopped = stack.stop()
        if stopped:
            console.ok("stopped", ", ".join(stopped), seconds_since(started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
