"""Defaults of the local stack, shared by ``python -m local``, its console tools and tests.

Fixed, readable defaults make the printed curl command and the ``aws`` example work as pasted
from one run to the next; every one of them can be overridden on the command line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from pandabridge.names import SERVICE_NAME, WEBHOOK_PATH

HOST: Final = "127.0.0.1"
# Connections the local servers let wait to be accepted. Python's default of 5 overflows when
# a few dozen concurrent senders meet a busy stack, and the kernel then resets the ones that
# keep losing the race; API Gateway queues them instead.
LISTEN_BACKLOG: Final = 128
GATEWAY_PORT: Final = 8080
MOTO_PORT: Final = 4566
API_KEY: Final = "local-dev-key"
# API Gateway reads the key from this header (its name is case-insensitive, as in HTTP).
API_KEY_HEADER: Final = "x-api-key"
# The second credential, sent as `Authorization: Bearer <token>`: the local gateway checks it
# as the deployed authorizer does, against the token secret in the moto server's Secrets
# Manager, which holds it in the stack's JSON shape {"token": "<token>"}.
BEARER_TOKEN: Final = "local-bearer-token-0123456789abcdef"  # noqa: S105 - a local demo value
BEARER_SECRET_NAME: Final = f"{SERVICE_NAME}/bearer-tokens"
BEARER_SECRET_KEY: Final = "token"  # noqa: S105 - the JSON key of the stack's generated token
# Served by the local gateway only: lets a second `make run` find a stack that is already up.
HEALTH_PATH: Final = "/_local/health"
# Sent by the stack's own sample and story posts: they print the delivery's line themselves,
# so the journey leaves it out instead of printing it twice.
REPORTED_HEADER: Final = "x-local-reported"
STAGE: Final = "local"

# The demo service desk, the default ticket target, and the secret it shares with ticket sync.
DESK_PORT: Final = 8090
DESK_SECRET: Final = "local-desk-secret"  # noqa: S105 - a local demo value, printed on purpose
# The local target's desk-events secret ({"secret": ...}): the Jira fake signs its webhook with
# it, the ServiceNow fake's rule sends it as its bearer token (POST /desk/local/events).
DESK_EVENTS_SECRET_NAME: Final = f"{SERVICE_NAME}/desk-events"
DESK_EVENTS_SECRET: Final = "local-desk-events-secret-0123456789"  # noqa: S105 - a local demo value
# The ticket target's credentials, in the moto server's Secrets Manager under this name.
TICKET_SECRET_NAME: Final = f"{SERVICE_NAME}/ticket-target"
# For a real desk (--ticket-url): its credentials as the JSON its adapter reads.
TICKET_SECRET_ENV: Final = "LOCAL_TICKET_SECRET_JSON"  # noqa: S105 - a variable name
# The ServiceNow fake's (--desk servicenow) API user.
SERVICENOW_USER: Final = "pandabridge"
SERVICENOW_PASSWORD: Final = "local-servicenow-password"  # noqa: S105 - a local demo value
# The most SQS accepts as a queue's visibility timeout (--queue-visibility).
QUEUE_VISIBILITY_MAX_SECONDS: Final = 12 * 60 * 60
# How long start-up waits for the sample to become a ticket before serving anyway.
SAMPLE_TICKET_WAIT_SECONDS: Final = 10.0

# The BigPanda API stand-in that the callback function calls, and the keys it is called with.
BIGPANDA_PORT: Final = 8091
BIGPANDA_API_KEY: Final = "local-bigpanda-key"  # a local demo value, printed on purpose
BIGPANDA_APP_KEY: Final = "local-app-key"
# The User API key, in the moto server's Secrets Manager under this name (a plain string).
BIGPANDA_SECRET_NAME: Final = f"{SERVICE_NAME}/bigpanda-api-key"
# For a real BigPanda API (--bigpanda-url): the User API key.
BIGPANDA_KEY_ENV: Final = "LOCAL_BIGPANDA_API_KEY"
# How long start-up waits, once the sample is a ticket, for BigPanda's confirmation of it.
SAMPLE_CALLBACK_WAIT_SECONDS: Final = 10.0
# How often the local reconciler runs (``--reconcile-every``): a delivery the stand-in drops
# (``--drop-delivery``) is recovered within this long, where the deployed schedule takes
# minutes.
RECONCILE_EVERY_SECONDS: Final = 15.0

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
# The desk configuration the local stack starts from (--config), pointed at the local desk.
DESK_CONFIG_FILE: Final = REPO_ROOT / "pandabridge.toml"
SAMPLE_EVENT: Final = REPO_ROOT / "events" / "sample.json"
# One incident's life as BigPanda would send it, one webhook per file, played in name order.
STORY_DIR: Final = REPO_ROOT / "events" / "story"
# How long the story waits for each step's ticket sync (and the first step's callback).
STORY_STEP_WAIT_SECONDS: Final = 10.0


def webhook_url(host: str = HOST, port: int = GATEWAY_PORT) -> str:
    """The URL that BigPanda would be given for the local stack."""
    return f"http://{host}:{port}{WEBHOOK_PATH}"
