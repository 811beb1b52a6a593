"""Progress of a long operation: one updating line on a terminal, plain lines otherwise.

A log file or CI output full of carriage returns is unreadable, so the updating display is
used only when the stream is a TTY; elsewhere each change is its own line.
"""

from __future__ import annotations

from typing import TextIO


class Progress:
    """Reports ``done/total`` under a label, e.g. ``redrive ticket-sync: 3/10 moved``."""

    def __init__(self, out: TextIO, label: str, *, unit: str, tty: bool | None = None) -> None:
        self._out = out
        self._label = label
        self._unit = unit
        self._tty = out.isatty() if tty is None else tty
        self._last = ""
        self._open_line = False

    def update(self, done: int, total: int | None) -> None:
        line = f"{self._label}: {done}/{total if total is not None else '?'} {self._unit}"
        if line == self._last:
            return
        self._last = line
        if self._tty:
            # Return to the line start and clear it, so a shorter line leaves no tail behind.
            self._out.write(f"\r\x1b[K{line}")
            self._open_line = True
        else:
            self._out.write(f"{line}\n")
        self._out.flush()

    def note(self, text: str) -> None:
        """A line of its own (a failure, say) that must not be overwritten by the next update."""
        self._end_line()
        self._out.write(f"{text}\n")
        self._out.flush()

    def finish(self) -> None:
        self._end_line()

    def _end_line(self) -> None:
        if self._open_line:
            self._out.write("\n")
            self._open_line = False
            self._last = ""
