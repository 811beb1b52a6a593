"""The demo desk's page follows the stack without losing what an agent is typing."""

from __future__ import annotations

from typing import Any

import pytest

from local.demo.desk_page import render


@pytest.fixture
def ticket() -> dict[str, Any]:
    return {
        "id": "T-1",
        "incident_id": "inc-1",
        "title": "Disk full",
        "priority": "high",
        "status": "open",
        "comments": [],
        "updated_at": "2026-12-05T00:00:00+00:00",
        "history": [],
    }


def test_the_page_never_reloads_over_an_agents_comment(ticket: dict[str, Any]) -> None:
    # Given the page with an agent's comment field
    page = render([ticket], actions=True)
    # Then it has no unconditional reload (a meta refresh drops what is typed), and its own
    # refresh waits while a field has focus or holds text
    assert "http-equiv='refresh'" not in page
    assert "document.activeElement" in page
    assert "field.value" in page
    assert "location.reload()" in page
