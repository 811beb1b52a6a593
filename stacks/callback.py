"""Callback: the function that confirms each newly created ticket to BigPanda, and the secret
holding BigPanda's User API key.

BigPanda locks an incident's share until it gets the callback (up to 5 minutes), so this is the
delay users feel. The function is fed by the callback FIFO queue: it posts the callback to
BigPanda's outbound callback service and records ``callback_confirmed_at`` on the incident's
ticket item, the one attribute of that item it may read or write. It retries a failed callback
itself, by changing its message's visibility (backoff), and parks a callback that BigPanda
refuses for good in the callback DLQ.
"""

from __future__ import annotations

import json
from typing import Any, Final

from aws_cdk import Annotations, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from pandabridge.desk_config import DeskConfig
from pandabridge.identity import DEFAULT_INTEGRATION
from pandabridge.names import BIGPANDA_APP_KEY_SETTING, Env
from stacks.checks import acknowledge
from stacks.config import StackSettings
from stacks.functions import FunctionDefaults, ServiceFunction
from stacks.integrations import grant_read_secrets_by_name
from stacks.limits import StackLimits
from stacks.queues import WorkQueues
from stacks.storage import IncidentStorage
from stacks.tracing import consumer_tracing

CALLBACK_HANDLER: Final = "callback.handler.handler"


class Callback(Construct):
    """The callback function, its event source and BigPanda's User API key.

    Each call takes a slot of the org's rate limit (windows in the control table) shared with
    every other caller of BigPanda's API; a full window makes the message wait without counting
    a failure. The event source runs at most ``callback_max_concurrency`` invocations at once;
    a 429 that still happens is retried with backoff like any other retryable failure.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StackSettings,
        functions: FunctionDefaults,
        storage: IncidentStorage,
        queues: WorkQueues,
        desk: DeskConfig | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.secret = self._api_key_secret()
        accounts = bigpanda_accounts(desk) if desk else {}
        self.confirmer = ServiceFunction(
            self,
            "Confirmer",
            defaults=functions,
            handler=CALLBACK_HANDLER,
            description="Confirms each newly created ticket to BigPanda (outbound callback)",
            memory_size=settings.callback_memory_mb,
            tracing=consumer_tracing(settings),
            timeout=Duration.seconds(StackLimits.CALLBACK_TIMEOUT_SECONDS),
            environment={
                Env.TICKETS_TABLE: storage.tickets_table.table_name,
                Env.CONTROL_TABLE: storage.control_table.table_name,
                Env.CALLBACK_DLQ_URL: queues.callback_dlq.queue_url,
                Env.BIGPANDA_SECRET_ID: self.secret.secret_arn,
                **bigpanda_environment(settings),
                **default_account_environment(desk),
                **({Env.BIGPANDA_INTEGRATIONS: json.dumps(accounts)} if accounts else {}),
            },
        )
        function = self.confirmer.function
        storage.grant_read_callback_confirmation(function)
        storage.grant_confirm_callback(function)
        storage.grant_rate_limit(function)
        queues.grant_dead_letter_callback(function)
        queues.consume_callback(function, max_concurrency=settings.callback_max_concurrency)
        self.grant_read_api_key(function)
        grant_read_secrets_by_name(self, function, key_secret_names(desk))
        default = desk.integration_settings[DEFAULT_INTEGRATION] if desk else None

        acknowledge(
            function,
            "Serverless-LambdaDLQ",
            "Invoked only by its SQS event source, never asynchronously: a message that keeps "
            "failing goes to the callback DLQ by the queue's redrive policy, and a function "
            "dead-letter queue would only ever receive failed asynchronous invocations.",
        )
        if settings.lacks_bigpanda_app_key and not (default and default.app_key):
            Annotations.of(self).add_warning_v2(
                "pandabridge:missingBigPandaAppKey",
                f"{BIGPANDA_APP_KEY_SETTING} is not set: the stack deploys, but no callback "
                "can be sent to BigPanda, which then holds each new incident's updates for 5 "
                "minutes; each attempt logs an ERROR and fires CallbackNotConfiguredAlarm, and "
                "the callbacks wait in their queue, then the callback DLQ. To finish: deploy, "
                "create the BigPanda integration with the WebhookUrl output, set "
                f"{BIGPANDA_APP_KEY_SETTING} to its app key (cdk.json or -c "
                f"{BIGPANDA_APP_KEY_SETTING}=...), redeploy, then run "
                ".venv/bin/pandabridge-ops redrive callback.",
            )

    def grant_read_api_key(self, grantee: iam.IGrantable) -> iam.Grant:
        """Reading the current value of the one API key secret; not describing, listing or
        changing it."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["secretsmanager:GetSecretValue"],
            resource_arns=[self.secret.secret_arn],
        )

    def _api_key_secret(self) -> secretsmanager.Secret:
        """A secret created with a generated placeholder, so no key is in the template.

        The operator writes BigPanda's User API key, as the plain secret string, with ``aws
        secretsmanager put-secret-value``; the function reads the secret on use, so no
        redeploy is needed. Deleting the stack deletes it whatever ``removal_policy`` says, as
        for the ticket credentials: it holds configuration, not data.
        """
        secret = secretsmanager.Secret(
            self,
            "BigPandaApiKey",
            description=(
                "BigPanda User API key that confirms tickets to BigPanda (the key itself as "
                "the secret string; replace the generated placeholder with put-secret-value)"
            ),
        )
        acknowledge(
            secret,
            "AwsSolutions-SMG4",
            "The secret holds a User API key issued by BigPanda; it is rotated in BigPanda's "
            "settings and written here with put-secret-value, which no rotation function of "
            "this stack could do.",
        )
        return secret


def bigpanda_environment(settings: StackSettings) -> dict[str, str]:
    """BigPanda's API settings as the function reads them.

    Without an app key the variable is left out rather than filled with a made-up value: the
    function then refuses each callback with an ERROR naming the setting, counted by
    ``CallbackNotConfigured``, and its messages wait in the queue and then the callback DLQ to
    be redriven once the key is deployed, instead of being sent to BigPanda with a key that
    BigPanda would refuse for good.
    """
    environment = {
        Env.BIGPANDA_API_BASE: settings.bigpanda_api_base,
        Env.BIGPANDA_TIMEOUT_SECONDS: f"{settings.bigpanda_timeout_seconds:g}",
    }
    if settings.bigpanda_app_key is not None:
        environment[Env.BIGPANDA_APP_KEY] = settings.bigpanda_app_key
    return environment


def bigpanda_accounts(desk: DeskConfig) -> dict[str, dict[str, Any]]:
    """Each integration but default and its BigPanda account, as ``Env.BIGPANDA_INTEGRATIONS``
    holds them (a key secret left out is the stack's)."""
    accounts = {}
    for name in desk.extra_integrations:
        integration = desk.integration_settings[name]
        account: dict[str, Any] = {"api_base": integration.api_url}
        if integration.app_key:
            account["app_key"] = integration.app_key
        if integration.key_secret:
            account["key_secret"] = integration.key_secret
        accounts[name] = account
    return accounts


def accounts_environment(desk: DeskConfig | None) -> dict[str, str]:
    """``Env.BIGPANDA_INTEGRATIONS`` for a function that calls BigPanda's API but sends no
    callback: each integration's account with its app key left out (the callback's alone)."""
    accounts = {
        name: {key: value for key, value in account.items() if key != "app_key"}
        for name, account in (bigpanda_accounts(desk) if desk else {}).items()
    }
    return {Env.BIGPANDA_INTEGRATIONS: json.dumps(accounts)}


def default_account_environment(desk: DeskConfig | None) -> dict[str, str]:
    """What ``[integrations.default]`` sets of the default's account, overriding the context:
    only the keys the file gives."""
    if desk is None or DEFAULT_INTEGRATION not in desk.integrations:
        return {}
    default = desk.integrations[DEFAULT_INTEGRATION]
    given = default.model_fields_set
    environment = {}
    if default.app_key:
        environment[Env.BIGPANDA_APP_KEY] = default.app_key
    if "api_base" in given:
        environment[Env.BIGPANDA_API_BASE] = default.api_url
    if default.key_secret:
        environment[Env.BIGPANDA_SECRET_ID] = default.key_secret
    return environment


def key_secret_names(desk: DeskConfig | None) -> list[str]:
    """The BigPanda key secrets the desk file names (the default's and each integration's),
    read by name; the stack's own secret is granted apart."""
    if desk is None:
        return []
    return [i.key_secret for i in desk.integration_settings.values() if i.key_secret]
