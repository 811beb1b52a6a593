"""The HTTP client classifies every failure once: retry later, or fix a setting."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pandabridge.errors import RetryableError
from pandabridge.http import (
    EXCERPT_CHARS,
    REDACTED,
    HttpClient,
    RejectedRequestError,
    parse_retry_after,
)
from pandabridge.names import Env

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def url(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/api/thing")


def test_json_answer_is_parsed(httpserver: HTTPServer, http_client: HttpClient, url: str) -> None:
    httpserver.expect_request("/api/thing", method="GET").respond_with_json({"ok": [1, 2]})
    answer = http_client.request("GET", url)
    assert answer.status == 200
    assert answer.data == {"ok": [1, 2]}


def test_empty_answer_reads_as_none(
    httpserver: HTTPServer, http_client: HttpClient, url: str
) -> None:
    httpserver.expect_request("/api/thing", method="PUT").respond_with_data("", status=204)
    assert http_client.request("PUT", url, json_body={"a": 1}).data is None


def test_json_body_is_sent_compact_with_content_type(
    httpserver: HTTPServer, http_client: HttpClient, url: str
) -> None:
    httpserver.expect_request(
        "/api/thing",
        method="POST",
        data=b'{"name":"caf\xc3\xa9","n":1}',
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    ).respond_with_json({}, status=201)
    assert http_client.request("POST", url, json_body={"name": "café", "n": 1}).status == 201


def test_query_is_url_encoded(httpserver: HTTPServer, http_client: HttpClient, url: str) -> None:
    httpserver.expect_request(
        "/api/thing", query_string={"q": "a=b^c d", "n": "1"}
    ).respond_with_json({})
    http_client.request("GET", url, query={"q": "a=b^c d", "n": "1"})


def test_2xx_that_is_not_json_is_retryable(
    httpserver: HTTPServer, http_client: HttpClient, url: str
) -> None:
    httpserver.expect_request("/api/thing").respond_with_data(
        "<html>maintenance</html>", content_type="text/html"
    )
    with pytest.raises(RetryableError, match="not JSON"):
        http_client.request("GET", url)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_later_statuses_are_retryable(
    httpserver: HTTPServer, http_client: HttpClient, url: str, status: int
) -> None:
    httpserver.expect_request("/api/thing").respond_with_data("busy", status=status)
    with pytest.raises(RetryableError, match=f"answered {status}") as caught:
        http_client.request("GET", url)
    # An answer is definite: whatever the status, the call did nothing the caller cannot see
    assert not caught.value.outcome_unknown


@pytest.mark.parametrize("status", [301, 400, 401, 403, 404, 409, 422])
def test_other_statuses_are_rejected_with_the_status(
    httpserver: HTTPServer, http_client: HttpClient, url: str, status: int
) -> None:
    httpserver.expect_request("/api/thing").respond_with_json({"error": "no"}, status=status)
    with pytest.raises(RejectedRequestError) as caught:
        http_client.request("GET", url)
    assert caught.value.status == status
    assert caught.value.details == {"error": "no"}


@pytest.mark.parametrize(
    ("status", "setting"),
    [(401, "SECRET"), (403, "SECRET"), (400, "PROJECT"), (404, "PROJECT"), (409, "PROJECT")],
)
def test_rejection_names_credentials_or_the_resource(status: int, setting: str) -> None:
    rejected = RejectedRequestError(where="GET host/x", status=status, excerpt="")
    error = rejected.permanent(credentials_setting="SECRET", resource_setting="PROJECT")
    assert (error.setting, error.status) == (setting, status)


def test_retry_after_seconds_reach_the_error(
    httpserver: HTTPServer, http_client: HttpClient, url: str
) -> None:
    httpserver.expect_request("/api/thing").respond_with_data(
        "", status=429, headers={"Retry-After": "17"}
    )
    with pytest.raises(RetryableError) as caught:
        http_client.request("GET", url)
    assert caught.value.retry_after == 17


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 1.5 ", 1.5),
        ("Sun, 01 Mar 2026 12:01:30 GMT", 90.0),
        ("Sun, 01 Mar 2026 11:00:00 GMT", 0.0),
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_http_date(header: str | None, seconds: float) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


def test_timeout_is_retryable(httpserver: HTTPServer, url: str) -> None:
    # Given a server slower than the client's read timeout
    def slow(_: Request) -> Response:
        time.sleep(0.4)
        return Response("{}", content_type="application/json")

    httpserver.expect_request("/api/thing").respond_with_handler(slow)
    client = HttpClient(timeout_seconds=0.1)
    # When the client calls it, Then the call is retryable, and may have taken effect
    with pytest.raises(RetryableError, match="timed out") as caught:
        client.request("GET", url)
    assert caught.value.outcome_unknown


def test_refused_connection_is_retryable_and_definite(
    http_client: HttpClient, closed_port_url: str
) -> None:
    # Given nothing listens on the port
    # When the client calls it
    with pytest.raises(RetryableError, match="could not connect") as caught:
        http_client.request("GET", closed_port_url + "/api/thing")
    # Then the call is retryable, and known to have done nothing (the request was never sent)
    assert not caught.value.outcome_unknown


def test_message_names_method_host_and_path_but_not_the_query(
    httpserver: HTTPServer, http_client: HttpClient, url: str
) -> None:
    httpserver.expect_request("/api/thing").respond_with_data("nope", status=404)
    with pytest.raises(RejectedRequestError) as caught:
        http_client.request("GET", url, query={"email": "someone@example.com"})
    assert str(caught.value).startswith("GET localhost:")
    assert "/api/thing answered 404: nope" in str(caught.value)
    assert "someone" not in str(caught.value)


def test_excerpt_is_short_and_single_line(
    httpserver: HTTPServer, http_client: HttpClient, url: str
) -> None:
    httpserver.expect_request("/api/thing").respond_with_data("bad\n\tthing " * 500, status=400)
    with pytest.raises(RejectedRequestError) as caught:
        http_client.request("GET", url)
    assert len(caught.value.excerpt) <= EXCERPT_CHARS
    assert caught.value.excerpt.startswith("bad thing bad thing")


def test_known_secrets_are_redacted_from_messages(
    httpserver: HTTPServer, http_client: HttpClient, url: str
) -> None:
    # Given a server that echoes the secret it was sent
    httpserver.expect_request("/api/thing").respond_with_data(
        "token s3cr3t-value rejected", status=503
    )
    # When a client that knows the secret calls it
    with pytest.raises(RetryableError) as caught:
        http_client.redacting("s3cr3t-value").request("GET", url)
    # Then the message shows no trace of it
    assert "s3cr3t" not in str(caught.value)
    assert REDACTED in str(caught.value)


def test_json_and_raw_body_are_exclusive(http_client: HttpClient) -> None:
    with pytest.raises(ValueError, match="not both"):
        http_client.request("POST", "http://localhost/x", json_body={}, body=b"{}")


def test_permanent_error_says_which_setting_to_check() -> None:
    rejected = RejectedRequestError(where="GET h/x", status=401, excerpt="denied")
    error = rejected.permanent(
        credentials_setting=Env.TICKET_SECRET_ID, resource_setting=Env.TICKET_BASE_URL
    )
    assert str(error) == f"GET h/x answered 401: denied (check {Env.TICKET_SECRET_ID})"
