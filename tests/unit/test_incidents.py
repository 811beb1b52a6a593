"""How the outcome of the conditional write is named."""

from __future__ import annotations

import pytest

from pandabridge.incidents import IngestResult, outcome_of_write


@pytest.mark.parametrize(
    ("written", "replaced", "stored_hash", "expected"),
    [
        (True, False, None, IngestResult.CREATED),
        (True, True, None, IngestResult.UPDATED),
        (False, True, "h1", IngestResult.DUPLICATE),
        (False, True, "h0", IngestResult.STALE),
    ],
    ids=["new-id", "newer-or-changed", "same-content", "older"],
)
def test_write_outcome_is_named(
    written: bool, replaced: bool, stored_hash: str | None, expected: IngestResult
) -> None:
    result = outcome_of_write(
        written=written, replaced=replaced, stored_hash=stored_hash, content_hash="h1"
    )
    assert result is expected


@pytest.mark.parametrize(
    ("result", "stored"),
    [
        (IngestResult.CREATED, True),
        (IngestResult.UPDATED, True),
        (IngestResult.DUPLICATE, False),
        (IngestResult.STALE, False),
    ],
)
def test_only_created_and_updated_change_the_stored_state(
    result: IngestResult, stored: bool
) -> None:
    assert result.stored is stored
