"""The check that ``make deploy`` and ``make diff`` run before the CDK: credentials and a region,
or a message naming what to set, before any synth."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from local.aws import MotoServer
from ops import preflight
from ops.preflight import NotReadyError, check, main

REPO_ROOT = Path(__file__).resolve().parents[2]
AWS_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
)


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine with no AWS configuration at all: no variables, no ~/.aws files, no IMDS."""
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def sts_on_moto(no_aws: None, monkeypatch: pytest.MonkeyPatch, moto_server: MotoServer) -> None:
    """Keys and a region, with STS answered by the moto server."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_server.endpoint)


def test_without_a_region_the_message_says_to_set_aws_region(
    no_aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given keys but no region anywhere
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    # When the check runs, then it refuses and names AWS_REGION
    with pytest.raises(NotReadyError, match="no AWS region: set AWS_REGION"):
        check()


def test_without_credentials_the_message_says_to_set_aws_profile(
    no_aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a region but no credentials anywhere
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    # When the check runs, then it refuses and names AWS_PROFILE
    with pytest.raises(NotReadyError, match="no AWS credentials: set AWS_PROFILE"):
        check()


def test_an_unknown_profile_is_named(no_aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a profile that ~/.aws/config does not define
    monkeypatch.setenv("AWS_PROFILE", "nowhere")
    # When the check runs, then the message names the profile and what to set
    with pytest.raises(NotReadyError, match=r"AWS_PROFILE=nowhere: .*set AWS_PROFILE"):
        check()


@pytest.mark.parametrize("variable", ["AWS_REGION", "AWS_DEFAULT_REGION"])
def test_with_credentials_and_a_region_the_account_is_read_from_sts(
    sts_on_moto: None, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    # Given credentials and a region in either variable the CDK CLI reads
    monkeypatch.setenv(variable, "eu-central-1")
    # When the check runs
    identity = check()
    # Then it names the account STS answered for, and the region
    assert (identity.account, identity.region) == ("123456789012", "eu-central-1")


def test_main_prints_the_account_and_exits_0_when_ready(
    sts_on_moto: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given credentials and a region
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    out, err = io.StringIO(), io.StringIO()
    # When the check's command runs, then it succeeds and says where a deploy would go
    assert main(out, err) == 0
    assert out.getvalue().startswith("AWS account 123456789012, eu-west-1, as arn:aws:")


def test_make_diff_without_credentials_stops_before_the_synth(no_aws: None) -> None:
    # Given no AWS configuration at all
    # When `make diff` runs
    ran = subprocess.run(
        ["make", "-s", "diff"],  # noqa: S607 - make from PATH, as a developer runs it
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Then it fails with what to set, and neither the CDK nor a synth ran
    assert ran.returncode != 0
    assert "not ready to deploy: no AWS region: set AWS_REGION" in ran.stderr
    assert "aws-cdk" not in ran.stdout + ran.stderr
    assert preflight.EXAMPLE in ran.stderr
