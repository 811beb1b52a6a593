"""The bare desk-events function: only the AWS clients it needs (the control and tickets
tables, the ticket-sync queue, the events secret), created the ordinary way. Its import time
is the floor the real handler is held to."""

import boto3

dynamodb = boto3.client("dynamodb")
sqs = boto3.client("sqs")
secretsmanager = boto3.client("secretsmanager")
