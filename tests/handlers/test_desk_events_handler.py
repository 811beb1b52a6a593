"""The desk-events function on moto: verified desk events are stored once, then queued in
their incident's FIFO group; anything unverified is refused and stored nowhere."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from local.aws import MotoServer, put_secret
from local.context import LambdaContext
from local.fakes.desk_webhooks import jira_change, jira_comment_created, jira_issue_updated
from local.names import CONTROL_TABLE, TICKET_SYNC_QUEUE, TICKETS_TABLE
from pandabridge import settings
from pandabridge.composition import desk_events
from pandabridge.desk_event_auth import http_signature, jira_signature
from pandabridge.fifo import fifo_id
from pandabridge.names import Env
from pandabridge.stores.desk_events import INCIDENT_PREFIX, DeskEventStore
from pandabridge.stores.tickets import TicketStateStore
from pandabridge.tickets.mapping import correlation_label
from pandabridge.tickets.model import TicketRef
from pandabridge.tickets.state import TicketState
from tests.handlers.conftest import Aws, HttpAnswer

INCIDENT = "5555370aabc20a001145d6g9"
OTHER_INCIDENT = "6666370aabc20a001145d6g9"
SECRET = "desk-events-secret-0123456789abcdef"
ISSUE = {"id": "10001", "key": "OPS-1"}
AGENT = {"accountId": "5b10a2844c20165700ede21g", "displayName": "Dana Levi"}
DONE = {"name": "Done", "id": "10002", "statusCategory": {"id": 3, "key": "done", "name": "Done"}}

Post = Callable[..., HttpAnswer]


@pytest.fixture
def desk(aws: Aws, moto_server: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Three two-way targets (jira, servicenow, http) sharing one events secret, and the
    tickets of two incidents: OPS-1 / INC0010001 / T-1 for INCIDENT, OPS-2 for the other."""
    secret_name = f"desk-events/{uuid.uuid4()}"  # Powertools caches secrets by name
    put_secret(moto_server.endpoint, secret_name, {"secret": SECRET})
    two_way = f'[targets.{{name}}.two_way]\nevents_secret = "{secret_name}"\n'
    config = "\n".join(
        f'[targets.{name}]\nkind = "{kind}"\nbase_url = "https://desk.example.com"\n{extra}'
        + two_way.format(name=name)
        for name, kind, extra in (
            ("ops-jira", "jira", '[targets.ops-jira.jira]\nproject = "OPS"\n'),
            ("snow", "servicenow", ""),
            ("desk", "http", ""),
        )
    )
    path = tmp_path / "pandabridge.toml"
    path.write_text('target = "ops-jira"\n' + config)
    monkeypatch.setenv(Env.DESK_CONFIG_FILE, str(path))
    _clear_caches()
    tickets = TicketStateStore(TICKETS_TABLE.local_name, aws.dynamodb)
    for incident, target, ref in (
        (INCIDENT, "jira", TicketRef(id="10001", key="OPS-1")),
        (OTHER_INCIDENT, "jira", TicketRef(id="10002", key="OPS-2")),
    ):
        tickets.save(TicketState(incident_id=incident, target=target, ticket=ref))
    yield
    _clear_caches()


def _clear_caches() -> None:
    settings.desk_event_settings.cache_clear()
    desk_events.desk_config.cache_clear()
    desk_events.desk_event_store.cache_clear()
    desk_events.intake.cache_clear()


@pytest.fixture
def post(desk: None, api_event: Callable[..., dict[str, Any]]) -> Post:
    """POSTs a body to /desk/<target>/events through the real handler."""
    from desk_events.handler import handler

    def call(target: str, body: bytes, headers: dict[str, str]) -> HttpAnswer:
        event = api_event(text=body.decode())
        event["resource"] = "/desk/{target}/events"
        event["path"] = f"/desk/{target}/events"
        event["pathParameters"] = {"target": target}
        event["headers"] = {"Content-Type": "application/json", **headers}
        event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
        answer = handler(event, LambdaContext(function_name="desk-events"))
        return HttpAnswer(
            answer["statusCode"], answer.get("headers") or {}, json.loads(answer["body"])
        )

    return call


def jira_headers(body: bytes, delivery: str = "delivery-1", secret: str = SECRET) -> dict[str, str]:
    return {
        "X-Atlassian-Webhook-Identifier": delivery,
        "X-Hub-Signature": jira_signature(body, secret),
    }


def resolved_body(issue: dict[str, Any] = ISSUE, labels: tuple[str, ...] = ()) -> bytes:
    fields = {"status": DONE, "labels": list(labels) or [correlation_label(INCIDENT)]}
    change = jira_change("status", ("10000", "To Do"), ("10002", "Done"))
    return json.dumps(jira_issue_updated({**issue, "fields": fields}, AGENT, [change])).encode()


def stored(aws: Aws) -> list[dict[str, Any]]:
    """The stored events, without their pointers under the incident."""
    items = aws.dynamodb.scan(TableName=CONTROL_TABLE.local_name, ConsistentRead=True)["Items"]
    return [item for item in items if not item["pk"]["S"].startswith(INCIDENT_PREFIX)]


def queued(aws: Aws) -> list[dict[str, Any]]:
    url = aws.sqs.get_queue_url(QueueName=TICKET_SYNC_QUEUE.local_name)["QueueUrl"]
    messages = aws.sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["MessageGroupId"], WaitTimeSeconds=0
    ).get("Messages", [])
    return [
        {"body": json.loads(m["Body"]), "group": m["Attributes"]["MessageGroupId"]}
        for m in messages
    ]


@pytest.mark.parametrize(
    ("target", "headers", "status"),
    [
        ("ops-jira", {"X-Atlassian-Webhook-Identifier": "d-1"}, 401),
        (
            "ops-jira",
            {"X-Atlassian-Webhook-Identifier": "d-1", "X-Hub-Signature": "sha256=00"},
            403,
        ),
        ("snow", {}, 401),
        ("snow", {"Authorization": "Bearer not-the-token-0123456789"}, 403),
        ("desk", {}, 401),
    ],
    ids=[
        "jira-unsigned",
        "jira-forged",
        "servicenow-no-token",
        "servicenow-wrong-token",
        "http-unsigned",
    ],
)
def test_an_unsigned_or_forged_event_is_refused_and_nothing_is_stored(
    post: Post, aws: Aws, target: str, headers: dict[str, str], status: int
) -> None:
    # Given a resolve of a known ticket, without a valid credential
    # When it is posted
    answer = post(target, resolved_body(), headers)
    # Then it is refused as unauthenticated (401) or forbidden (403), and nothing is kept
    assert answer.status == status
    assert stored(aws) == []
    assert queued(aws) == []


def test_a_jira_event_signed_with_another_secret_is_forbidden(post: Post, aws: Aws) -> None:
    # Given a delivery signed with a secret other than the target's
    body = resolved_body()
    # When it is posted
    answer = post("ops-jira", body, jira_headers(body, secret="another-secret-0123456789abcd"))
    # Then it is forbidden and nothing is stored
    assert answer.status == 403
    assert stored(aws) == []


def test_a_stale_http_event_is_forbidden(post: Post, aws: Aws) -> None:
    # Given an http event signed correctly, but ten minutes ago
    body = json.dumps(
        {"event_id": "e-1", "ticket_id": "T-1", "incident_id": INCIDENT, "kind": "resolved"}
    ).encode()
    then = int(time.time()) - 600
    headers = {
        "X-PandaBridge-Timestamp": str(then),
        "X-PandaBridge-Signature": http_signature(body, SECRET, then),
    }
    # When it is posted
    answer = post("desk", body, headers)
    # Then it is refused as stale and nothing is stored
    assert answer.status == 403
    assert "timestamp" in answer.body["message"]
    assert stored(aws) == []


def test_a_jira_resolve_is_stored_and_queued_in_the_incidents_fifo_group(
    post: Post, aws: Aws
) -> None:
    # Given a signed delivery: OPS-1 moved to Done
    body = resolved_body()
    # When it is posted
    answer = post("ops-jira", body, jira_headers(body))
    # Then it is stored as a resolve of the incident
    assert answer.status == 200
    event = DeskEventStore(CONTROL_TABLE.local_name, aws.dynamodb).get(
        "ops-jira", "delivery-1:resolved"
    )
    assert event is not None
    assert (event.incident_key, event.kind, event.ticket_key) == (INCIDENT, "resolved", "OPS-1")
    assert event.actor == AGENT["accountId"]
    # And one nudge waits in the incident's own message group
    [message] = queued(aws)
    assert message["group"] == fifo_id(INCIDENT)
    assert message["body"] == {
        "kind": "desk_event",
        "target": "ops-jira",
        "event_id": "delivery-1:resolved",
        "incident_id": INCIDENT,
    }


def test_a_redelivered_event_is_stored_and_queued_once(post: Post, aws: Aws) -> None:
    # Given a delivery that was accepted
    body = resolved_body()
    assert post("ops-jira", body, jira_headers(body)).status == 200
    # When Jira delivers it again (a retry carries the same identifier)
    again = post("ops-jira", body, jira_headers(body))
    # Then the answer says duplicate, one item is stored and one message queued
    assert again.status == 200
    assert [e["result"] for e in again.body["events"]] == ["duplicate"]
    assert len(stored(aws)) == 1
    assert len(queued(aws)) == 1


def test_an_event_whose_queueing_failed_is_queued_on_redelivery(post: Post, aws: Aws) -> None:
    # Given an event stored earlier but never queued (the send failed after the put)
    body = resolved_body()
    post("ops-jira", body, jira_headers(body))
    queued(aws)  # the first message taken away, as if it had never been sent
    aws.dynamodb.update_item(
        TableName=CONTROL_TABLE.local_name,
        Key={"pk": {"S": "desk-event#ops-jira"}, "sk": {"S": "delivery-1:resolved"}},
        UpdateExpression="REMOVE queued_at",
    )
    # When the desk delivers it again
    answer = post("ops-jira", body, jira_headers(body, delivery="delivery-1"))
    # Then it is queued now
    assert [e["result"] for e in answer.body["events"]] == ["queued"]


def test_a_comment_without_labels_finds_its_incident_in_the_tickets_table(
    post: Post, aws: Aws
) -> None:
    # Given a comment on OPS-2, whose event carries no labels
    issue = {**ISSUE, "id": "10002", "key": "OPS-2", "fields": {"status": DONE}}
    comment = {"id": "20001", "author": AGENT, "created": "2026-12-04T10:00:00.000+0000"}
    body = json.dumps(jira_comment_created(issue, comment, "Rolled back the deploy")).encode()
    # When it is posted
    answer = post("ops-jira", body, jira_headers(body, delivery="delivery-2"))
    # Then it is stored against OTHER_INCIDENT, with the comment's text
    assert answer.status == 200
    event = DeskEventStore(CONTROL_TABLE.local_name, aws.dynamodb).get(
        "ops-jira", "delivery-2:commented"
    )
    assert event is not None
    assert (event.incident_key, event.comment) == (OTHER_INCIDENT, "Rolled back the deploy")
    assert [m["group"] for m in queued(aws)] == [fifo_id(OTHER_INCIDENT)]


def test_an_event_about_a_ticket_we_do_not_know_is_accepted_and_ignored(
    post: Post, aws: Aws
) -> None:
    # Given a resolve of an issue no incident has
    body = resolved_body({"id": "99999", "key": "OPS-99"}, labels=("customer",))
    # When it is posted
    answer = post("ops-jira", body, jira_headers(body))
    # Then it is answered 202, saying why, and nothing is stored or queued
    assert answer.status == 202
    assert answer.body["events"][0]["result"] == "ignored: the ticket is not one of ours"
    assert stored(aws) == []
    assert queued(aws) == []


def test_a_servicenow_resolve_with_a_work_note_becomes_two_events(post: Post, aws: Aws) -> None:
    # Given the business rule's body: INC0010001 resolved, with a work note, in one update
    TicketStateStore(TICKETS_TABLE.local_name, aws.dynamodb).save(
        TicketState(
            incident_id="snow-incident",
            target="servicenow",
            ticket=TicketRef(id="a1b2c3", key="INC0010001"),
        )
    )
    body = json.dumps(
        {
            "sys_id": "a1b2c3",
            "number": "INC0010001",
            "sys_mod_count": 7,
            "correlation_id": "snow-incident",
            "changed": ["state", "work_notes"],
            "state": "6",
            "previous_state": "2",
            "updated_by": "dana.levi",
            "updated_by_name": "Dana Levi",
            "updated_at": "2026-12-04 10:00:00",
            "journal": {"element": "work_notes", "value": "Fixed by restart"},
        }
    ).encode()
    # When it is posted with the rule's bearer token
    answer = post("snow", body, {"Authorization": f"Bearer {SECRET}"})
    # Then both changes are stored and queued, deduplicated on sys_id and sys_mod_count
    assert answer.status == 200
    assert [e["event_id"] for e in answer.body["events"]] == [
        "a1b2c3:7:resolved",
        "a1b2c3:7:commented",
    ]
    assert {m["group"] for m in queued(aws)} == {"snow-incident"}


def test_a_body_that_is_not_json_is_a_400_naming_the_problem(post: Post, aws: Aws) -> None:
    # Given a signed delivery whose body is not JSON
    body = b"status=done"
    # When it is posted
    answer = post("ops-jira", body, jira_headers(body))
    # Then it is a 400 saying so, and nothing is stored
    assert (answer.status, answer.body["message"]) == (400, "the body is not JSON")
    assert stored(aws) == []


def test_a_target_without_two_way_is_not_found(post: Post) -> None:
    # Given a target name the configuration does not have
    # When an event is posted to it
    answer = post("nowhere", b"{}", {})
    # Then it is a 404 naming the section to add
    assert answer.status == 404
    assert "[targets.nowhere.two_way]" in answer.body["message"]
