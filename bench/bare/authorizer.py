"""The bare authorizer: only the AWS client it needs (the token secret), created the ordinary
way. Its import time is the floor the real handler is held to."""

import boto3

secretsmanager = boto3.client("secretsmanager")
