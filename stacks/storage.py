"""Where accepted deliveries and their tickets live: the incidents table, the raw-payload
archive and the tickets table; and the control table of small coordination items.

The first two are the system of record (BigPanda documents no retries), and the tickets table
is what stops a retry from opening a second ticket, so all are protected against loss by
default: point-in-time recovery, deletion protection and a ``retain`` removal policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from aws_cdk import CfnElement, Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from pandabridge.names import (
    CONTROL_TABLE,
    INCIDENTS_TABLE,
    PAYLOAD_BUCKET,
    TICKETS_BY_TICKET_ID,
    TICKETS_TABLE,
    TableSpec,
)
from pandabridge.rate_limit import RATE_LIMIT_PREFIX
from pandabridge.stores.tickets import CALLBACK_CONFIRMED_AT
from stacks.checks import acknowledge
from stacks.config import StackSettings

# Parts of a multipart upload that never completed cost storage and are never read.
_ABORT_INCOMPLETE_UPLOADS_AFTER = Duration.days(1)

# What a reader of a DynamoDB stream calls: find the shards, iterate them, read the records.
STREAM_READ_ACTIONS = (
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
)
# Ticket sync reads a ticket's state and writes it back under an optimistic lock.
TICKET_STATE_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
# The only attributes of a ticket item that the callback function may name in a request: the
# key (DynamoDB counts it among a request's attributes) and the one attribute it owns.
CALLBACK_ATTRIBUTES = (TICKETS_TABLE.partition_key, CALLBACK_CONFIRMED_AT)
# What an update may return: nothing, or only the attributes it updated (which are the allowed
# ones); ALL_OLD and ALL_NEW would return the whole item.
CALLBACK_RETURN_VALUES = ("NONE", "UPDATED_OLD", "UPDATED_NEW")


class IncidentStorage(Construct):
    """The incidents table, the payload bucket, the bucket for the latter's access logs, and
    the tickets table.

    The grants are methods here so that the construct that owns a resource decides how narrow
    access to it is; callers cannot ask for more than the item, object or stream calls that
    each grant names.
    """

    def __init__(self, scope: Construct, construct_id: str, *, settings: StackSettings) -> None:
        super().__init__(scope, construct_id)
        self.table = self._table("IncidentsTable", INCIDENTS_TABLE, settings)
        self.access_log_bucket = self._access_log_bucket(settings)
        self.payload_bucket = self._payload_bucket(settings)
        # Apart from the incidents so that ticket sync's writes never reach the incidents
        # stream and trigger another sync.
        self.tickets_table = self._table("TicketsTable", TICKETS_TABLE, settings)
        # Rate-limit windows, stored desk events, echo ledgers, watermarks: each owner keeps
        # its items under its own ``pk`` prefix and is granted that prefix only
        # (``grant_control_items``).
        self.control_table = self._table("ControlTable", CONTROL_TABLE, settings)
        # A desk event names its ticket; this index finds the ticket's incident.
        self.tickets_table.add_global_secondary_index(
            index_name=TICKETS_BY_TICKET_ID.name,
            partition_key=dynamodb.Attribute(
                name=TICKETS_BY_TICKET_ID.partition_key, type=dynamodb.AttributeType.STRING
            ),
            projection_type=dynamodb.ProjectionType.INCLUDE,
            non_key_attributes=list(TICKETS_BY_TICKET_ID.projected),
        )

    def grant_put_incident(self, grantee: iam.IGrantable) -> iam.Grant:
        """The one conditional ``PutItem`` per delivery; it reads the old item from its answer."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["dynamodb:PutItem"], resource_arns=[self.table.table_arn]
        )

    def grant_read_incident(self, grantee: iam.IGrantable) -> iam.Grant:
        """Reading one incident's latest state by its key; no scans, queries or writes."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["dynamodb:GetItem"], resource_arns=[self.table.table_arn]
        )

    def grant_read_incident_stream(self, grantee: iam.IGrantable) -> iam.Grant:
        """Reading the incidents table's stream, and no other stream nor the table itself."""
        stream_arn = self.table.table_stream_arn
        if stream_arn is None:
            raise ValueError("the incidents table has no stream: its TableSpec must name a view")
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(STREAM_READ_ACTIONS), resource_arns=[stream_arn]
        )

    def grant_track_tickets(self, grantee: iam.IGrantable) -> iam.Grant:
        """Reading and writing ticket state items by key; no scans, queries or deletes."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(TICKET_STATE_ACTIONS),
            resource_arns=[self.tickets_table.table_arn],
        )

    def grant_find_ticket_incidents(self, grantee: iam.IGrantable) -> iam.Grant:
        """Which incident a ticket belongs to: ``GetItem`` of the attributes that tie a ticket
        to its incident only (``dynamodb:Attributes``), and ``Query`` of the index by ticket
        id, which projects no others. No writes, no scans."""
        attributes = [
            TICKETS_TABLE.partition_key,
            TICKETS_BY_TICKET_ID.partition_key,
            *TICKETS_BY_TICKET_ID.projected,
        ]
        read = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["dynamodb:GetItem"],
            resource_arns=[self.tickets_table.table_arn],
            conditions={
                "ForAllValues:StringEquals": {"dynamodb:Attributes": attributes},
                "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"},
            },
        )
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["dynamodb:Query"],
            resource_arns=[f"{self.tickets_table.table_arn}/index/{TICKETS_BY_TICKET_ID.name}"],
        )
        return read

    def grant_read_callback_confirmation(self, grantee: iam.IGrantable) -> iam.Grant:
        """Reading whether an incident's callback was confirmed, and nothing else of its item.

        ``GetItem`` is allowed only while every top-level attribute the request names is the
        key or ``callback_confirmed_at`` (``ForAllValues:StringEquals`` on
        ``dynamodb:Attributes``), and ``dynamodb:Select``, where a request sets it, asks for
        the projected attributes only; so a read projects ``callback_confirmed_at`` instead of
        returning the ticket state.
        """
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["dynamodb:GetItem"],
            resource_arns=[self.tickets_table.table_arn],
            conditions={
                "ForAllValues:StringEquals": {"dynamodb:Attributes": list(CALLBACK_ATTRIBUTES)},
                "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"},
            },
        )

    def grant_confirm_callback(self, grantee: iam.IGrantable) -> iam.Grant:
        """Recording that BigPanda confirmed an incident's callback, and writing nothing else.

        ``UpdateItem`` is allowed only while every top-level attribute the request names (in
        its key, update and condition expressions) is the key or ``callback_confirmed_at``
        (``ForAllValues:StringEquals`` on ``dynamodb:Attributes``; the key must be listed, or
        no request could pass). So the callback function cannot touch the ticket state that
        ticket sync owns and guards with its revision, and, with no ``PutItem``, cannot replace
        the item. ``dynamodb:ReturnValues``, where a request sets it, returns at most the
        updated attributes.
        """
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["dynamodb:UpdateItem"],
            resource_arns=[self.tickets_table.table_arn],
            conditions={
                "ForAllValues:StringEquals": {"dynamodb:Attributes": list(CALLBACK_ATTRIBUTES)},
                "StringEqualsIfExists": {"dynamodb:ReturnValues": list(CALLBACK_RETURN_VALUES)},
            },
        )

    def grant_control_items(
        self, grantee: iam.IGrantable, *, prefix: str, actions: Sequence[str]
    ) -> iam.Grant:
        """``actions`` on the control table's items whose partition key starts with ``prefix``.

        ``dynamodb:LeadingKeys`` holds every partition key a request names, so a function can
        neither read nor write another owner's items; a ``Query`` is held to the prefix too.
        """
        if not prefix or "*" in prefix or "?" in prefix:
            raise ValueError(f"a control-table prefix is literal and not empty, not {prefix!r}")
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(actions),
            resource_arns=[self.control_table.table_arn],
            conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{prefix}*"]}},
        )

    def grant_rate_limit(self, grantee: iam.IGrantable) -> iam.Grant:
        """Taking slots of the BigPanda rate-limit windows: one conditional ``UpdateItem`` on
        ``ratelimit#`` items, and nothing else of the control table."""
        return self.grant_control_items(
            grantee, prefix=RATE_LIMIT_PREFIX, actions=["dynamodb:UpdateItem"]
        )

    def grant_archive_payload(self, grantee: iam.IGrantable) -> iam.Grant:
        """Writing raw payloads under the archive prefix, and nowhere else in the bucket."""
        return self._grant_on_archive(
            grantee,
            "s3:PutObject",
            "Object keys are made of each delivery's incident id and content hash, unknown "
            "in advance; the wildcard covers only the archive prefix and only s3:PutObject.",
        )

    def grant_read_archived_payload(self, grantee: iam.IGrantable) -> iam.Grant:
        """Reading raw payloads under the archive prefix, and nowhere else in the bucket."""
        return self._grant_on_archive(
            grantee,
            "s3:GetObject",
            "The key of the payload to read is the one stored in the incident item, known only "
            "at run time; the wildcard covers only the archive prefix and only s3:GetObject.",
        )

    def _grant_on_archive(self, grantee: iam.IGrantable, action: str, reason: str) -> iam.Grant:
        """One object action on the archive prefix, with the wildcard finding acknowledged."""
        objects = f"{PAYLOAD_BUCKET.key_prefix}*"
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=[action],
            resource_arns=[self.payload_bucket.arn_for_objects(objects)],
        )
        principal = grantee.grant_principal
        if isinstance(principal, Construct):
            bucket_resource = cast(CfnElement, self.payload_bucket.node.default_child)
            bucket = Stack.of(self).get_logical_id(bucket_resource)
            acknowledge(principal, f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/{objects}]", reason)
        return grant

    def _table(self, construct_id: str, spec: TableSpec, settings: StackSettings) -> dynamodb.Table:
        """An on-demand table keyed as its shared spec says, recoverable and protected."""
        view = spec.stream_view_type
        return dynamodb.Table(
            self,
            construct_id,
            partition_key=dynamodb.Attribute(
                name=spec.partition_key, type=dynamodb.AttributeType.STRING
            ),
            sort_key=(
                dynamodb.Attribute(name=spec.sort_key, type=dynamodb.AttributeType.STRING)
                if spec.sort_key
                else None
            ),
            time_to_live_attribute=spec.ttl_attribute,
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
