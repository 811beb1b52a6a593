"""``make deploy`` and ``make diff`` check AWS credentials and a region before the CDK runs.

Without them the CDK CLI synthesizes the whole app first and then fails with its generic
"Unable to resolve AWS account"; this check says at once what to set. The region comes from
``AWS_REGION``, ``AWS_DEFAULT_REGION`` or the profile, as the CDK CLI reads it; the account
from STS's ``GetCallerIdentity``, which needs no permission.

Exit status: 0 ready (the account, region and identity are printed), 1 not ready.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, TextIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

REGION_VARIABLES: Final = ("AWS_REGION", "AWS_DEFAULT_REGION")
_STS_CONFIG: Final = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=5)
SET_CREDENTIALS: Final = (
    "set AWS_PROFILE to a profile of ~/.aws/config (`aws configure sso --profile NAME` or "
    "`aws configure --profile NAME` creates one; `aws sso login --profile NAME` renews it), "
    "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)
SET_REGION: Final = "set AWS_REGION, or a region in the profile that AWS_PROFILE names"
EXAMPLE: Final = "for example: AWS_PROFILE=dev AWS_REGION=eu-west-1 make deploy"


class NotReadyError(Exception):
    """No usable credentials or no region: the message names what to set."""


@dataclass(frozen=True)
class Identity:
    account: str
    region: str
    arn: str


def region_of(session: boto3.session.Session, environ: Mapping[str, str]) -> str | None:
    """The region the CDK CLI would deploy to: the environment's, else the profile's."""
    for name in REGION_VARIABLES:
        if environ.get(name):
            return environ[name]
    return session.region_name


def check(environ: Mapping[str, str] | None = None) -> Identity:
    """The account, region and caller that a deploy would use; :class:`NotReadyError` if none."""
    environ = os.environ if environ is None else environ
    profile = environ.get("AWS_PROFILE") or None
    try:
        session = boto3.session.Session(profile_name=profile)
    except BotoCoreError as error:  # e.g. the profile does not exist
        raise NotReadyError(f"AWS_PROFILE={profile}: {error}; {SET_CREDENTIALS}") from None
    region = region_of(session, environ)
    if not region:
        raise NotReadyError(f"no AWS region: {SET_REGION}; {EXAMPLE}")
    if session.get_credentials() is None:
        raise NotReadyError(f"no AWS credentials: {SET_CREDENTIALS}; {EXAMPLE}")
    sts = session.client("sts", region_name=region, config=_STS_CONFIG)
    try:
        caller = sts.get_caller_identity()
    except (BotoCoreError, ClientError) as error:
        where = f"AWS_PROFILE={profile}" if profile else "the default credentials"
        raise NotReadyError(f"{where} did not work ({error}); {SET_CREDENTIALS}") from None
    return Identity(str(caller["Account"]), region, str(caller["Arn"]))


def main(out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        identity = check()
    except NotReadyError as error:
        print(f"not ready to deploy: {error}", file=err)
        return 1
    print(f"AWS account {identity.account}, {identity.region}, as {identity.arn}", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
