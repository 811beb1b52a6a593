"""Archive keys: one path segment per incident, never "." or "..", which S3 tools skip."""

from __future__ import annotations

import pytest

from pandabridge.stores.incidents import archive_key

HASH = "ab" * 32


@pytest.mark.parametrize("incident_id", [".", ".."])
def test_an_id_of_dots_gives_no_dot_segment(incident_id: str) -> None:
    # Given an id that a path would read as "here" or "up"
    # When its archive key is made
    segments = archive_key(incident_id, HASH).split("/")
    # Then no segment is "." or ".." (aws s3 cp --recursive and aws s3 sync skip those)
    assert not {".", ".."} & set(segments)


def test_the_ids_dot_and_dot_dot_get_keys_of_their_own() -> None:
    # Given the ids ".", ".." and their escaped forms / When their keys are made
    ids = [".", "..", "%2E", "%2E%2E", "..."]
    # Then no two share a key
    assert len({archive_key(i, HASH) for i in ids}) == len(ids)


@pytest.mark.parametrize(
    ("incident_id", "key"),
    [
        ("5555370aabc20a001145d6g9", f"incidents/5555370aabc20a001145d6g9/{HASH}.json.gz"),
        ("a/b", f"incidents/a%2Fb/{HASH}.json.gz"),
        ("...", f"incidents/.../{HASH}.json.gz"),
        ("事件 1", f"incidents/%E4%BA%8B%E4%BB%B6%201/{HASH}.json.gz"),
    ],
)
def test_every_other_id_keeps_the_key_it_had(incident_id: str, key: str) -> None:
    # Given an id archived before dots were escaped / When its key is made / Then it is unchanged
    assert archive_key(incident_id, HASH) == key
