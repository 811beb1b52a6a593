"""Every dead-letter queue has an alarm that fires on its first message.

A message in a dead-letter queue is a delivery that failed for good: a ticket out of sync, or
a callback BigPanda never got. The queues' owners create the alarms; the monitoring construct
adds the notifications (``test_monitoring``).
"""

from __future__ import annotations

from typing import Any

import pytest
from synth_support import Synthesized, arn_of


def _alarms(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    """The alarms on a queue's depth; the other alarms watch backlogs, errors and latency."""
    return {
        alarm_id: alarm["Properties"]
        for alarm_id, alarm in synthesized.resources("AWS::CloudWatch::Alarm").items()
        if alarm["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
    }


def _queue_of(alarm: dict[str, Any]) -> str:
    """The logical id of the queue whose metric ``alarm`` watches."""
    [dimension] = alarm["Dimensions"]
    assert dimension["Name"] == "QueueName"
    return dimension["Value"]["Fn::GetAtt"][0]


def _dead_letter_queues(synthesized: Synthesized) -> set[str]:
    """Queues that nothing consumes: the targets of redrive policies and the pipe's DLQ."""
    queues = set(synthesized.resources("AWS::SQS::Queue"))
    consumed = {
        mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
        for mapping in synthesized.resources("AWS::Lambda::EventSourceMapping").values()
    }
    piped = {
        pipe["Properties"]["Target"]["Fn::GetAtt"][0]
        for pipe in synthesized.resources("AWS::Pipes::Pipe").values()
    }
    return queues - consumed - piped


def test_every_dead_letter_queue_has_one_depth_alarm(synthesized: Synthesized) -> None:
    # Given the stack's dead-letter queues: the callback's, ticket sync's and the pipe's
    dead_letter_queues = _dead_letter_queues(synthesized)
    assert len(dead_letter_queues) == 3
    # When the queues that depth alarms watch are collected
    watched = [_queue_of(alarm) for alarm in _alarms(synthesized).values()]
    # Then each dead-letter queue is watched by exactly one alarm, and no other queue is
    assert sorted(watched) == sorted(dead_letter_queues)


@pytest.mark.parametrize("app", ["synthesized", "overridden"])
def test_an_alarm_fires_on_the_first_dead_letter_within_a_minute(
    app: str, request: pytest.FixtureRequest
) -> None:
    # Given an app's alarms / When their metric and thresholds are read
    synthesized: Synthesized = request.getfixturevalue(app)
    for alarm in _alarms(synthesized).values():
        # Then each fires when the queue's visible messages reach 1 in one 1-minute period,
        # and an empty queue that SQS stops reporting counts as no message
        assert alarm["Namespace"] == "AWS/SQS"
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert (alarm["Statistic"], alarm["Period"]) == ("Maximum", 60)
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == (
            "GreaterThanOrEqualToThreshold",
            1,
        )
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (1, 1)
        assert alarm["TreatMissingData"] == "notBreaching"


def test_every_alarm_tells_the_operator_what_failed(synthesized: Synthesized) -> None:
    # Given every alarm / When its description is read
    descriptions = [alarm.get("AlarmDescription", "") for alarm in _alarms(synthesized).values()]
    # Then each explains, in a sentence, what the messages in its queue mean
    assert all(len(description) >= 40 for description in descriptions), descriptions


@pytest.mark.parametrize(
    ("owner", "alarm", "queue"),
    [
        ("queues", "callback_dlq_alarm", "callback_dlq"),
        ("queues", "ticket_sync_dlq_alarm", "ticket_sync_dlq"),
        ("handoff", "dead_letter_alarm", "dead_letter_queue"),
    ],
)
def test_each_queue_owner_exposes_the_alarm_on_its_dead_letter_queue(
    synthesized: Synthesized, owner: str, alarm: str, queue: str
) -> None:
    # Given a construct that owns a dead-letter queue, and the alarm it exposes
    construct = getattr(synthesized.stack, owner)
    exposed = synthesized.resource(getattr(construct, alarm))["Properties"]
    # When the alarm's queue is read / Then it is that construct's dead-letter queue, so
    # notifications added to the exposed alarm are about that queue
    dead_letter_queue = getattr(construct, queue)
    assert {"Fn::GetAtt": [_queue_of(exposed), "Arn"]} == arn_of(
        synthesized.logical_id(dead_letter_queue)
    )
