"""From an HTTP body to a validated, versioned, hashed webhook, or a 4xx that says what is wrong.

Parsing is done here rather than with Powertools' parser envelope because the envelope's
``json.loads`` accepts ``NaN``/``Infinity`` and oversized integers, cannot report where the
nesting limit was hit, and hides the raw bytes that are archived and hashed.

Two paths give one answer. The fast path (pydantic-core's Rust JSON parser, a nesting check on
the bytes, the canonical form) serves every body it can prove acceptable as JSON; anything it
declines (malformed, ``NaN``, out of range, too deep, an escaped lone surrogate, a byte-order
mark, a key given twice in one object) takes the checked path, the standard library parser with
hooks, which alone decides what a 400 says. So the fast path changes the cost of a delivery,
never its answer.

A key given twice is refused: parsers keep the last value (or the first), so such a body means
different things to different readers, and its canonical form, and so its content hash and
archive key, would equal that of a body without the first value. BigPanda never sends one.
"""

from __future__ import annotations

import base64
import binascii
import gc
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Final

from pydantic import ValidationError
from pydantic_core import from_json

from pandabridge.models import WebhookPayload
from pandabridge.names import Limits
from pandabridge.versioning import Version, canonical_json, content_hash

Loc = tuple[str | int, ...]

MAX_REPORTED_ERRORS: Final = 20

_UTF8_BOM: Final = b"\xef\xbb\xbf"
_NOT_STRUCTURE: Final = bytes(c for c in range(256) if c not in b'"[]{}:')
_BRACKETS_AS_SQUARE: Final = bytes.maketrans(b"{}", b"[]")


@dataclass(frozen=True)
class ErrorDetail:
    loc: Loc
    msg: str

    def as_json(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "msg": self.msg}


@dataclass
class InvalidWebhookError(Exception):
    """The delivery cannot be accepted; nothing of it is stored."""

    status: HTTPStatus
    message: str
    errors: list[ErrorDetail] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message

    def as_json(self) -> dict[str, Any]:
        return {"message": self.message, "errors": [e.as_json() for e in self.errors]}


def _bad_body(msg: str) -> InvalidWebhookError:
    return InvalidWebhookError(
        HTTPStatus.BAD_REQUEST, f"invalid request body: {msg}", [ErrorDetail(("body",), msg)]
    )


@dataclass(frozen=True)
class ParsedWebhook:
    payload: WebhookPayload
    raw: bytes
    content_hash: str
    version: Version

    @property
    def incident_id(self) -> str:
        return self.payload.incident.id


def parse_webhook(body: str | None, *, is_base64_encoded: bool = False) -> ParsedWebhook:
    """Decode, parse and validate one delivery; raises ``InvalidWebhookError`` and nothing else."""
    raw, text = _decode(body, is_base64_encoded)
    with _collection_paused():
        fast = _parse_fast(raw)
        if fast is None:
            return _parse_checked(raw, text)
        document, canonical = fast
        payload = _validate(document)
    return ParsedWebhook(payload, raw, content_hash(canonical), Version.of(payload))


@contextmanager
def _collection_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector while a body becomes objects.

    A large incident allocates hundreds of thousands of containers, and every 700 allocations
    start a collection that walks the young ones again: a quarter of the parse at 5,000
    alerts. Parsed JSON and its models form no cycles, so nothing is left for the collector
    to find; reference counting frees everything as before. The collector is restored only by
    the caller that paused it, so nested or concurrent calls leave it as they found it.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _parse_fast(raw: bytes) -> tuple[dict[str, Any], bytes] | None:
    """The document and its canonical form, or None when the checked path must answer.

    Every check the checked path makes before validation is covered, so validating next cannot
    answer 422 where the checked path answers 400: the Rust parser refuses ``NaN``/``Infinity``,
    integers of more than 4300 digits, escaped lone surrogates and nesting beyond its own limit
    (200); the nesting limit is checked on the bytes; an out-of-range float, which the parser
    reads as infinity, makes the canonical form fail. The Rust parser keeps the last of a
    repeated key: every object member has one colon outside strings, so the body holds a
    repeated key exactly when it has more such colons than its canonical form.
    """
    try:
        document = from_json(raw.removeprefix(_UTF8_BOM), allow_inf_nan=False)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    structure = _structure(raw)
    if _nested_deeper_than(structure, Limits.MAX_NESTING_DEPTH):
        return None
    try:
        canonical = canonical_json(document)
    except ValueError:  # infinity from a literal like 1e400 (UnicodeEncodeError is one too)
        return None
    if structure.count(b":") != _structure(canonical).count(b":"):
        return None
    return document, canonical


def _parse_checked(raw: bytes, text: str) -> ParsedWebhook:
    """The reference path: every body the fast path declines, and the wording of every 400."""
    document = _parse_json(text)
    if not isinstance(document, dict):
        raise InvalidWebhookError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            f"the body must be a JSON object with an 'incident', not {_json_type(document)}",
            [ErrorDetail(("body",), f"expected an object, got {_json_type(document)}")],
        )
    payload = _validate(document)
    try:
        canonical = canonical_json(document)
    except UnicodeEncodeError:
        raise _bad_body("contains an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)") from None
    return ParsedWebhook(payload, raw, content_hash(canonical), Version.of(payload))


def _decode(body: str | None, is_base64_encoded: bool) -> tuple[bytes, str]:
    if body is None or not body.strip():
        raise _bad_body("the body is empty; expected a JSON object")
    if is_base64_encoded:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise _bad_body("isBase64Encoded is true but the body is not valid base64") from None
        try:
            return raw, raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _bad_body(f"not valid UTF-8 (byte {exc.start})") from None
    try:
        return body.encode("utf-8"), body
    except UnicodeEncodeError as exc:
        raise _bad_body(f"not valid UTF-8 (character {exc.start})") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"the number {literal[:40]} is out of range")
    return value


class _RepeatedKey(dict[str, Any]):
    """An object in which ``key`` was given more than once (the last value kept)."""

    key: str


def _parse_json(text: str) -> Any:
    text = text.removeprefix("\ufeff")  # a byte-order mark from an editor is not an error
    if not text.strip():
        raise _bad_body("the body is empty; expected a JSON object")
    repeated: list[_RepeatedKey] = []

    def members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        marked = _RepeatedKey(obj)
        marked.key = _first_repeated(pairs)
        repeated.append(marked)
        return marked

    try:
        document = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            object_pairs_hook=members,
        )
    except json.JSONDecodeError as exc:
        raise _bad_body(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise _too_deep() from None
    except ValueError as exc:  # NaN/Infinity, a float out of range, an integer of >4300 digits
        raise _bad_body(f"not valid JSON: {exc}") from None
    if _deeper_than(document, Limits.MAX_NESTING_DEPTH):
        raise _too_deep()
    if repeated:
        raise _repeated_key(document, repeated[0])
    return document


def _first_repeated(pairs: list[tuple[str, Any]]) -> str:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return key
        seen.add(key)
    return ""


def _repeated_key(document: Any, marked: _RepeatedKey) -> InvalidWebhookError:
    """The 400 for a key given twice, naming the key and the object that holds it."""
    where = _location(document, marked)
    msg = f"duplicate key {marked.key!r} in {_dotted(where)}; each key may appear once"
    return InvalidWebhookError(
        HTTPStatus.BAD_REQUEST,
        f"invalid request body: {msg}",
        [ErrorDetail((*where, marked.key), msg)],
    )


def _location(document: Any, target: Any) -> Loc:
    """Where ``target`` sits in ``document``, found by identity without recursion."""
    stack: list[tuple[Any, Loc]] = [(document, ())]
    while stack:
        node, loc = stack.pop()
        if node is target:
            return loc
        items = node.items() if isinstance(node, dict) else enumerate(node)
        stack.extend((child, (*loc, k)) for k, child in items if isinstance(child, dict | list))
    return ()


def _too_deep() -> InvalidWebhookError:
    return _bad_body(f"nested deeper than {Limits.MAX_NESTING_DEPTH} levels")


def _deeper_than(document: Any, limit: int) -> bool:
    """Whether objects/arrays nest deeper than ``limit``, walked without recursion."""
    if not isinstance(document, dict | list):
        return False
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def _structure(raw: bytes) -> bytes:
    """The brackets (all as ``[]``) and colons of ``raw``, valid JSON, that are outside strings.

    Walking the parsed document costs more than parsing it; byte operations that run in C do
    the same on the text. Escapes go first (``\\\\`` then ``\\"``, so every quote left
    delimits a string), then everything but quotes, brackets and colons. Dropping two adjacent
    quotes keeps the parity of the quotes before each mark, so marks inside strings are still
    told apart by splitting on the quotes left.
    """
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    marks = raw.translate(_BRACKETS_AS_SQUARE, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in marks:
        marks = b"".join(marks.split(b'"')[::2])
    return marks


def _nested_deeper_than(structure: bytes, limit: int) -> bool:
    """Whether the brackets of ``structure`` (from ``_structure``) nest deeper than ``limit``:
    each pass removes the innermost (empty) containers; a document that outlasts ``limit``
    passes is deeper than ``limit``."""
    marks = structure.replace(b":", b"")
    for _ in range(limit):
        if not marks:
            return False
        marks = marks.replace(b"[]", b"")
    return bool(marks)


def _validate(document: dict[str, Any]) -> WebhookPayload:
    try:
        return WebhookPayload.model_validate(document)
    except ValidationError as exc:
        details = [
            ErrorDetail(tuple(err["loc"]), _message(err)) for err in exc.errors(include_url=False)
        ]
        first = details[0]
        more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
        raise InvalidWebhookError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            f"invalid webhook payload: {_dotted(first.loc)}: {first.msg}{more}",
            details[:MAX_REPORTED_ERRORS],
        ) from None


def _message(err: Any) -> str:
    if err["type"] == "missing":
        return "is required"
    msg: str = err["msg"]
    return msg.removeprefix("Value error, ")


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")
