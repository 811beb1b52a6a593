"""The queue control both consumers postpone failed messages and dead-letter with."""

from __future__ import annotations

from functools import cache

from pandabridge.aws_clients import client
from pandabridge.stores.queues import QueueControl


@cache
def queue_control() -> QueueControl:
    return QueueControl(client("sqs"))
