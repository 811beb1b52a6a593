"""The BigPanda stand-in's one page: what the stack wrote to BigPanda, readable in a browser.

Resolves, comments, tags and assignments, newest first, as the Incidents API accepted them
(``BigPandaIncidentsApi.writes``): where the local stack shows the desk talking back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from typing import Final

from local.demo.desk_page import REFRESH_SECONDS
from local.fakes.bigpanda_api import Write

_STYLE: Final = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; }
th, td { text-align: left; padding: .3rem .8rem; border-bottom: 1px solid #ddd; }
th { background: #f4f4f4; }
.when { color: #777; font-family: monospace; }
"""


def _detail(write: Write) -> str:
    body = write.body
    if write.kind == "resolve":
        return str(body.get("comments") or "")
    if write.kind == "comment":
        return str(body.get("comment") or "")
    if write.kind == "tag":
        return f"{body.get('tag_id')} = {body.get('tag_value')}"
    return json.dumps(body)


def render(writes: Sequence[Write]) -> str:
    """The page for the stand-in's writes; it reloads itself to follow the stack."""
    rows = "".join(
        "<tr>"
        f'<td class="when">{datetime.fromtimestamp(w.at, UTC).astimezone():%H:%M:%S}</td>'
        f"<td>{escape(w.incident_id)}</td><td><b>{escape(w.kind)}</b></td>"
        f"<td>{escape(_detail(w))}</td></tr>"
        for w in reversed(writes)
    )
    header = "<tr><th>At</th><th>Incident</th><th>Write</th><th>What</th></tr>"
    body = (
        f"<table>{header}{rows}</table>"
        if writes
        else "<p>No writes yet: resolve or comment a ticket on the desk's page.</p>"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<meta http-equiv='refresh' content='{REFRESH_SECONDS}'>"
        f"<title>BigPanda stand-in</title><style>{_STYLE}</style></head><body>"
        "<h1>BigPanda stand-in: what the stack wrote</h1>"
        "<p><a href='/_fake/writes'>as JSON</a></p>"
        f"{body}</body></html>"
    )
