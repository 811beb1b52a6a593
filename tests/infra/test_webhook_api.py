"""POST /webhook: keyed, throttled, logged, and proxied unchanged to the ingest function."""

from __future__ import annotations

import json

from synth_support import Synthesized

from pandabridge.names import WEBHOOK_PATH


def _webhook_method(synthesized: Synthesized) -> dict:
    return synthesized.resource(synthesized.stack.ingest_api.method)["Properties"]


def test_webhook_resource_is_the_shared_webhook_path(synthesized: Synthesized) -> None:
    # Given the synthesized stack / When the webhook method's resource is read
    resource_id = _webhook_method(synthesized)["ResourceId"]["Ref"]
    resource = synthesized.resources("AWS::ApiGateway::Resource")[resource_id]["Properties"]
    # Then it is the path the handler routes on, right under the root
    assert resource["PathPart"] == WEBHOOK_PATH.strip("/")
    assert "RootResourceId" in json.dumps(resource["ParentId"])


def test_post_webhook_requires_an_api_key(synthesized: Synthesized) -> None:
    # Given the synthesized stack / When the webhook method is read
    method = _webhook_method(synthesized)
    # Then only POST is served and API Gateway refuses requests without a valid key
    assert method["HttpMethod"] == "POST"
    assert method["ApiKeyRequired"] is True


def test_post_webhook_is_a_lambda_proxy_to_the_ingest_function(synthesized: Synthesized) -> None:
    # Given the synthesized stack / When the webhook method's integration is read
    integration = _webhook_method(synthesized)["Integration"]
    # Then the request is proxied whole to the ingest function
    assert integration["Type"] == "AWS_PROXY"
    assert integration["IntegrationHttpMethod"] == "POST"
    uri_parts = json.dumps(integration["Uri"])
    assert synthesized.ingest_function_id in uri_parts


def test_request_validator_cannot_reject_a_body(synthesized: Synthesized) -> None:
    # Given the webhook method with a request validator
    method = _webhook_method(synthesized)
    # When API Gateway looks for a body model to validate against
    models = method.get("RequestModels", {})
    # Then there is none, so every body reaches the function and its own JSON errors
    assert "RequestValidatorId" in method
    assert models == {}


def test_stage_throttles_traces_and_logs_errors(synthesized: Synthesized) -> None:
    # Given the default settings / When the stage is read
    stage = synthesized.properties("AWS::ApiGateway::Stage")
    settings = synthesized.settings
    # Then it has the configured name, throttling, X-Ray tracing and error-level execution logs
    assert stage["StageName"] == settings.stage_name
    assert stage["TracingEnabled"] is True
    assert stage["MethodSettings"] == [
        {
            "HttpMethod": "*",
            "ResourcePath": "/*",
            "LoggingLevel": "ERROR",
            "DataTraceEnabled": False,
            "ThrottlingRateLimit": settings.throttle_rate_limit,
            "ThrottlingBurstLimit": settings.throttle_burst_limit,
        }
    ]


def test_access_logs_are_json_in_a_log_group_with_retention(synthesized: Synthesized) -> None:
    # Given the stage's access log setting
    access_log = synthesized.properties("AWS::ApiGateway::Stage")["AccessLogSetting"]
    access_log_group = synthesized.logical_id(synthesized.stack.ingest_api.access_logs)
    # When its format is parsed
    fields = json.loads(access_log["Format"])
    # Then each request is one JSON object, delivered to a log group that expires entries
    assert {"requestId", "status", "apiKeyId", "xrayTraceId"} <= fields.keys()
    assert access_log_group in json.dumps(access_log["DestinationArn"])
    log_group = synthesized.resources("AWS::Logs::LogGroup")[access_log_group]
    assert log_group["Properties"]["RetentionInDays"] == synthesized.settings.log_retention_days


def test_usage_plan_throttles_the_stage_like_the_settings(synthesized: Synthesized) -> None:
    # Given the default settings / When the usage plan is read
    plan = synthesized.properties("AWS::ApiGateway::UsagePlan")
    settings = synthesized.settings
    # Then it covers the deployed stage with the configured throttle and no quota
    assert plan["Throttle"] == {
        "RateLimit": settings.throttle_rate_limit,
        "BurstLimit": settings.throttle_burst_limit,
    }
    assert "Quota" not in plan
    stage_id = synthesized.logical_id(synthesized.stack.ingest_api.api.deployment_stage)
    assert [stage["Stage"] for stage in plan["ApiStages"]] == [{"Ref": stage_id}]


def test_api_key_is_attached_to_the_usage_plan(synthesized: Synthesized) -> None:
    # Given the API key and the usage plan
    key_id = synthesized.logical_id(synthesized.stack.ingest_api.api_key)
    plan_id, _ = synthesized.only("AWS::ApiGateway::UsagePlan")
    # When the usage plan keys are read
    binding = synthesized.properties("AWS::ApiGateway::UsagePlanKey")
    # Then the key is bound to the plan, so its requests are throttled by it
    assert binding == {
        "KeyId": {"Ref": key_id},
        "KeyType": "API_KEY",
        "UsagePlanId": {"Ref": plan_id},
    }


def test_api_is_regional(synthesized: Synthesized) -> None:
    # Given the synthesized stack / When the REST API is read
    api = synthesized.properties("AWS::ApiGateway::RestApi")
    # Then it is a regional endpoint (BigPanda calls it directly, no CloudFront in front)
    assert api["EndpointConfiguration"] == {"Types": ["REGIONAL"]}


def test_outputs_have_fixed_names_and_no_exports(synthesized: Synthesized) -> None:
    # Given the synthesized template / When its outputs are read
    outputs = synthesized.template.to_json()["Outputs"]
    # Then exactly the documented outputs exist, none exported
    assert set(outputs) == {
        "WebhookUrl",
        "ApiKeyId",
        "IncidentsTableName",
        "PayloadBucketName",
        "TicketsTableName",
        "ControlTableName",
        "DeskEventsUrl",
        "TicketSecretName",
        "TicketSyncQueueUrl",
        "TicketSyncDlqUrl",
        "CallbackQueueUrl",
        "CallbackDlqUrl",
        "BigPandaSecretName",
        "BearerTokenSecretName",
        "DashboardUrl",
        "AlarmTopicArn",
    }
    assert not any("Export" in output for output in outputs.values())
    assert "get-api-key" in outputs["ApiKeyId"]["Description"]
    # A secret's value is set from a file the README's steps write, never on a command line
    assert "never on the command line" in outputs["TicketSecretName"]["Description"]
    assert "--secret-string" not in outputs["TicketSecretName"]["Description"]


def test_webhook_url_is_the_stage_url_of_the_webhook_path(synthesized: Synthesized) -> None:
    # Given the WebhookUrl output / When its parts are joined
    parts = synthesized.template.to_json()["Outputs"]["WebhookUrl"]["Value"]["Fn::Join"][1]
    # Then it is https://<api>.execute-api.<region>.<suffix>/<stage>/webhook
    assert parts[0] == "https://"
    assert parts[-1] == WEBHOOK_PATH
