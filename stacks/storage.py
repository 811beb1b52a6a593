"""Where accepted deliveries live: the incidents table and the raw-payload archive.

Both are the system of record (BigPanda documents no retries), so they are protected against
loss by default: point-in-time recovery, deletion protection and a ``retain`` removal policy.
"""

from __future__ import annotations

from typing import Any, cast

from aws_cdk import CfnElement, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from pandabridge.names import INCIDENTS_TABLE, PAYLOAD_BUCKET
from stacks.checks import acknowledge
from stacks.config import StackSettings

# Parts of a multipart upload that never completed cost storage and are never read.
_ABORT_INCOMPLETE_UPLOADS_AFTER = Duration.days(1)


class IncidentStorage(Construct):
    """The incidents table, the payload bucket and the bucket for the latter's access logs.

    The grants are methods here so that the construct that owns a resource decides how narrow
    access to it is; callers cannot ask for more than a write of one item or one object.
    """

    def __init__(self, scope: Construct, construct_id: str, *, settings: StackSettings) -> None:
        super().__init__(scope, construct_id)
        self.table = self._incidents_table(settings)
        self.access_log_bucket = self._access_log_bucket(settings)
        self.payload_bucket = self._payload_bucket(settings)

    def grant_put_incident(self, grantee: iam.IGrantable) -> iam.Grant:
        """The one conditional ``PutItem`` per delivery; it reads the old item from its answer."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["dynamodb:PutItem"], resource_arns=[self.table.table_arn]
        )

    def grant_archive_payload(self, grantee: iam.IGrantable) -> iam.Grant:
        """Writing raw payloads under the archive prefix, and nowhere else in the bucket."""
        objects = f"{PAYLOAD_BUCKET.key_prefix}*"
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:PutObject"],
            resource_arns=[self.payload_bucket.arn_for_objects(objects)],
        )
        principal = grantee.grant_principal
        if isinstance(principal, Construct):
            bucket_resource = cast(CfnElement, self.payload_bucket.node.default_child)
            bucket = Stack.of(self).get_logical_id(bucket_resource)
            acknowledge(
                principal,
                f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/{objects}]",
                "Object keys are made of each delivery's incident id and content hash, unknown "
                "in advance; the wildcard covers only the archive prefix and only s3:PutObject.",
            )
        return grant

    def _incidents_table(self, settings: StackSettings) -> dynamodb.Table:
        view = INCIDENTS_TABLE.stream_view_type
        return dynamodb.Table(
            self,
            "IncidentsTable",
            partition_key=dynamodb.Attribute(
                name=INCIDENTS_TABLE.partition_key, type=dynamodb.AttributeType.STRING
            ),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            stream=dynamodb.StreamViewType[view] if view else None,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            deletion_protection=settings.table_deletion_protection,
            removal_policy=settings.cdk_removal_policy,
        )

    def _secure_bucket(self, construct_id: str, settings: StackSettings, **props: Any) -> s3.Bucket:
        """A bucket with the baseline both share: SSE-S3, private, owner-enforced, TLS 1.2+.

        SSE-S3 because S3 delivers server access logs only to SSE-S3 buckets, and it leaves no
        key policy to manage nor KMS permissions to grant the writers.
        """
        return s3.Bucket(
            self,
            construct_id,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            removal_policy=settings.cdk_removal_policy,
            auto_delete_objects=settings.destroy_on_removal,
            **props,
        )

    def _access_log_bucket(self, settings: StackSettings) -> s3.Bucket:
        bucket = self._secure_bucket(
            "AccessLogBucket",
            settings,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireAccessLogs",
                    expiration=Duration.days(settings.log_retention_days),
                )
            ],
        )
        acknowledge(
            cast(CfnElement, bucket.node.default_child),
            "AwsSolutions-S1",
            "This bucket is the target of the payload bucket's server access logs; logging it "
            "as well would only record the log deliveries themselves.",
        )
        return bucket

    def _payload_bucket(self, settings: StackSettings) -> s3.Bucket:
        return self._secure_bucket(
            "PayloadBucket",
            settings,
            # A key includes the content hash: a rewrite stores the same bytes, so versions of
            # an object would all be identical.
            versioned=False,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="payload-bucket/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireArchivedPayloads",
                    prefix=PAYLOAD_BUCKET.key_prefix,
                    expiration=Duration.days(settings.payload_archive_expiry_days),
                ),
                s3.LifecycleRule(
                    id="AbortIncompleteUploads",
                    abort_incomplete_multipart_upload_after=_ABORT_INCOMPLETE_UPLOADS_AFTER,
                ),
            ],
        )
