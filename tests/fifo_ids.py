"""Incident ids that SQS would not take as FIFO ids, and SQS's rule, written out on its own."""

from __future__ import annotations

import re

# SQS's rule for MessageGroupId and MessageDeduplicationId: 1 to 128 characters, "!" to "~".
SQS_FIFO_ID = re.compile(r"[!-~]{1,128}")

# Ingest accepts ids of up to 256 characters of any text; these break or test SQS's rule.
HARD_IDS = {
    "256-characters": "x" * 256,
    "space": "incident 1",
    "cjk": "事件-1",
    "emoji": "🔥-incident",
    "dot-dot": "..",
}
