"""Progress output: one updating line on a terminal, plain lines elsewhere."""

from __future__ import annotations

import io

from ops.progress import Progress


def _report(*, tty: bool) -> str:
    out = io.StringIO()
    progress = Progress(out, "redrive callback", unit="moved", tty=tty)
    for done in (1, 2, 2, 3):
        progress.update(done, 3)
    progress.finish()
    return out.getvalue()


def test_plain_output_has_one_line_per_change() -> None:
    # When
    text = _report(tty=False)

    # Then
    assert text.splitlines() == [
        "redrive callback: 1/3 moved",
        "redrive callback: 2/3 moved",
        "redrive callback: 3/3 moved",
    ]


def test_a_terminal_gets_one_line_rewritten_in_place() -> None:
    # When
    text = _report(tty=True)

    # Then
    assert text.count("\n") == 1
    assert text.endswith("\r\x1b[Kredrive callback: 3/3 moved\n")


def test_a_note_on_a_terminal_does_not_overwrite_the_progress_line() -> None:
    # Given
    out = io.StringIO()
    progress = Progress(out, "redrive callback", unit="moved", tty=True)
    progress.update(1, 3)

    # When
    progress.note("failed m-1 (group g): AccessDenied")

    # Then
    assert out.getvalue() == (
        "\r\x1b[Kredrive callback: 1/3 moved\nfailed m-1 (group g): AccessDenied\n"
    )
