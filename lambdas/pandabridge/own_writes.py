"""What write-back puts on a BigPanda incident, recognised when BigPanda sends it back.

With ``sendComments`` on, BigPanda delivers our own comment again in ``metadata.comment``; with
tag updates on, our ticket-link tag comes back as an update. Neither is news about the incident:
ingest leaves both out of the content hash that decides ``updated`` (so an echo of the same
version is a duplicate and queues nothing), and ticket sync leaves the link tag out of the
ticket it renders (so a newer version carrying it rewrites no field).

Every comment write-back writes starts with the ticket key in brackets (``[OPS-123] ...``,
``pandabridge.write_back``): that is how an echo is told apart here, without the echo ledger,
which ticket sync consults for the comment itself.
"""

from __future__ import annotations

import re
from typing import Any, Final

OWN_COMMENT: Final = re.compile(r"^\[[^\]\s]{1,64}\] ")


def is_own_comment(text: str | None) -> bool:
    return bool(text) and OWN_COMMENT.match(text or "") is not None


def without_own_writes(document: dict[str, Any], link_tag: str | None) -> dict[str, Any]:
    """``document`` (a webhook body) without our link tag and our own ``metadata.comment``;
    the same object when it carries neither. The input is never changed."""
    result = document
    tags = document.get("incidentTags")
    if link_tag and isinstance(tags, list):
        kept = [t for t in tags if not (isinstance(t, dict) and t.get("id") == link_tag)]
        if len(kept) != len(tags):
            result = {**result, "incidentTags": kept}
    metadata = document.get("metadata")
    if isinstance(metadata, dict):
        comment = metadata.get("comment")
        text = comment.get("comment") if isinstance(comment, dict) else comment
        if isinstance(text, str) and is_own_comment(text):
            result = {**result, "metadata": {k: v for k, v in metadata.items() if k != "comment"}}
    return result
