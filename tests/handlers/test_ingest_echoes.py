"""Echo guard at ingest: our own link tag and comment coming back from BigPanda are no update.

BigPanda sends our ticket-link tag back as an update (tag updates on) and our own comment in
``metadata.comment`` (sendComments on). Left out of the content hash that decides ``updated``,
such a delivery of the same version is a duplicate, so no nudge reaches ticket sync.
"""

from __future__ import annotations

import copy
from typing import Any

from pandabridge.names import DEFAULT_LINK_TAG
from tests.handlers.conftest import Invoke

Payload = dict[str, Any]


def echoed(payload: Payload, *, tag: str = DEFAULT_LINK_TAG, comment: str | None = None) -> Payload:
    """``payload`` as BigPanda sends it back after our writes: same version, our tag added,
    and our comment when given."""
    echo = copy.deepcopy(payload)
    echo.setdefault("incidentTags", []).append({"id": tag, "value": "OPS-1 https://desk/OPS-1"})
    if comment is not None:
        echo.setdefault("metadata", {})["comment"] = {"comment": comment}
    return echo


def test_our_link_tag_coming_back_is_a_duplicate(
    invoke: Invoke, api_event: Any, sample: Payload
) -> None:
    # Given the incident stored
    invoke(api_event(sample))
    # When BigPanda sends the same version again with our link tag on it
    answer = invoke(api_event(echoed(sample)))
    # Then it is no update
    assert answer.body["result"] == "duplicate"


def test_our_own_comment_coming_back_is_a_duplicate(
    invoke: Invoke, api_event: Any, sample: Payload
) -> None:
    # Given the incident stored with our link tag already on it
    invoke(api_event(echoed(sample)))
    # When BigPanda sends the same version with our attributed comment in metadata.comment
    answer = invoke(api_event(echoed(sample, comment="[OPS-1] Dana Levi: disk replaced")))
    # Then it is no update
    assert answer.body["result"] == "duplicate"


def test_someone_elses_tag_or_comment_is_still_an_update(
    invoke: Invoke, api_event: Any, sample: Payload
) -> None:
    # Given the incident stored
    invoke(api_event(sample))
    # When the same version comes with another tag and a comment written in BigPanda
    other = echoed(sample, tag="team", comment="looking into it")
    # Then it is an update
    assert invoke(api_event(other)).body["result"] == "updated"
