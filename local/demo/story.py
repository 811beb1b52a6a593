"""The story of one incident (``events/story/``), played through the local gateway.

``python -m local`` plays it after the sample: a new critical incident, a change of status with
an alert added, a comment, an assignment, the resolution and a reopening, one webhook per file
in name order. Each step is posted only once ticket sync has handled the one before (bounded by
``defaults.STORY_STEP_WAIT_SECONDS``), and the first waits for BigPanda's confirmation too, so
every step shows its own effect on the ticket: the journey prints it (queued, ticket created,
updated, commented, assigned, resolved, reopened, callback confirmed), then a summary line
with the story's total time.

Against a stack that is already running (a second ``make run``), the steps are posted without
waiting: that stack prints its own journey.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from local import defaults
from local.client import Answer, Credentials, post_webhook
from local.demo.console import Console
from local.demo.journey import Journey
from pandabridge.parsing import InvalidWebhookError, parse_webhook

_CHANGING_RESULTS = frozenset({"created", "updated"})


@dataclass(frozen=True)
class StoryStep:
    """One webhook of the story: its file, its bytes and, if it is valid, what it is."""

    path: Path
    body: bytes
    incident_id: str | None
    content_hash: str | None

    @property
    def name(self) -> str:
        return self.path.stem


def load_story(directory: Path = defaults.STORY_DIR) -> list[StoryStep]:
    """The steps in file name order. A body the webhook would refuse is kept as it is: the
    gateway's answer says what is wrong with it."""
    steps = []
    for path in sorted(directory.glob("*.json")):
        body = path.read_bytes()
        try:
            parsed = parse_webhook(body.decode("utf-8"))
        except (InvalidWebhookError, UnicodeDecodeError):
            steps.append(StoryStep(path, body, None, None))
        else:
            steps.append(StoryStep(path, body, parsed.incident_id, parsed.content_hash))
    return steps


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class StoryPlayer:
    """Posts the steps and, given the stack's journey, waits for each to be synced."""

    def __init__(
        self,
        console: Console,
        url: str,
        credentials: Credentials,
        *,
        journey: Journey | None = None,
        stop: threading.Event | None = None,
        wait_seconds: float = defaults.STORY_STEP_WAIT_SECONDS,
    ) -> None:
        self._console = console
        self._url = url
        self._credentials = credentials
        self._journey = journey
        self._stop = stop or threading.Event()
        self._wait_seconds = wait_seconds

    def play(self, steps: Sequence[StoryStep], directory: Path = defaults.STORY_DIR) -> bool:
        """Play every step; ``False`` if one was refused, not synced in time, or interrupted."""
        if not steps:
            self._console.warn("story", f"no webhooks in {_display(directory)}", "nothing to play")
            return False
        started = time.monotonic()
        incidents = list(dict.fromkeys(s.incident_id for s in steps if s.incident_id))
        known = {incident_id: self._changes(incident_id) for incident_id in incidents}
        how = "each once the one before is synced" if self._journey else "to the running stack"
        self._console.ok(
            "story", f"{len(steps)} webhooks of one incident from {_display(directory)}/, {how}"
        )
        for number, step in enumerate(steps, start=1):
            if self._stop.is_set() or not self._play_step(step, f"story {number}/{len(steps)}"):
                self._console.warn("story", f"stopped after step {number - 1} of {len(steps)}")
                return False
        if self._journey is not None:
            for incident_id in incidents:
                self._summary(incident_id, len(known[incident_id]), started)
        return True

    def _changes(self, incident_id: str) -> list[str]:
        return self._journey.changes_of(incident_id) if self._journey else []

    def _play_step(self, step: StoryStep, label: str) -> bool:
        try:
            reported = self._journey is not None  # else another stack's journey tells it
            answer = post_webhook(self._url, self._credentials, step.body, reported=reported)
        except OSError as exc:
            self._console.fail(label, f"{step.name}: could not post it: {exc}")
            return False
        note = f"HTTP {answer.status}, {answer.elapsed:.2f} s"
        if not answer.ok:
            self._console.fail(label, f"{step.name}: {answer.summary()}", note)
            return False
        self._console.ok(label, f"{step.name}: {answer.summary()}", note)
        return self._await_sync(step, answer)

    def _await_sync(self, step: StoryStep, answer: Answer) -> bool:
        result = (answer.json() or {}).get("result")
        journey = self._journey
        if journey is None or result not in _CHANGING_RESULTS:
            return True
        if step.incident_id is None or step.content_hash is None:
            return True  # accepted although it did not parse here: nothing to wait on
        wait = self._wait_seconds
        if not journey.wait_for_version(step.incident_id, step.content_hash, wait, self._stop):
            if not self._stop.is_set():
                self._console.warn(
                    "ticket", f"{step.name} not synced after {wait:.0f} s", "see above"
                )
            return False
        if result == "created" and not journey.wait_for_callback(
            step.incident_id, wait, self._stop
        ):
            if self._stop.is_set():
                return False
            detail = f"incident {step.incident_id} not confirmed to BigPanda after {wait:.0f} s"
            self._console.warn("callback", detail, "see above")
        return True

    def _summary(self, incident_id: str, changes_before: int, started: float) -> None:
        assert self._journey is not None  # noqa: S101 - only called with a journey
        ticket = self._journey.ticket_of(incident_id)
        changes = self._journey.changes_of(incident_id)[changes_before:]
        if ticket is not None and changes:
            detail = f"incident {incident_id}: ticket {ticket} {', '.join(changes)}"
        else:
            detail = f"incident {incident_id} synced"
        if self._journey.callback_confirmed(incident_id):
            detail += "; callback confirmed"
        self._console.ok("story", detail, f"{time.monotonic() - started:.2f} s in all")
