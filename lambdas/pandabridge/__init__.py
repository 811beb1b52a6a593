"""Shared code of the BigPanda webhook receiver: models, versioning, stores and settings.

Domain modules never import boto3; only the modules under ``pandabridge.stores`` talk to AWS.
"""
