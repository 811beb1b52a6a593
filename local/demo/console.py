"""Readable terminal output for the local stack: one line per step, with its duration.

Colour only on a terminal (and never with ``NO_COLOR`` set), so that piped output, logs and
tests read plain text.

Every text the console prints passes through ``shown``: ids, assignee names, comments and
error messages come from webhooks and desks, and a newline in them would forge a line, an
escape sequence would drive the terminal, a bidi control would reorder what is read. ``shown``
writes those characters as escapes (``\\n``, ``\\u001b``, ``\\u202e``) and marks the result
as shown, so that the console's own colour codes, added afterwards, are the only raw ones.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO

from pandabridge.characters import escape_unshowable

_LABEL_WIDTH = 10

_RESET = "\033[0m"
_BOLD = "\033[1m"
_DIM = "\033[2m"
_RED = "\033[31m"
_GREEN = "\033[32m"
_YELLOW = "\033[33m"
_CYAN = "\033[36m"


def wants_colour(stream: TextIO) -> bool:
    """Colour for a terminal only: not when piped, nor with ``NO_COLOR`` set to anything but
    the empty string (https://no-color.org), nor on a ``dumb`` terminal."""
    isatty = getattr(stream, "isatty", None)
    return (
        bool(isatty and isatty())
        and not os.environ.get("NO_COLOR")
        and os.environ.get("TERM", "") != "dumb"
    )


class Shown(str):
    """Text that is safe on a terminal: escaped by ``shown``, coloured only by the console.

    Joining two with ``+`` or an f-string gives a plain ``str`` again, which ``shown`` escapes
    once more: a mistake shows escape codes as text, it never sends text raw.
    """


def shown(text: object) -> Shown:
    """``text`` as the terminal may show it: the one escaping every printed line goes through."""
    if isinstance(text, Shown):
        return text
    return Shown(escape_unshowable(str(text)))


# Named tones for what other modules colour (a status, a table cell).
TONES = {"good": _GREEN, "warn": _YELLOW, "bad": _RED, "dim": _DIM, "bold": _BOLD}
# A table cell: its text, or its text and the name of its tone.
Cell = str | tuple[str, str | None]


@dataclass
class Step:
    """What a step reports once it is done; set ``detail`` inside the ``with`` block."""

    detail: str = ""


class Console:
    """Prints steps, notes and the banner; flushes every line (the output is often piped)."""

    def __init__(self, stream: TextIO | None = None, *, colour: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.colour = wants_colour(self.stream) if colour is None else colour
        # Lines come from several threads (the pipe, the pollers, the desk): one at a time.
        self._lock = threading.Lock()

    def paint(self, text: str, *codes: str) -> Shown:
        """``text`` escaped, then in the colour of ``codes`` (on a colour terminal)."""
        text = shown(text)
        return Shown(f"{''.join(codes)}{text}{_RESET}") if self.colour and codes else text

    def join(self, *parts: str) -> Shown:
        """One piece of a line from parts that are shown already (painted) or not yet."""
        return Shown("".join(shown(part) for part in parts))

    def print(self, *lines: str) -> None:
        """Each of ``lines`` on a line of its own, shown (escaped) as one line."""
        with self._lock:
            print("\n".join(shown(line) for line in lines), file=self.stream, flush=True)

    def _line(self, mark: str, mark_colour: str, label: str, detail: str, note: str = "") -> None:
        parts = [
            "  ",
            self.paint(f"{mark:<5}", mark_colour, _BOLD),
            self.paint(f"{shown(label):<{_LABEL_WIDTH}}", _BOLD),
            " ",
            detail,
        ]
        if note:
            parts += ["  ", self.paint(f"({shown(note)})", _DIM)]
        self.print(self.join(*parts))

    def ok(self, label: str, detail: str, note: str = "") -> None:
        self._line("ok", _GREEN, label, detail, note)

    def warn(self, label: str, detail: str, note: str = "") -> None:
        self._line("!", _YELLOW, label, detail, note)

    def fail(self, label: str, detail: str, note: str = "") -> None:
        self._line("FAIL", _RED, label, detail, note)

    @contextmanager
    def step(self, label: str) -> Iterator[Step]:
        """Time the block; print one ``ok`` line when it ends, or a ``FAIL`` line and re-raise."""
        step = Step()
        started = time.monotonic()
        try:
            yield step
        except BaseException as exc:
            self.fail(label, str(exc) or type(exc).__name__, seconds_since(started))
            raise
        self.ok(label, step.detail, seconds_since(started))

    def banner(self, title: str, rows: Sequence[tuple[str, str]]) -> None:
        """A framed block of label/value rows; a row with an empty label continues the last."""
        rule = self.paint("-" * 78, _DIM)
        lines = ["", rule, self.join("  ", self.paint(title, _BOLD))]
        for label, value in rows:
            label_cell = self.paint(f"{shown(label):<{_LABEL_WIDTH}}", _BOLD)
            lines.append(self.join("  ", label_cell, value))
        lines += [rule, ""]
        self.print(*lines)

    def command(self, text: str) -> Shown:
        """A command meant to be copied."""
        return self.paint(text, _CYAN)

    def tone(self, text: str, name: str | None) -> Shown:
        """``text`` in one of ``TONES`` (as is without colour, or for ``None``)."""
        return self.paint(text, TONES[name]) if name else shown(text)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
        """Columns aligned on the shown text, so colour codes do not shift them."""
        cells = [
            [(shown(text), tone) for text, tone in (_cell(cell) for cell in row)] for row in rows
        ]
        heads = [shown(header) for header in headers]
        widths = [len(head) for head in heads]
        for row in cells:
            widths = [max(width, len(text)) for width, (text, _) in zip(widths, row, strict=True)]
        widths[-1] = 0  # the last column is not padded: no trailing blanks
        # Every column is shown already, so the joined line is too.
        lines = [
            Shown(
                "  ".join(self.paint(h.ljust(w), _BOLD) for h, w in zip(heads, widths, strict=True))
            )
        ]
        for row in cells:
            padded = (
                self.tone(text.ljust(width), tone)
                for (text, tone), width in zip(row, widths, strict=True)
            )
            lines.append(Shown("  ".join(padded)))
        self.print(*lines)


def _cell(cell: Cell) -> tuple[str, str | None]:
    return (cell, None) if isinstance(cell, str) else cell


def seconds_since(started: float) -> str:
    """A step's duration for its line, from a ``time.monotonic()`` reading."""
    return f"{time.monotonic() - started:.2f} s"


class _LineFormatter(logging.Formatter):
    """``HH:MM:SS  source  message``, the source being the logger's last name part."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self._console = console

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        source = record.name.rsplit(".", 1)[-1]
        message = shown(record.getMessage())
        if record.levelno >= logging.WARNING:
            colour = _RED if record.levelno >= logging.ERROR else _YELLOW
            message = self._console.paint(f"{record.levelname.lower()}: {message}", colour)
        source = f"{shown(source)} ".ljust(_LABEL_WIDTH - 2)
        text = self._console.join("  ", self._console.paint(stamp, _DIM), "  ", source, message)
        if record.exc_info:
            # A traceback keeps its lines; each is shown like any other.
            trace = self.formatException(record.exc_info).splitlines()
            text = "\n".join([text, *(shown(line) for line in trace)])
        return text


# Libraries whose per-request logging would drown the steps; they speak up on warnings only.
_NOISY_LOGGERS = ("werkzeug", "moto", "botocore", "boto3", "urllib3", "s3transfer")


def configure_logging(console: Console, level: str) -> None:
    """Send the local stack's own logs through ``console``; quiet the libraries."""
    handler = logging.StreamHandler(console.stream)
    handler.setFormatter(_LineFormatter(console))
    local = logging.getLogger("local")
    local.handlers[:] = [handler]
    local.setLevel(level)
    local.propagate = False
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
