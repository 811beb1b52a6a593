"""Fixtures for the vendor fakes' tests: each fake started on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.fakes.jira import JiraFake


@pytest.fixture
def jira() -> Iterator[JiraFake]:
    """A Jira Cloud fake with the default project OPS, stopped after the test."""
    fake = JiraFake().start()
    yield fake
    fake.stop()
