"""The demo service desk's one page: its tickets and their history, readable in a browser."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any, Final
from urllib.parse import quote

REFRESH_SECONDS: Final = 3

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin-bottom: 2rem; }
th, td { text-align: left; padding: .3rem .8rem; border-bottom: 1px solid #ddd; }
th { background: #f4f4f4; }
.open { color: #b35c00; font-weight: bold; }
.resolved { color: #2e7d32; }
.when { color: #777; font-family: monospace; }
h3 { margin-bottom: .2rem; }
ul { margin-top: 0; }
"""


def _time(iso: str) -> str:
    """Local HH:MM:SS of a UTC timestamp, as the console prints its lines."""
    return datetime.fromisoformat(iso).astimezone().strftime("%H:%M:%S")


def _actions(ticket: Mapping[str, Any]) -> str:
    """An agent's buttons: resolve the ticket, or comment on it; the desk tells the stack."""
    base = f"/_desk/tickets/{quote(str(ticket['id']), safe='')}"
    resolve = (
        f'<form method="post" action="{escape(base)}/resolve" style="display:inline">'
        '<button type="submit">resolve</button></form>'
        if ticket["status"] != "resolved"
        else ""
    )
    comment = (
        f'<form method="post" action="{escape(base)}/comment" style="display:inline">'
        '<input name="text" placeholder="comment as Dana Levi" required> '
        '<button type="submit">comment</button></form>'
    )
    return f"{resolve} {comment}"


def _row(ticket: Mapping[str, Any], *, actions: bool) -> str:
    cells = [
        f'<a href="#{escape(ticket["id"])}">{escape(ticket["id"])}</a>',
        escape(ticket["incident_id"]),
        escape(ticket["title"]),
        escape(ticket["priority"]),
        f'<span class="{escape(ticket["status"])}">{escape(ticket["status"])}</span>',
        str(len(ticket["comments"])),
        f'<span class="when">{escape(_time(ticket["updated_at"]))}</span>',
    ]
    if actions:
        cells.append(_actions(ticket))
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _history(ticket: Mapping[str, Any]) -> str:
    entries = "".join(
        f'<li><span class="when">{escape(_time(change["at"]))}</span> '
        f"<b>{escape(change['kind'])}</b> {escape(change['detail'])}</li>"
        for change in ticket["history"]
    )
    title = f"{ticket['id']} · {ticket['title']}"
    return f'<h3 id="{escape(ticket["id"])}">{escape(title)}</h3><ul>{entries}</ul>'


def render(tickets: Sequence[Mapping[str, Any]], *, actions: bool = False) -> str:
    """The page for ``TicketBook.records()``; it reloads itself to follow the pipeline. With
    ``actions``, each ticket has an agent's resolve and comment buttons."""
    columns = ["Ticket", "Incident", "Title", "Priority", "Status", "Comments", "Updated"]
    header = "".join(f"<th>{name}</th>" for name in [*columns, *(["Agent"] if actions else [])])
    rows = "".join(_row(ticket, actions=actions) for ticket in reversed(tickets))
    body = (
        f"<table><tr>{header}</tr>{rows}</table><h2>History</h2>"
        + "".join(_history(ticket) for ticket in reversed(tickets))
        if tickets
        else "<p>No tickets yet: post a webhook and watch this page.</p>"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<meta http-equiv='refresh' content='{REFRESH_SECONDS}'>"
        f"<title>Demo service desk</title><style>{_STYLE}</style></head><body>"
        "<h1>Demo service desk</h1>"
        f"<p>{len(tickets)} ticket{'' if len(tickets) == 1 else 's'}; "
        f"this page reloads every {REFRESH_SECONDS} s; "
        "<a href='/_desk/tickets'>as JSON</a></p>"
        f"{body}</body></html>"
    )
