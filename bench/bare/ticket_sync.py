"""The bare ticket-sync function: only the AWS clients it needs (incidents and ticket state in
DynamoDB, archived payloads in S3, the queues, the target's credentials), created the ordinary
way. Its import time is the floor the real handler is held to."""

import boto3

dynamodb = boto3.client("dynamodb")
s3 = boto3.client("s3")
sqs = boto3.client("sqs")
secretsmanager = boto3.client("secretsmanager")
