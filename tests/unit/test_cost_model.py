"""The cost model prices the stack the CDK app really synthesizes, not a copy of its settings.

Synthesizing takes seconds, so the two templates (defaults, and a few settings changed) are
built once for the module. The local-stack measurements are replaced by fixed sizes: only the
template is under test here.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench import cost_model, stack_facts
from bench.stack_facts import Measured, StackFacts

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
    return stack_facts.read_facts(stack_facts.synthesize())


@pytest.fixture(scope="module")
def changed_facts() -> StackFacts:
    return stack_facts.read_facts(stack_facts.synthesize(CHANGED))


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
    assert default_facts.on_demand_tables == default_facts.tables == 3
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


def test_a_price_in_the_data_file_is_the_price_the_model_charges(
    default_facts: StackFacts, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the model of the default stack and the S3 PUT price of the data file
    model = cost_model.build(default_facts, MEASURED)
    before = model.variable_per_million()
    # When the data file's PUT price doubles
    put = cost_model.PRICES["s3_put"]
    monkeypatch.setitem(cost_model.PRICES, "s3_put", {**put, "usd": 2 * put["usd"]})
    # Then a million webhooks cost one more million PUTs at the old price (one per webhook)
    assert model.variable_per_million() == pytest.approx(before + 1e6 * put["usd"])


def test_the_default_inputs_come_from_the_data_file() -> None:
    # Given the inputs section of prices.toml / When the defaults are read
    inputs = cost_model.Inputs.defaults()
    # Then every field is the file's value, none a default of the code
    assert vars(inputs) == cost_model.DATA["inputs"]


def test_log_bytes_keep_the_deployed_level_and_metrics() -> None:
    lines = [
        '{"level": "DEBUG", "message": "x", "function_name": "bigpanda-webhook-ingest"}\n',
        '{"level": "INFO", "message": "stored", "function_name": "bigpanda-webhook-ingest"}\n',
        '{"_aws": {"CloudWatchMetrics": [{"Metrics": [{"Name": "TicketCreated"}]}]}}\n',
        "  20:08:48  gateway POST /webhook -> 200 (12 ms)\n",
    ]
    sizes = stack_facts.log_bytes_by_role(lines, "INFO")
    assert set(sizes) == {"ingest", "ticket_sync"}
    assert sizes["ingest"] == len(lines[1].strip()) + 1


@pytest.fixture(scope="module")
def traced_consumers_facts() -> StackFacts:
    return stack_facts.read_facts(
        stack_facts.synthesize({"consumer_tracing": "Active", "xray_sampling_rate": 0.01})
    )


def xray_cost(facts: StackFacts, webhooks: int = 1_000_000) -> float:
    model = cost_model.build(facts, MEASURED)
    return sum(line.cost(webhooks) for line in model.volume_lines if line.service == "X-Ray")


def test_the_stacks_sampling_rule_prices_the_api_traces(default_facts: StackFacts) -> None:
    # Given the default stack, whose own rule samples 5% of its stage with no reservoir
    assert default_facts.api_sampling == stack_facts.Sampling(reservoir_per_second=0, rate=0.05)
    # When a million webhooks are priced
    # Then 5% of them are traced (the consumers pass tracing through: no traces of their own)
    assert xray_cost(default_facts) == pytest.approx(0.05 * 1_000_000 * 5.00 / 1e6)


def test_actively_traced_consumers_are_priced_at_lambdas_fixed_rate(
    traced_consumers_facts: StackFacts,
) -> None:
    # Given consumers traced actively and a 1% rule on the stage
    assert traced_consumers_facts.api_sampling == stack_facts.Sampling(0, 0.01)
    # When a million webhooks are priced (0.39 a second: under Lambda's 1-a-second reservoir)
    api = 0.01 * 1_000_000
    consumers = 1_000_000 * (1 + cost_model.story_new_share())
    # Then every ticket-sync and callback invocation is a trace of its own
    assert xray_cost(traced_consumers_facts) == pytest.approx((api + consumers) * 5.00 / 1e6)


def test_a_stage_without_a_rule_of_its_own_is_priced_at_the_default_rule(
    default_facts: StackFacts,
) -> None:
    # Given the same stack without its sampling rule
    unruled = StackFacts(**{**vars(default_facts), "api_sampling": None})
    # When a million webhooks are priced (under one a second)
    # Then X-Ray's default reservoir of one a second traces every one
    assert xray_cost(unruled) == pytest.approx(1_000_000 * 5.00 / 1e6)


def test_only_metrics_published_in_normal_traffic_are_billed_every_hour(
    default_facts: StackFacts,
) -> None:
    # Given the metrics the story published on the local stack
    measured = replace(MEASURED, metric_names=frozenset({"IncidentCreated", "TicketCreated"}))
    # When the fixed cost is read
    model = cost_model.build(default_facts, measured)
    [line] = [line for line in model.lines if line.price_key == "metric_month"]
    # Then only those are billed for every hour; the failure counters are billed when published
    assert line.per_month == 2


def test_the_archive_designs_are_priced_side_by_side(default_facts: StackFacts) -> None:
    # Given the stack as built (one archive PUT per version)
    model = cost_model.build(default_facts, MEASURED)
    options = cost_model.archive_options(model)
    keep = options["PUT per version"]
    # Then archiving only what is not inline saves the PUT of an inline-sized payload
    assert options["archive only payloads not inline"] == pytest.approx(keep - 5.00)
    # And batching through Firehose costs less than a PUT per version, but not nothing
    assert keep - 5.00 < options["batch through Firehose"] < keep


def test_the_budget_table_says_whether_each_target_is_met(default_facts: StackFacts) -> None:
    # Given the model of the default stack
    model = cost_model.build(default_facts, MEASURED)
    # When the budget table is built
    rows = {row[0]: row for row in cost_model.targets_table(model).rows}
    # Then each total is compared with its target
    variable = model.variable_per_million()
    fixed = model.fixed_per_month()
    assert rows["variable per 1M webhooks"][-1] == ("yes" if variable <= 15 else "NO")
    assert rows["fixed per month"][-1] == ("yes" if fixed <= 12 else "NO")


def test_published_metrics_are_told_apart_by_name_and_dimension_values() -> None:
    # Given EMF lines: a business count under the service, and a per-function ColdStart
    lines = [
        '{"_aws": {"CloudWatchMetrics": [{"Dimensions": [["service"]], "Metrics": '
        '[{"Name": "IncidentCreated"}]}]}, "service": "s", "IncidentCreated": [1.0]}\n',
        '{"_aws": {"CloudWatchMetrics": [{"Dimensions": [["function_name", "service"]], '
        '"Metrics": [{"Name": "ColdStart"}]}]}, "function_name": "f", "service": "s"}\n',
        '{"level": "INFO", "message": "stored"}\n',
    ]
    # When the published metrics are read / Then each billed metric is one entry
    assert stack_facts.published_metrics(lines) == {"IncidentCreated", "ColdStart/f"}
