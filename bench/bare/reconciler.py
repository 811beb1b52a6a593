"""The bare reconciler function: only the AWS clients it needs (the incidents and control
tables, the payload bucket, the BigPanda key secret), created the ordinary way. Its import time
is the floor the real handler is held to."""

import boto3

dynamodb = boto3.client("dynamodb")
s3 = boto3.client("s3")
secretsmanager = boto3.client("secretsmanager")
