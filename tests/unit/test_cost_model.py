"""The cost model prices the stack the CDK app really synthesizes, not a copy of its settings.

Synthesizing takes seconds, so the two templates (defaults, and a few settings changed) are
built once for the module. The local-stack measurements are replaced by fixed sizes: only the
template is under test here.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench import cost_model
from bench.cost_model import Measured, StackFacts

MEASURED = Measured(
    raw_payload_bytes=2800,
    archived_bytes=1200,
    incident_item_bytes=1700,
    ticket_item_bytes=600,
    sync_message_bytes=180,
    log_bytes={"ingest": 600.0, "ticket_sync": 500.0},
    webhooks=6,
    source="fixed sizes",
)
CHANGED = {"lambda_memory_mb": 2048, "waf_enabled": True, "log_retention_days": 90}


@pytest.fixture(scope="module")
def default_facts() -> StackFacts:
    return cost_model.read_facts(cost_model.synthesize())


@pytest.fixture(scope="module")
def changed_facts() -> StackFacts:
    return cost_model.read_facts(cost_model.synthesize(CHANGED))


def cost_of(facts: StackFacts, service: str, what: str, webhooks: int = 1_000_000) -> float:
    model = cost_model.build(facts, MEASURED)
    return sum(
        line.cost(webhooks) for line in model.lines if line.service == service and what in line.what
    )


def test_the_template_is_read_for_functions_queues_and_tables(default_facts: StackFacts) -> None:
    assert set(default_facts.functions) >= {"ingest", "ticket_sync", "callback"}
    assert default_facts.functions["ingest"].memory_mb == 1024
    assert default_facts.functions["ingest"].architecture == "arm64"
    assert default_facts.queue_fifo == {"ticket_sync": True, "callback": True}
    assert default_facts.on_demand_tables == default_facts.tables == 2
    assert default_facts.stream
    assert default_facts.waf_rules is None
    assert default_facts.alarms > 0
    assert default_facts.dashboards == 1
    assert default_facts.authorizer_ttl_seconds == 300


def test_a_larger_ingest_memory_costs_more_lambda(
    default_facts: StackFacts, changed_facts: StackFacts
) -> None:
    assert changed_facts.functions["ingest"].memory_mb == 2048
    before = cost_of(default_facts, "Lambda", "ingest 1024 MB")
    after = cost_of(changed_facts, "Lambda", "ingest 2048 MB")
    assert after == pytest.approx(2 * before)


def test_waf_and_longer_log_retention_show_in_the_bill(
    default_facts: StackFacts, changed_facts: StackFacts
) -> None:
    assert changed_facts.waf_rules is not None
    assert changed_facts.waf_rules > 0
    assert cost_of(default_facts, "WAF", "") == 0
    assert cost_of(changed_facts, "WAF", "") > 5
    assert cost_of(changed_facts, "CloudWatch", "logs stored") == pytest.approx(
        3 * cost_of(default_facts, "CloudWatch", "logs stored")
    )


def test_a_standard_queue_is_priced_as_standard(default_facts: StackFacts) -> None:
    standard = StackFacts(**{**vars(default_facts), "queue_fifo": {"ticket_sync": False}})
    model = cost_model.build(standard, MEASURED)
    keys = {line.price_key for line in model.lines if line.service == "SQS"}
    assert keys == {"sqs_standard_request"}


def test_the_monthly_total_grows_with_volume_and_fixed_costs_dominate_small_ones(
    default_facts: StackFacts,
) -> None:
    model = cost_model.build(default_facts, MEASURED)
    totals = [sum(model.monthly(volume).values()) for volume in cost_model.VOLUMES]
    assert totals == sorted(totals)
    per_webhook = [total / volume for total, volume in zip(totals, cost_model.VOLUMES, strict=True)]
    assert per_webhook[0] > 10 * per_webhook[2]


def test_every_price_the_model_uses_is_in_the_stated_table(default_facts: StackFacts) -> None:
    model = cost_model.build(default_facts, MEASURED)
    assert {line.price_key for line in model.lines} <= set(cost_model.PRICES)


def test_log_bytes_keep_the_deployed_level_and_metrics() -> None:
    lines = [
        '{"level": "DEBUG", "message": "x", "function_name": "bigpanda-webhook-ingest"}\n',
        '{"level": "INFO", "message": "stored", "function_name": "bigpanda-webhook-ingest"}\n',
        '{"_aws": {"CloudWatchMetrics": [{"Metrics": [{"Name": "TicketCreated"}]}]}}\n',
        "  20:08:48  gateway POST /webhook -> 200 (12 ms)\n",
    ]
    sizes = cost_model.log_bytes_by_role(lines, "INFO")
    assert set(sizes) == {"ingest", "ticket_sync"}
    assert sizes["ingest"] == len(lines[1].strip()) + 1


def test_item_size_follows_dynamodb_rules() -> None:
    item: dict[str, Any] = {"id": {"S": "abc"}, "n": {"N": "1234"}, "b": {"B": b"12345"}}
    assert cost_model.item_bytes(item) == (2 + 3) + (1 + 3) + (1 + 5)
