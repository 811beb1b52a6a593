"""The bare callback function: only the AWS clients it needs (ticket state, the queue it
changes visibility on or dead-letters to, BigPanda's API key), created the ordinary way. Its
import time is the floor the real handler is held to."""

import boto3

dynamodb = boto3.client("dynamodb")
sqs = boto3.client("sqs")
secretsmanager = boto3.client("secretsmanager")
