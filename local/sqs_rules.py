"""SQS's rules for FIFO ids, applied in front of moto, which does not check them.

SQS refuses a ``MessageGroupId`` or ``MessageDeduplicationId`` that is not 1 to 128 characters
from ``!`` to ``~``: ``SendMessage`` answers 400 ``InvalidParameterValue``, and
``SendMessageBatch`` fails that entry alone as a sender fault. moto accepts any string, so
without this a send that AWS refuses would pass every local test. Every client of the local
moto server (the handlers, the local pipe, ``ops``) goes through this check, in the JSON
protocol that boto3 speaks to SQS (``X-Amz-Target: AmazonSQS.SendMessage``).
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Final

from pandabridge.fifo import is_valid_fifo_id

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_SEND: Final = "AmazonSQS.SendMessage"
_SEND_BATCH: Final = "AmazonSQS.SendMessageBatch"
_FIFO_ID_PARAMETERS: Final = ("MessageGroupId", "MessageDeduplicationId")
_ERROR_CODE: Final = "InvalidParameterValue"
_JSON: Final = "application/x-amz-json-1.0"


def fifo_id_refusal(request: dict[str, Any]) -> str | None:
    """SQS's message for the first invalid FIFO id of a send (or batch entry), else None."""
    for parameter in _FIFO_ID_PARAMETERS:
        value = request.get(parameter)
        if isinstance(value, str) and not is_valid_fifo_id(value):
            return (
                f"Value {value} for parameter {parameter} is invalid. Reason: {parameter} can "
                "only include alphanumeric and punctuation characters. 1 to 128 in length."
            )
    return None


class SqsFifoRules:
    """WSGI middleware: refuses the sends that SQS would refuse, passes everything else on."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target not in (_SEND, _SEND_BATCH):
            return list(self._app(environ, start_response))
        body = _read_body(environ)
        try:
            request = json.loads(body)
        except ValueError:
            request = None
        if not isinstance(request, dict):  # malformed: moto answers as it would
            return list(self._app(environ, start_response))
        if target == _SEND:
            refusal = fifo_id_refusal(request)
            if refusal is None:
                return list(self._app(environ, start_response))
            return _answer(start_response, "400 Bad Request", _error(refusal), error=True)
        return self._send_batch(environ, start_response, request)

    def _send_batch(
        self, environ: dict[str, Any], start_response: Callable[..., Any], request: dict[str, Any]
    ) -> list[bytes]:
        entries = request.get("Entries")
        if not isinstance(entries, list):
            return list(self._app(environ, start_response))
        failed, kept = [], []
        for entry in entries:
            refusal = fifo_id_refusal(entry) if isinstance(entry, dict) else None
            if refusal is None:
                kept.append(entry)
            else:
                failed.append(
                    {
                        "Id": entry.get("Id"),
                        "SenderFault": True,
                        "Code": _ERROR_CODE,
                        "Message": refusal,
                    }
                )
        if not failed:
            return list(self._app(environ, start_response))
        if not kept:
            return _answer(start_response, "200 OK", {"Successful": [], "Failed": failed})
        _set_body(environ, json.dumps({**request, "Entries": kept}).encode())
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], *_exc_info: Any) -> None:
            captured.update(status=status, headers=headers)

        answer = b"".join(self._app(environ, capture))
        if not captured["status"].startswith("200"):
            start_response(captured["status"], captured["headers"])
            return [answer]
        result = json.loads(answer)
        result["Failed"] = [*result.get("Failed", []), *failed]
        return _answer(start_response, "200 OK", result)


def _read_body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body: bytes = environ["wsgi.input"].read(length) if length else b""
    _set_body(environ, body)  # put back for moto to read
    return body


def _set_body(environ: dict[str, Any], body: bytes) -> None:
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))


def _error(message: str) -> dict[str, str]:
    return {"__type": f"com.amazonaws.sqs#{_ERROR_CODE}", "message": message}


def _answer(
    start_response: Callable[..., Any],
    status: str,
    document: dict[str, Any],
    *,
    error: bool = False,
) -> list[bytes]:
    body = json.dumps(document).encode()
    headers = [
        ("Content-Type", _JSON),
        ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", str(uuid.uuid4())),
    ]
    if error:
        # SQS speaks JSON but keeps its query-protocol error codes; botocore reads this header.
        headers += [
            ("x-amzn-query-error", f"{_ERROR_CODE};Sender"),
            ("X-Amzn-Errortype", f"com.amazonaws.sqs#{_ERROR_CODE}"),
        ]
    start_response(status, headers)
    return [body]
