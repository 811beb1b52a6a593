"""Readable terminal output for the local stack: one line per step, with its duration.

Colour only on a terminal (and never with ``NO_COLOR`` set), so that piped output, logs and
tests read plain text.
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

    def paint(self, text: str, *codes: str) -> str:
        return f"{''.join(codes)}{text}{_RESET}" if self.colour and codes else text

    def _line(self, mark: str, mark_colour: str, label: str, detail: str, note: str = "") -> None:
        parts = [
            "  ",
            self.paint(f"{mark:<5}", mark_colour, _BOLD),
            self.paint(f"{label:<{_LABEL_WIDTH}}", _BOLD),
            " ",
            detail,
        ]
        if note:
            parts += ["  ", self.paint(f"({note})", _DIM)]
        with self._lock:
            print("".join(parts), file=self.stream, flush=True)

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
        lines = ["", rule, f"  {self.paint(title, _BOLD)}"]
        for label, value in rows:
            lines.append(f"  {self.paint(f'{label:<{_LABEL_WIDTH}}', _BOLD)}{value}")
        lines += [rule, ""]
        with self._lock:
            print("\n".join(lines), file=self.stream, flush=True)

    def command(self, text: str) -> str:
        """A command meant to be copied."""
        return self.paint(text, _CYAN)

    def tone(self, text: str, name: str | None) -> str:
        """``text`` in one of ``TONES`` (as is without colour, or for ``None``)."""
        return self.paint(text, TONES[name]) if name else text

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> None:
        """Columns aligned on the plain text, so colour codes do not shift them."""
        cells = [[(cell, None) if isinstance(cell, str) else cell for cell in row] for row in rows]
        widths = [len(header) for header in headers]
        for row in cells:
            widths = [max(width, len(text)) for width, (text, _) in zip(widths, row, strict=True)]
        widths[-1] = 0  # the last column is not padded: no trailing blanks
        lines = [
            "  ".join(self.paint(h.ljust(w), _BOLD) for h, w in zip(headers, widths, strict=True))
        ]
        for row in cells:
            padded = [
                self.tone(text.ljust(width), tone)
                for (text, tone), width in zip(row, widths, strict=True)
            ]
            lines.append("  ".join(padded))
        with self._lock:
            print("\n".join(lines), file=self.stream, flush=True)


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
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            colour = _RED if record.levelno >= logging.ERROR else _YELLOW
            message = self._console.paint(f"{record.levelname.lower()}: {message}", colour)
        source = f"{source} ".ljust(_LABEL_WIDTH - 2)
        text = f"  {self._console.paint(stamp, _DIM)}  {source}{message}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
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
