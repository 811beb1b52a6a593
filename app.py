#!/usr/bin/env python3
"""CDK entry point: ``cdk synth`` / ``cdk deploy`` run this (see ``cdk.json``)."""

import sys

from stacks.application import build_app
from stacks.config import ConfigurationError

if __name__ == "__main__":
    try:
        app, _ = build_app()
    except ConfigurationError as error:
        # A context mistake is the operator's to fix: the message, not a traceback.
        sys.exit(f"error: {error}")
    app.synth()
