"""Hostile input: property-based fuzzing of the real ingest handler, in process, on moto.

Every example is one API Gateway proxy event through ``ingest.handler.handler``, against a moto
server reset once per test (not per example: each example carries an incident id of its own).
Whatever the body, three invariants hold for each delivery:

- never a 5xx: a body can be refused, never crash the handler;
- a 4xx is 400 or 422 with ``{"message", "errors"}``, and nothing was stored: no new object
  in the payload bucket, no new item in the incidents table, none for the incident id sent;
- a 200 names one of the four results, and the incident it names can be read back; a stored
  one reads back as the body sent.

The schema-level property generates valid payloads from the pydantic models themselves and
asserts that each one is accepted and stored with the summary the payload calls for.
"""

from __future__ import annotations

import base64
import binascii
import copy
import itertools
import json
import types
import typing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from local import defaults
from local.names import INCIDENTS_TABLE, PAYLOAD_BUCKET
from pandabridge import models
from pandabridge.composition.ingest import incident_store
from pandabridge.names import Limits
from tests.handlers.conftest import Aws, HttpAnswer, Invoke
from tests.reliability.scale import scaled

pytestmark = pytest.mark.emits_logs

SAMPLE: Final = json.loads(defaults.SAMPLE_EVENT.read_text())
RESULTS: Final = frozenset({"created", "updated", "duplicate", "stale"})
# Beyond what any real delivery holds, small enough to keep an example in milliseconds.
HUGE_STRING_CHARS: Final = 300_000
# Python refuses to turn integers of more digits into text; the parser must refuse them too.
HUGE_INTEGER_DIGITS: Final = 5_000
LATEST_EPOCH: Final = 4_102_444_800  # 2100-01-01: within MAX_TIMESTAMP by far

Document = Any
_ids = itertools.count(1)


def unique_id(prefix: str) -> str:
    """An incident id no other example of the run uses."""
    return f"{prefix}-{next(_ids):06d}"


# --- Building bodies ------------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """JSON text placed as is: numbers no Python value serializes to."""

    text: str


@dataclass(frozen=True)
class Pairs:
    """An object written with the keys in this order, repeats included."""

    items: tuple[tuple[str, Document], ...]


def encode(value: Document, *, ascii_only: bool = True) -> str:
    """JSON text of ``value``, with ``Raw`` and ``Pairs`` written as they say."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, Pairs | dict):
        items = value.items if isinstance(value, Pairs) else value.items()
        return (
            "{"
            + ",".join(
                f"{json.dumps(key, ensure_ascii=ascii_only)}:{encode(item, ascii_only=ascii_only)}"
                for key, item in items
            )
            + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(encode(item, ascii_only=ascii_only) for item in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


def nesting_depth(value: Document) -> int:
    """How deep arrays and objects nest in ``value`` (a scalar is 0)."""
    if isinstance(value, Pairs):
        return 1 + max((nesting_depth(item) for _, item in value.items), default=0)
    if isinstance(value, dict):
        return 1 + max((nesting_depth(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((nesting_depth(item) for item in value), default=0)
    return 0


def paths(value: Document, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every location in ``value`` below the root."""
    children: list[tuple[str | int, Document]] = []
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    found = []
    for key, child in children:
        found.append((*prefix, key))
        found += paths(child, (*prefix, key))
    return found


def parent_of(document: Document, path: tuple[str | int, ...]) -> Document:
    for key in path[:-1]:
        document = document[key]
    return document


def proxy_event(template: dict[str, Any], body: str | None, *, base64_encoded: bool) -> dict:
    """The test console's proxy event with another body: built per example, not by a
    function-scoped fixture, which Hypothesis would share between examples."""
    event = copy.deepcopy(template)
    event["body"] = body
    event["isBase64Encoded"] = base64_encoded
    return event


# --- Delivering, and the invariants of every delivery ---------------------------------------


@dataclass
class Ingest:
    """The handler, and the checks that every delivery must pass."""

    invoke: Invoke
    aws: Aws
    template: dict[str, Any]
    # What the bucket and the table held after the last delivery, read past the handler.
    counts: tuple[int, int] | None = None

    def stored_counts(self) -> tuple[int, int]:
        """(objects in the payload bucket, items in the incidents table)."""
        objects = self.aws.s3.list_objects_v2(Bucket=PAYLOAD_BUCKET.local_name)["KeyCount"]
        items = self.aws.dynamodb.scan(
            TableName=INCIDENTS_TABLE.local_name, Select="COUNT", ConsistentRead=True
        )["Count"]
        return objects, items

    def deliver(
        self, body: str | None, *, base64_encoded: bool = False, incident_id: str | None = None
    ) -> HttpAnswer:
        """Send one body; assert the invariants; return the answer."""
        before = self.counts if self.counts is not None else self.stored_counts()
        answer = self.invoke(proxy_event(self.template, body, base64_encoded=base64_encoded))
        self.counts = self.stored_counts()
        assert answer.status < 500, answer.body
        if answer.status == 200:
            assert answer.body["result"] in RESULTS, answer.body
            stored = incident_store().get(answer.body["incident_id"])
            assert stored is not None, answer.body
            if answer.body["result"] in ("created", "updated"):
                assert stored.payload == json.loads(decoded(body, base64_encoded))
        else:
            assert answer.status in (400, 422), answer.body
            assert isinstance(answer.body["message"], str), answer.body
            assert answer.body["message"], answer.body
            assert isinstance(answer.body["errors"], list), answer.body
            assert answer.body["errors"], answer.body
            assert self.counts == before
            if incident_id is not None:
                assert self.aws.item(incident_id) is None
        return answer


def decoded(body: str | None, base64_encoded: bool) -> str:
    assert body is not None
    return base64.b64decode(body).decode() if base64_encoded else body


@pytest.fixture
def ingest(invoke: Invoke, aws: Aws, console_event: dict[str, Any]) -> Ingest:
    return Ingest(invoke, aws, console_event)


# --- Strategies ------------------------------------------------------------------------------

# Text as hostile as JSON can carry: any code point, lone surrogates, NUL, a byte-order mark.
hostile_text = st.text(
    st.one_of(
        st.characters(),
        st.sampled_from(["\x00", "\ud800", "\udfff", "\ufeff", "\u2028", "\U0001f43c", '"', "\\"]),
    ),
    max_size=40,
)
huge_strings = st.integers(HUGE_STRING_CHARS // 10, HUGE_STRING_CHARS).map(lambda n: "x" * n)
huge_numbers = st.one_of(
    st.integers(16, HUGE_INTEGER_DIGITS).map(lambda digits: Raw("9" * digits)),
    st.integers(16, HUGE_INTEGER_DIGITS).map(lambda digits: Raw("-1" + "0" * digits)),
    st.sampled_from(
        [Raw("1e400"), Raw("-1e400"), Raw("1e308"), Raw("5e-324"), Raw("1.0e-400"), Raw("NaN"),
         Raw("Infinity"), Raw("-Infinity"), Raw(str(Limits.MAX_TIMESTAMP)), Raw("1" * 19)]
    ),
    st.integers(min_value=-(2**70), max_value=2**70),
)  # fmt: skip
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
hostile_values = st.one_of(json_values, hostile_text, huge_numbers, huge_strings)


def nested(depth: int, leaf: Document) -> Document:
    """``leaf`` inside ``depth`` arrays and objects, alternating."""
    for level in range(depth):
        leaf = [leaf] if level % 2 else {"n": leaf}
    return leaf


# --- Random JSON, random bytes, base64 --------------------------------------------------------


@settings(max_examples=scaled(150))
@given(
    document=st.one_of(
        json_values,
        st.fixed_dictionaries({"incident": json_values}),
        st.fixed_dictionaries({"incident": st.dictionaries(st.text(max_size=8), json_values)}),
    ),
    ascii_only=st.booleans(),
)
def test_any_json_document_is_answered_without_a_server_error(
    ingest: Ingest, document: Document, ascii_only: bool
) -> None:
    # Given any JSON document, mostly not a webhook
    # When it is delivered
    # Then the delivery's invariants hold
    ingest.deliver(encode(document, ascii_only=ascii_only))


@settings(max_examples=scaled(100))
@given(raw=st.binary(max_size=512), base64_encoded=st.booleans())
def test_random_bytes_are_refused_without_a_server_error(
    ingest: Ingest, raw: bytes, base64_encoded: bool
) -> None:
    # Given random bytes, sent base64-encoded or as text (undecodable bytes as surrogates)
    body = (
        base64.b64encode(raw).decode() if base64_encoded else raw.decode("utf-8", "surrogateescape")
    )
    # When they are delivered
    answer = ingest.deliver(body, base64_encoded=base64_encoded)
    # Then they are refused as not JSON or not a webhook
    assert answer.status in (400, 422)


@settings(max_examples=scaled(60))
@given(
    flag=st.booleans(),
    encode_body=st.booleans(),
    corruption=st.one_of(st.none(), st.tuples(st.integers(0, 10_000), st.sampled_from("!*-_ =\n"))),
)
def test_the_base64_flag_decides_how_the_body_is_read(
    ingest: Ingest, flag: bool, encode_body: bool, corruption: tuple[int, str] | None
) -> None:
    # Given the sample as a new incident, as JSON or as base64 (perhaps corrupted), and
    # isBase64Encoded true or false
    incident_id = unique_id("base64")
    payload = copy.deepcopy(SAMPLE)
    payload["incident"]["id"] = incident_id
    body = json.dumps(payload)
    if encode_body:
        body = base64.b64encode(body.encode()).decode()
        if corruption is not None:
            at = corruption[0] % len(body)
            body = body[:at] + corruption[1] + body[at:]
    # When it is delivered
    answer = ingest.deliver(body, base64_encoded=flag, incident_id=incident_id)
    # Then it is stored exactly when the flag says how to read the body and it reads as JSON
    assert (answer.status == 200) == reads_as_sample(body, flag, payload), answer.body


def reads_as_sample(body: str, flag: bool, payload: Document) -> bool:
    if flag:
        try:
            body = base64.b64decode(body, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
    try:
        return json.loads(body) == payload
    except ValueError:
        return False


# --- Mutations of the vendor sample -----------------------------------------------------------


@st.composite
def mutated_samples(draw: st.DrawFn) -> tuple[Document, str]:
    """The sample as a new incident, after one to four hostile edits anywhere in it."""
    incident_id = unique_id("mutant")
    document: Document = copy.deepcopy(SAMPLE)
    document["incident"]["id"] = incident_id
    for _ in range(draw(st.integers(1, 4))):
        locations = paths(document)
        if not locations:
            break
        path = draw(st.sampled_from(locations))
        parent, key = parent_of(document, path), path[-1]
        edit = draw(st.sampled_from(["drop", "retype", "nest", "duplicate"]))
        if edit == "drop":
            del parent[key]
        elif edit == "retype":
            parent[key] = draw(hostile_values)
        elif edit == "nest":
            parent[key] = nested(draw(st.integers(55, 70)), parent[key])
        elif isinstance(parent, dict):
            # The key again, later in the same object: JSON parsers keep the last one.
            pairs = [*parent.items(), (key, draw(hostile_values))]
            grandparent = parent_of(document, path[:-1]) if len(path) > 1 else None
            if grandparent is None:
                document = Pairs(tuple(pairs))
                break
            grandparent[path[-2]] = Pairs(tuple(pairs))
    return document, incident_id


@settings(max_examples=scaled(250))
@given(mutant=mutated_samples(), ascii_only=st.booleans())
def test_a_mutated_sample_is_stored_or_refused_but_never_fails(
    ingest: Ingest, mutant: tuple[Document, str], ascii_only: bool
) -> None:
    # Given the sample with fields dropped, retyped, nested deep, or repeated in the text
    document, incident_id = mutant
    # When it is delivered
    # Then the delivery's invariants hold
    ingest.deliver(encode(document, ascii_only=ascii_only), incident_id=incident_id)


@settings(max_examples=scaled(40))
@given(
    depth=st.integers(50, 70),
    where=st.sampled_from(
        [("incidentTags", 0, "value"), ("incident", "alerts", 0, "tags", 0, "value"), ("extra",)]
    ),
)
def test_nesting_is_refused_exactly_beyond_64_levels(
    ingest: Ingest, depth: int, where: tuple[str | int, ...]
) -> None:
    # Given the sample as a new incident with a value of any JSON nested ``depth`` levels deep
    incident_id = unique_id("deep")
    document = copy.deepcopy(SAMPLE)
    document["incident"]["id"] = incident_id
    parent_of(document, where)[where[-1]] = nested(depth, "leaf")
    # When it is delivered
    answer = ingest.deliver(json.dumps(document), incident_id=incident_id)
    # Then it is refused as too deep exactly when it nests deeper than the limit
    too_deep = nesting_depth(document) > Limits.MAX_NESTING_DEPTH
    assert answer.status == (400 if too_deep else 200), answer.body


# --- Valid payloads, generated from the models -----------------------------------------------


@dataclass(frozen=True)
class Stamp:
    """A timestamp as sent (number, numeric string or ISO-8601) and the epoch it denotes."""

    sent: int | float | str
    epoch: int | float


def _stamp(epoch: int, form: str, fraction: bool, offset_hours: int) -> Stamp:
    if form == "number":
        return Stamp(epoch + 0.5, epoch + 0.5) if fraction else Stamp(epoch, epoch)
    if form == "numeric string":
        return Stamp(f"{epoch}.5", epoch + 0.5) if fraction else Stamp(str(epoch), epoch)
    zone = timezone(timedelta(hours=offset_hours))
    return Stamp(datetime.fromtimestamp(epoch, UTC).astimezone(zone).isoformat(), epoch)


timestamps = st.builds(
    _stamp,
    st.integers(0, LATEST_EPOCH),
    st.sampled_from(["number", "numeric string", "iso"]),
    st.booleans(),
    st.integers(-12, 14),
)
statuses = st.builds(
    lambda word, case, pad: pad + case(word) + pad,
    st.sampled_from(["critical", "warning", "ok", "unknown", "acknowledged", "major"]),
    st.sampled_from([str.lower, str.upper, str.title, str.swapcase]),
    st.sampled_from(["", " "]),
)
# Valid text: anything but lone surrogates; where a number comes instead, it becomes text.
texts = st.text(max_size=30) | st.integers(-(10**6), 10**6)


def strategy_for(annotation: Any, metadata: list[Any]) -> st.SearchStrategy[Any]:
    """Values that the field's annotation accepts, as JSON (or ``Stamp``)."""
    if models.Timestamp.__metadata__[0] in metadata:
        return st.none() | timestamps
    if models.Status.__metadata__[0] in metadata:
        return st.none() | statuses
    options = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return st.one_of([strategy_for(option, []) for option in options])
    if typing.get_origin(annotation) is list:
        return st.lists(strategy_for(options[0], []), max_size=3)
    if typing.get_origin(annotation) is dict:
        return st.dictionaries(st.text(max_size=8), json_values, max_size=3)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return model_payloads(annotation)
    simple: dict[Any, st.SearchStrategy[Any]] = {
        type(None): st.none(),
        bool: st.booleans(),
        int: st.integers(-(10**9), 10**9),
        float: st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(10**6), 10**6),
        str: texts,
        Any: json_values,
    }
    return simple[annotation]


def model_payloads(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects of ``model``: each optional field absent or present (null or a value), the
    required id always there, and unknown fields now and then."""
    required = {}
    optional = {}
    for name, field in model.model_fields.items():
        if field.is_required() and field.annotation is str:
            required[name] = st.just("")  # the incident id: set per example, unique
        elif field.is_required():
            required[name] = strategy_for(field.annotation, list(field.metadata))
        else:
            optional[name] = strategy_for(field.annotation, list(field.metadata))
    known = set(model.model_fields)
    unknown = st.dictionaries(
        st.text(min_size=1, max_size=8).filter(lambda name: name not in known),
        json_values,
        max_size=2,
    )
    return st.builds(
        lambda fixed, chosen, extra: {**extra, **fixed, **chosen},
        st.fixed_dictionaries(required),
        st.fixed_dictionaries({}, optional=optional),
        unknown,
    )


def plain(value: Document) -> Document:
    """The payload as JSON values: each ``Stamp`` as it is sent."""
    if isinstance(value, Stamp):
        return value.sent
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def epoch_of(value: Stamp | None) -> int | float | None:
    return value.epoch if isinstance(value, Stamp) else None


@settings(max_examples=scaled(120))
@given(generated=model_payloads(models.WebhookPayload))
def test_every_payload_the_models_describe_is_stored_with_its_summary(
    ingest: Ingest, generated: dict[str, Any]
) -> None:
    # Given a valid payload built from the models' fields, as a new incident
    incident_id = unique_id("schema")
    generated["incident"]["id"] = incident_id
    incident = generated["incident"]
    # When it is delivered
    answer = ingest.deliver(json.dumps(plain(generated)), incident_id=incident_id)
    # Then it is created, and stored with the summary its fields call for
    assert answer.status == 200, answer.body
    assert answer.body["result"] == "created"
    stored = incident_store().get(incident_id)
    assert stored is not None
    summary = stored.summary
    status = incident.get("status")
    expected_status = status.strip().lower() if status is not None else None
    assert summary.status == expected_status
    severity = incident.get("severity")
    assert summary.severity == (severity.strip().lower() if severity is not None else None)
    assert summary.alert_count == len(incident.get("alerts") or [])
    resolved = (
        incident.get("active") is False
        or expected_status == models.RESOLVED_STATUS
        or incident.get("resolved") is True
    )
    assert summary.resolved is resolved
    updated_on = epoch_of(incident.get("updatedOn"))
    assert summary.version.updated_on == updated_on
    assert summary.version.changed_on == epoch_of(incident.get("changedOn"))
    assert summary.updated_on == updated_on
