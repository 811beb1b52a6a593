"""The synthesized stack, built once per session exactly as ``app.py`` builds it.

Synthesizing costs seconds (the CDK runs in Node.js), so every infra test shares one app
with ``cdk.json``'s context (the settings' defaults) and one with overridden context.
"""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template
from synth_support import HARDENED, INTEGRATIONS_EXAMPLE, OVERRIDES, Synthesized, synthesize


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app with ``cdk.json``'s context, as ``make synth`` builds it."""
    return synthesize(tmp_path_factory.mktemp("cdk-defaults"))


@pytest.fixture(scope="session")
def overridden(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app with every setting overridden, as ``cdk deploy -c key=value`` would."""
    return synthesize(tmp_path_factory.mktemp("cdk-overrides"), OVERRIDES)


@pytest.fixture(scope="session")
def hardened(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app with bearer auth, WAF and a source allowlist all on."""
    return synthesize(tmp_path_factory.mktemp("cdk-hardened"), HARDENED)


@pytest.fixture(scope="session")
def integrated(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app with the worked example of two integrations routed to two desks."""
    context = {"config_file": str(INTEGRATIONS_EXAMPLE)}
    return synthesize(tmp_path_factory.mktemp("cdk-integrations"), context)


@pytest.fixture(scope="session")
def template(synthesized: Synthesized) -> Template:
    return synthesized.template
