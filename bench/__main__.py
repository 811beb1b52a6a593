"""``python -m bench`` (``make bench``): run the benchmarks, print their tables, write the file.

Each benchmark is a module of this package with ``run(*, quick: bool = False) -> list[Table]``.
They run one after the other, never at once, since each one's numbers would include the
others' load; each one's tables are printed as soon as it finishes, so a long run shows
progress. A module that cannot be imported or that fails is named with its error, the others
still run, and the exit status is 1.

BENCHMARKS.md keeps one section per benchmark between markers. A run rewrites the header and
the sections of the benchmarks it ran, and keeps every other section as it was (each section
says when and on what it was measured), so running a subset never drops the rest.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from bench.machine import Machine, describe
from bench.report import Table

# The order they run in: the cheap, isolated measurements first, the whole-stack ones last.
BENCHMARKS: Final = ("cold_start", "ingest_cost", "storage_cost", "latency", "cost_model")
REPO_ROOT: Final = Path(__file__).resolve().parents[1]
OUTPUT: Final = REPO_ROOT / "BENCHMARKS.md"
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
_SECTION: Final = re.compile(
    r"<!-- bench:(?P<name>[a-z_]+) -->\n(?P<body>.*?)<!-- /bench:(?P=name) -->", re.DOTALL
)

Runner = Callable[..., list[Table]]
Loader = Callable[[str], Runner]


@dataclass
class Outcome:
    """One benchmark's result: its tables, or why it has none."""

    name: str
    tables: list[Table] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=(
            "Run the benchmarks in turn, print each one's tables as it finishes, and write "
            "BENCHMARKS.md. Run it on a quiet machine: other load shows in every number."
        ),
        epilog=(
            "BENCHMARKS.md holds one section per benchmark. Writing replaces the header and the "
            "sections of the benchmarks that ran (and succeeded) and keeps the other sections "
            "as they were, each with the date and machine it was measured on, so a subset never "
            "drops the rest. Exit status 1 if any benchmark is missing or fails."
        ),
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run (default: all, in this order: {', '.join(BENCHMARKS)})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few iterations and seconds each: a smoke check, not numbers to publish",
    )
    writing = parser.add_mutually_exclusive_group()
    writing.add_argument(
        "--write",
        dest="write",
        action="store_true",
        default=None,
        help="write BENCHMARKS.md (the default, except with --quick)",
    )
    writing.add_argument(
        "--no-write", dest="write", action="store_false", help="only print the tables"
    )
    parser.add_argument(
        "--output", type=Path, default=OUTPUT, help=f"the file to write (default {OUTPUT.name})"
    )
    args = parser.parse_args(argv)
    names = [name.removeprefix("bench.") for name in args.names]
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {BENCHMARKS}")
    args.names = [name for name in BENCHMARKS if name in names] if names else list(BENCHMARKS)
    if args.write is None:
        args.write = not args.quick
    return args


def load(name: str) -> Runner:
    """The benchmark's ``run``; raises ``ImportError`` or ``TypeError`` naming what is wrong."""
    module = importlib.import_module(f"bench.{name}")
    run = getattr(module, "run", None)
    if not callable(run):
        raise TypeError(f"bench.{name} has no run(*, quick=False) function")
    return run  # type: ignore[no-any-return]


def run_one(name: str, *, quick: bool, loader: Loader = load) -> Outcome:
    """Run one benchmark; any failure becomes the outcome's error, with the traceback on
    stderr, so one broken benchmark does not hide the others' numbers."""
    started = time.monotonic()
    try:
        tables = loader(name)(quick=quick)
        if not isinstance(tables, list) or not all(isinstance(t, Table) for t in tables):
            raise TypeError(f"bench.{name}.run returned {type(tables).__name__}, not list[Table]")
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # also pytest.fail's, raised by the local stack harness's waits
        traceback.print_exc(file=sys.stderr)
        error = f"{type(exc).__name__}: {exc}"
        return Outcome(name, error=error, seconds=time.monotonic() - started)
    return Outcome(name, tables, seconds=time.monotonic() - started)


def section(outcome: Outcome, machine: Machine, *, quick: bool) -> str:
    """One benchmark's part of BENCHMARKS.md, saying when and on what it was measured."""
    when = machine.when.isoformat(timespec="minutes").replace("+00:00", "Z")
    mode = ", `--quick`" if quick else ""
    lines = [
        f"<!-- bench:{outcome.name} -->",
        f"# `bench.{outcome.name}`",
        "",
        f"Measured {when}{mode} on {machine.cpu}, {machine.cores} cores, in "
        f"{outcome.seconds:.0f} s.",
        "",
    ]
    for table in outcome.tables:
        lines += [table.markdown(), ""]
    lines.append(f"<!-- /bench:{outcome.name} -->")
    return "\n".join(lines)


def header(machine: Machine, ran: Sequence[str], *, quick: bool) -> str:
    lines = [
        "# Benchmarks",
        "",
        'Reproduce with `make bench` (all of them) or `make bench ARGS="latency cost_model"` '
        "(some); `.venv/bin/python -m bench --help` lists the options. Numbers from a shared "
        "or busy machine are noisy: compare runs from the same quiet machine only.",
        "",
        f"Last run: {', '.join(ran)}{' (`--quick`)' if quick else ''}, on this machine:",
        "",
        *(f"- {line}" for line in machine.lines()),
        "",
    ]
    return "\n".join(lines)


def existing_sections(text: str) -> dict[str, str]:
    """The sections of a previous BENCHMARKS.md, by benchmark name, markers included."""
    return {match["name"]: match.group(0) for match in _SECTION.finditer(text)}


def compose(
    machine: Machine,
    outcomes: Sequence[Outcome],
    previous: Mapping[str, str],
    *,
    quick: bool,
) -> str:
    """The new BENCHMARKS.md: fresh sections for the benchmarks that succeeded, the previous
    text for every other one, in the benchmarks' order."""
    fresh = {o.name: section(o, machine, quick=quick) for o in outcomes if o.error is None}
    ran = [o.name for o in outcomes if o.error is None]
    parts = [header(machine, ran, quick=quick)]
    for name in BENCHMARKS:
        text = fresh.get(name) or previous.get(name)
        if text:
            parts += [text, ""]
    return "\n".join(parts)


def write(path: Path, machine: Machine, outcomes: Sequence[Outcome], *, quick: bool) -> list[str]:
    """Write ``path``; returns the names of the sections kept from the previous file."""
    previous = existing_sections(path.read_text(encoding="utf-8")) if path.exists() else {}
    path.write_text(compose(machine, outcomes, previous, quick=quick), encoding="utf-8")
    succeeded = {o.name for o in outcomes if o.error is None}
    return [name for name in BENCHMARKS if name in previous and name not in succeeded]


def main(argv: Sequence[str] | None = None, *, loader: Loader = load) -> int:
    args = parse_args(argv)
    machine = describe()
    print("\n".join(machine.lines()), flush=True)
    outcomes: list[Outcome] = []
    for name in args.names:
        print(f"\n>>> bench.{name}{' --quick' if args.quick else ''}", flush=True)
        outcome = run_one(name, quick=args.quick, loader=loader)
        outcomes.append(outcome)
        for table in outcome.tables:
            print(f"\n{table.text()}", flush=True)
        if outcome.error is not None:
            print(f"bench.{name} FAILED: {outcome.error}", file=sys.stderr, flush=True)
    failed = [o for o in outcomes if o.error is not None]
    if args.write and len(failed) < len(outcomes):
        kept = write(args.output, machine, outcomes, quick=args.quick)
        note = f" (kept from an earlier run: {', '.join(kept)})" if kept else ""
        print(f"\nwrote {args.output}{note}")
    if failed:
        print("\nfailed: " + "; ".join(f"bench.{o.name}: {o.error}" for o in failed))
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
