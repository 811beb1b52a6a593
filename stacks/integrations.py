"""The BigPanda integrations of the desk configuration file, as the stack wires them: a path
per integration (``/webhook/<name>``), its bearer-token secret, its BigPanda key secret, and
each routed target's credentials secret, all referenced by name.

A secret named in the file is not created here: the operator creates it (README, "Adding an
integration"), and each function is granted ``GetSecretValue`` on that name alone.
"""

from __future__ import annotations

import json

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from pandabridge.desk_config import DeskConfig
from pandabridge.names import WEBHOOK_PATH


def secret_arn_by_name(scope: Construct, name: str) -> str:
    """The ARN pattern of the secret called ``name`` in this stack's account and region:
    Secrets Manager appends six random characters to a secret's name in its ARN."""
    return Stack.of(scope).format_arn(
        service="secretsmanager",
        resource="secret",
        resource_name=f"{name}-??????",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def grant_read_secrets_by_name(
    scope: Construct, grantee: iam.IGrantable, names: list[str]
) -> iam.Grant | None:
    """Reading the current value of exactly the named secrets; none named, no grant."""
    if not names:
        return None
    return iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["secretsmanager:GetSecretValue"],
        resource_arns=[secret_arn_by_name(scope, name) for name in sorted(set(names))],
    )


def integration_paths(desk: DeskConfig) -> dict[str, str]:
    """Each integration but ``default`` and its webhook path."""
    return {name: f"{WEBHOOK_PATH}/{name}" for name in desk.extra_integrations}


def token_secret_names(desk: DeskConfig) -> dict[str, str]:
    """Each integration but ``default`` and the name of its bearer-token secret (the schema
    requires one)."""
    settings = desk.integration_settings
    return {name: str(settings[name].token_secret) for name in desk.extra_integrations}


def token_secret_map(desk: DeskConfig) -> str:
    """``token_secret_names`` as the authorizer's variable holds it (JSON)."""
    return json.dumps(token_secret_names(desk), sort_keys=True)
