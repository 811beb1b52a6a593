"""``HttpBigPandaApi`` over real HTTP, against the BigPanda stand-in: each call of the contract,
how BigPanda's refusals and limits reach the queues, and the org rate limit taken first."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local.demo.bigpanda import BigPandaStandIn
from local.fakes.bigpanda_api import ALL_ENVIRONMENT_ID
from pandabridge.bigpanda_api import HttpBigPandaApi
from pandabridge.errors import PermanentError, RetryableError, WaitingError
from pandabridge.http import HttpClient
from pandabridge.names import Limits
from pandabridge.rate_limit import Kind, MemoryRateLimiter
from tests.conftest import BIGPANDA_STAND_IN_KEY, StoppedClock

ENV = ALL_ENVIRONMENT_ID
INCIDENT = "5555370aabc20a001145d6g9"  # the vendor sample's


@pytest.fixture
def shared(bigpanda_stand_in: BigPandaStandIn, sample: dict[str, Any]) -> str:
    """The vendor sample, shared by the stand-in; its incident id."""
    return bigpanda_stand_in.api.share(sample)


class NoLimit:
    """A limiter that lets every call through, to meet BigPanda's own limits."""

    def acquire(self, org: str, kind: Kind) -> None:  # noqa: ARG002 - no slot to take
        return None


@dataclass
class Frozen:
    """A stand-in and a client on one stopped clock, so windows are deterministic."""

    clock: StoppedClock
    stand_in: BigPandaStandIn

    def client(self, limiter: Any) -> HttpBigPandaApi:
        return HttpBigPandaApi(
            self.stand_in.api_base,
            BIGPANDA_STAND_IN_KEY,
            HttpClient(timeout_seconds=5),
            limiter,
            org="stand-in-org",
            clock=self.clock,
        )


@pytest.fixture
def frozen(sample: dict[str, Any]) -> Iterator[Frozen]:
    clock = StoppedClock()
    stand_in = BigPandaStandIn(BIGPANDA_STAND_IN_KEY, clock=clock).start()
    stand_in.api.share(sample)
    yield Frozen(clock, stand_in)
    stand_in.stop()


def test_get_returns_the_shared_incident_in_its_v2_shape(
    bigpanda_api: HttpBigPandaApi, shared: str
) -> None:
    # Given the shared sample / When it is read with its alerts
    incident = bigpanda_api.get_incident(ENV, shared, expand_alerts=True)
    # Then it is the v2 object: v2 time names, the v2 snooze, the alerts in full
    assert incident is not None
    assert incident["id"] == INCIDENT
    assert incident["changed_at"] == 1649576282
    assert incident["updated_at"] == 1652897578
    assert incident["snooze"] == {
        "snoozed": False,
        "end_time": None,
        "cancel_on_incident_updates": False,
    }
    assert incident["alerts"][0]["description"] == "CPU is 98%"


def test_get_of_an_unknown_incident_is_none(bigpanda_api: HttpBigPandaApi) -> None:
    # Given nothing shared / When an incident is read / Then BigPanda's 404 is None
    assert bigpanda_api.get_incident(ENV, "no-such-incident") is None


def test_search_pages_the_incidents_changed_in_the_window(
    bigpanda_stand_in: BigPandaStandIn, bigpanda_api: HttpBigPandaApi, sample: dict[str, Any]
) -> None:
    # Given three incidents changed at 100, 200 and 300
    for n, changed in enumerate((100, 200, 300)):
        sample["incident"] |= {"id": f"inc-{n}", "changedOn": changed}
        bigpanda_stand_in.api.share(sample)
    # When the window 150..300 is searched two at a time
    first = bigpanda_api.search_incidents(ENV, since=150, until=300, page=1, page_size=1)
    second = bigpanda_api.search_incidents(ENV, since=150, until=300, page=2, page_size=1)
    # Then two match, newest change first, one a page
    assert (first.total, [i["id"] for i in first.items]) == (2, ["inc-2"])
    assert (second.total, [i["id"] for i in second.items]) == (2, ["inc-1"])


def test_search_refuses_more_than_ten_expanded_incidents_a_page_before_calling(
    bigpanda_stand_in: BigPandaStandIn, bigpanda_api: HttpBigPandaApi
) -> None:
    # Given BigPanda's limit of 10 incidents a page with alerts expanded
    # When a page of 11 is asked for / Then the client refuses it itself
    with pytest.raises(ValueError, match="at most 10"):
        bigpanda_api.search_incidents(
            ENV, since=0, until=1, page=1, page_size=11, expand_alerts=True
        )


def test_environments_include_the_built_in_all(bigpanda_api: HttpBigPandaApi) -> None:
    # When the environments are listed / Then "All" is among them
    assert {"id": ALL_ENVIRONMENT_ID, "name": "All"} in bigpanda_api.environments()


def test_activities_come_newest_first_with_who_acted(
    bigpanda_api: HttpBigPandaApi, shared: str
) -> None:
    # Given a shared incident that was then commented
    bigpanda_api.comment(ENV, shared, "looking")
    # When its activities are read
    activities = bigpanda_api.activities(shared)
    # Then the comment comes before the share, each with its actor
    assert [a["type"] for a in activities] == ["incident_commented", "incident_shared"]
    assert activities[1]["params"] == {"share_target": "webhook.pandabridge"}
    assert all(a["created_by"] for a in activities)


def test_activities_can_be_limited_to_some_types(
    bigpanda_api: HttpBigPandaApi, shared: str
) -> None:
    # Given a shared, commented incident
    bigpanda_api.comment(ENV, shared, "looking")
    # When only shares are asked for / Then only the share comes
    assert [a["type"] for a in bigpanda_api.activities(shared, types=["incident_shared"])] == [
        "incident_shared"
    ]


def test_resolving_twice_resolves_once(
    bigpanda_stand_in: BigPandaStandIn, bigpanda_api: HttpBigPandaApi, shared: str
) -> None:
    # Given an open shared incident
    # When it is resolved twice
    first = bigpanda_api.resolve(ENV, shared, "[OPS-1] resolved by Dana Levi")
    second = bigpanda_api.resolve(ENV, shared, "[OPS-1] resolved by Dana Levi")
    # Then the first resolved it and the second met BigPanda's 409, which counts as done
    assert (first, second) == (True, False)
    [write] = bigpanda_stand_in.api.writes("resolve")
    assert write.body == {"comments": "[OPS-1] resolved by Dana Levi"}


def test_a_comment_is_written_once_as_sent(
    bigpanda_stand_in: BigPandaStandIn, bigpanda_api: HttpBigPandaApi, shared: str
) -> None:
    # When a comment is written / Then BigPanda holds exactly it
    bigpanda_api.comment(ENV, shared, "[OPS-1] Dana Levi: restarted the host")
    assert [w.body for w in bigpanda_stand_in.api.writes("comment")] == [
        {"comment": "[OPS-1] Dana Levi: restarted the host"}
    ]


def test_a_tag_is_set_once_its_definition_exists(
    bigpanda_stand_in: BigPandaStandIn, bigpanda_api: HttpBigPandaApi, shared: str
) -> None:
    # Given the tag definition an admin created
    tag_id = bigpanda_stand_in.api.define_tag("ticket_link")
    # When the definitions are read and the tag set
    definitions = bigpanda_api.tag_definitions()
    bigpanda_api.set_tag(ENV, shared, tag_id, "OPS-1 https://desk/OPS-1")
    # Then the definition is listed and the value written
    assert [d["name"] for d in definitions] == ["ticket_link"]
    [write] = bigpanda_stand_in.api.writes("tag")
    assert write.body == {"tag_id": tag_id, "tag_value": "OPS-1 https://desk/OPS-1"}


def test_a_value_for_an_undefined_tag_names_the_definition(
    bigpanda_api: HttpBigPandaApi, shared: str
) -> None:
    # Given no tag definition / When a tag value is set
    with pytest.raises(PermanentError) as refused:
        bigpanda_api.set_tag(ENV, shared, "ticket_link", "OPS-1")
    # Then the refusal is permanent and names the definition to create
    assert refused.value.status == 404
    assert "'ticket_link'" in refused.value.setting


def test_only_an_active_user_is_found_by_e_mail(
    bigpanda_stand_in: BigPandaStandIn, bigpanda_api: HttpBigPandaApi
) -> None:
    # Given an active user and a deactivated one
    dana = bigpanda_stand_in.api.add_user("dana@example.com", name="Dana Levi")
    bigpanda_stand_in.api.add_user("gone@example.com", active=False)
    # When both are looked up by e-mail / Then only the active one is found
    assert bigpanda_api.user_id_by_email("Dana@Example.com") == dana
    assert bigpanda_api.user_id_by_email("gone@example.com") is None


def test_an_assignment_is_written_with_the_user_id(
    bigpanda_stand_in: BigPandaStandIn, bigpanda_api: HttpBigPandaApi, shared: str
) -> None:
    # Given a user / When the incident is assigned to them / Then BigPanda holds the id
    dana = bigpanda_stand_in.api.add_user("dana@example.com")
    bigpanda_api.assign(ENV, shared, dana)
    assert [w.body for w in bigpanda_stand_in.api.writes("assignment")] == [{"assignee": dana}]


def test_a_refused_key_names_the_key_secret(
    bigpanda_stand_in: BigPandaStandIn, shared: str
) -> None:
    # Given a client with a key BigPanda does not know, and the key's setting
    client = HttpBigPandaApi(
        bigpanda_stand_in.api_base,
        "wrong-key-0123456789",
        HttpClient(timeout_seconds=5),
        MemoryRateLimiter(),
        key_setting="integrations.default.key_secret",
    )
    # When it calls / Then the 401 is permanent and points at the key's setting
    with pytest.raises(PermanentError) as refused:
        client.comment(ENV, shared, "hello")
    assert refused.value.status == 401
    assert refused.value.setting == "integrations.default.key_secret"
    assert "wrong-key" not in str(refused.value)


def test_a_5xx_is_retryable_and_not_a_wait(
    bigpanda_stand_in: BigPandaStandIn, bigpanda_api: HttpBigPandaApi, shared: str
) -> None:
    # Given BigPanda failing the next call with a 503
    bigpanda_stand_in.api.failures.arm(503, 1)
    # When a call is made / Then it is retryable, as a failure rather than a wait
    with pytest.raises(RetryableError) as failed:
        bigpanda_api.comment(ENV, shared, "hello")
    assert not isinstance(failed.value, WaitingError)


def test_a_429_without_retry_after_waits_for_the_minute_window(frozen: Frozen) -> None:
    # Given BigPanda answering 429 without Retry-After, 10.25 s into a minute
    frozen.stand_in.api.failures.arm(429, 1)
    # When a call is made
    with pytest.raises(WaitingError) as waiting:
        frozen.client(NoLimit()).environments()
    # Then it waits, without counting a failure, until the minute window ends
    assert waiting.value.retry_after == 50


def test_a_429_with_retry_after_waits_at_least_that_long(frozen: Frozen) -> None:
    # Given BigPanda asking to come back in 120 s
    frozen.stand_in.api.failures.arm(429, 1, retry_after=120)
    # When a call is made / Then it waits the longer of that and the window
    with pytest.raises(WaitingError) as waiting:
        frozen.client(NoLimit()).environments()
    assert waiting.value.retry_after == 120


def test_the_org_limiter_holds_the_sixth_action_of_a_second_before_bigpanda_sees_it(
    frozen: Frozen,
) -> None:
    # Given a client on the org limiter, and one second
    client = frozen.client(MemoryRateLimiter(clock=frozen.clock))
    # When six comments are written in that second
    for n in range(Limits.BIGPANDA_ACTIONS_PER_SECOND):
        client.comment(ENV, INCIDENT, f"comment {n}")
    with pytest.raises(WaitingError):
        client.comment(ENV, INCIDENT, "one too many")
    # Then BigPanda received five, and answered no 429
    assert len(frozen.stand_in.api.writes("comment")) == Limits.BIGPANDA_ACTIONS_PER_SECOND


def test_without_the_org_limiter_bigpanda_s_own_limit_answers_and_it_waits(
    frozen: Frozen,
) -> None:
    # Given a client that does not limit itself
    client = frozen.client(NoLimit())
    for n in range(Limits.BIGPANDA_ACTIONS_PER_SECOND):
        client.comment(ENV, INCIDENT, f"comment {n}")
    # When a sixth comment is written in the same second
    with pytest.raises(WaitingError, match="429"):
        client.comment(ENV, INCIDENT, "one too many")
    # Then BigPanda refused it: five writes only
    assert len(frozen.stand_in.api.writes("comment")) == Limits.BIGPANDA_ACTIONS_PER_SECOND
