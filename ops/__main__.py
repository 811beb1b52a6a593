"""``.venv/bin/pandabridge-ops`` (``make ops ARGS=...``): on-call commands for the receiver.

Exit status: 0 done, 1 failed (the message says why), 2 wrong usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError

from ops import (
    breaker,
    config_check,
    desk_check,
    desk_setup,
    discovery,
    inspection,
    redrive,
    replay,
)
from ops.errors import OpsError
from pandabridge.identity import DEFAULT_INTEGRATION, IncidentKey, is_integration_name

EPILOG = """\
examples:
  .venv/bin/pandabridge-ops inspect 5555370aabc20a001145d6g9
  .venv/bin/pandabridge-ops redrive ticket-sync --max-per-second 10
  .venv/bin/pandabridge-ops replay 5555370aabc20a001145d6g9 --latest --stack BigPandaWebhook-staging
  .venv/bin/pandabridge-ops inspect 5555370aabc20a001145d6g9 --local --json
  .venv/bin/pandabridge-ops inspect 5555370aabc20a001145d6g9 --integration payments
  .venv/bin/pandabridge-ops breaker reset 5555370aabc20a001145d6g9 --integration payments
  .venv/bin/pandabridge-ops desk check --config pandabridge.toml
  .venv/bin/pandabridge-ops config check --config examples/integrations.toml
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=".venv/bin/pandabridge-ops",
        description=(
            "On-call commands for the BigPanda webhook receiver.\n\n"
            "Each command finds the tables, bucket and queues from the CloudFormation stack's\n"
            "outputs (--stack, default cdk.json's stack_name), the local stack of `make run`\n"
            "(--local), or explicit flags: see `.venv/bin/pandabridge-ops COMMAND --help`."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # The stack flags belong to each command, so they may follow it: `inspect ID --local`.
    common = argparse.ArgumentParser(add_help=False)
    discovery.add_arguments(common)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    moving = commands.add_parser(
        "redrive",
        parents=[common],
        help="move a dead-letter queue's messages back to their queue",
        description=(
            "Move the messages of the ticket-sync or callback DLQ back to their source queue "
            "with SQS's message move task, and follow it until it ends. Exit 1 if any message "
            "was not moved."
        ),
    )
    moving.add_argument("queue", choices=sorted(redrive.QUEUES), help="which DLQ to redrive")
    moving.add_argument(
        "--max-per-second",
        type=_positive,
        metavar="N",
        help="move at most N messages a second (default: as fast as SQS goes)",
    )

    replaying = commands.add_parser(
        "replay",
        parents=[common],
        help="send an incident's archived versions through ingest again and nudge ticket sync",
        description=(
            "Run ingest again on the incident's archived versions (oldest first), printing "
            "created/updated/duplicate/stale per version, then nudge ticket sync for the "
            "latest stored version so the ticket is reconciled."
        ),
    )
    replaying.add_argument("incident_id", metavar="INCIDENT_ID")
    which = replaying.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="every archived version (default)")
    which.add_argument("--latest", action="store_true", help="only the newest archived version")

    inspecting = commands.add_parser(
        "inspect",
        parents=[common],
        help="show an incident, its archive, its ticket and a verdict",
        description=(
            "Show the stored incident, its archived versions, its ticket state and callback, "
            "its last desk events (newest first), and a one-line verdict. Exit 1 if the "
            "incident is unknown."
        ),
    )
    inspecting.add_argument("incident_id", metavar="INCIDENT_ID")
    inspecting.add_argument(
        "--integration",
        metavar="NAME",
        type=_integration,
        default=DEFAULT_INTEGRATION,
        help="the BigPanda integration INCIDENT_ID belongs to (default: default)",
    )
    inspecting.add_argument("--json", action="store_true", help="print JSON for machines")

    breakers = commands.add_parser("breaker", help="write-back's circuit breaker: reset it")
    breaker_commands = breakers.add_subparsers(
        dest="breaker_command", required=True, metavar="COMMAND"
    )
    resetting = breaker_commands.add_parser(
        "reset",
        parents=[common],
        help="close an incident's circuit breaker, so that write-back mirrors it again",
        description=(
            "Close write-back's circuit breaker on an incident (opened by a suspected sync "
            "loop; `inspect` shows it), so that its desk events are mirrored to BigPanda "
            "again. Fix the loop's cause first. Exit 0 whether the breaker was open or not."
        ),
    )
    resetting.add_argument("incident_id", metavar="INCIDENT_ID", help="BigPanda's incident id")
    resetting.add_argument(
        "--integration",
        metavar="NAME",
        type=_integration,
        default=DEFAULT_INTEGRATION,
        help="the BigPanda integration INCIDENT_ID belongs to (default: default)",
    )

    desk = commands.add_parser("desk", help="the service desk: check its configuration")
    desk_commands = desk.add_subparsers(dest="desk_command", required=True, metavar="COMMAND")
    checking = desk_commands.add_parser(
        "check",
        parents=[common],
        help="check the desk configuration against the live desk (before going live)",
        description=(
            "Check the desk configuration against the live desk, read-only: one line per "
            "check, ✔ passed, ✘ failed with the fix, ⚠ not verified. Exit 1 if any check "
            "failed. A file with several targets is checked target by target (or only "
            "--target NAME), each with the secret its [targets.NAME] secret names, else the "
            "ticket credentials secret (--local: the local stack's); or --credentials-file."
        ),
    )
    desk_setup.add_arguments(checking)

    config = commands.add_parser("config", help="the desk configuration file: validate it")
    config_commands = config.add_subparsers(dest="config_command", required=True, metavar="COMMAND")
    validating = config_commands.add_parser(
        "check",
        help="validate the configuration file offline and show integrations, paths and routes",
        description=(
            "Validate the desk configuration file with the schema the stack and the functions "
            "use, offline, and print each integration's path, BigPanda account, secrets (by "
            "name) and routes in order. Exit 1 with every problem named by its key path."
        ),
    )
    config_check.add_arguments(validating)
    return parser


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        if args.command == "config":
            return config_check.command(args.config, out=out, err=err)
        if args.command == "desk":
            setups = desk_setup.setups_from_args(args)
            if len(setups) == 1 and not isinstance(setups[0], desk_check.TargetFindings):
                return desk_check.report(desk_check.run(setups[0]), out)
            return desk_check.report_targets(desk_check.run_targets(setups), out)
        target = discovery.resolve(args)
        if args.command == "redrive":
            return redrive.command(
                target.aws.client("sqs"),
                target.resources,
                args.queue,
                max_per_second=args.max_per_second,
                out=out,
            )
        if args.command == "breaker":
            key = IncidentKey(args.integration, args.incident_id)
            return breaker.reset(target, key.storage_key, out=out)
        if args.command == "replay":
            return replay.command(target, args.incident_id, latest_only=args.latest, out=out)
        key = IncidentKey(args.integration, args.incident_id).storage_key
        return inspection.command(target, key, as_json=args.json, out=out)
    except OpsError as error:
        err.write(f"error: {error}\n")
    except (BotoCoreError, ClientError) as error:
        err.write(f"error: AWS: {error}\n")
    except KeyboardInterrupt:
        err.write("interrupted (a started SQS move task goes on; see list-message-move-tasks)\n")
    return 1


def _integration(text: str) -> str:
    if not is_integration_name(text):
        raise argparse.ArgumentTypeError(
            f"not an integration name: {text!r} (the [integrations.NAME] of the file)"
        )
    return text


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 500:
        raise argparse.ArgumentTypeError("must be 1 to 500 (SQS's limit for a move task)")
    return value


if __name__ == "__main__":
    sys.exit(main())
