"""The benchmark runner: which benchmarks run, what BENCHMARKS.md keeps, how failures show.

No benchmark is timed here: the runner is given stand-in benchmarks that return fixed tables.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench import __main__ as runner
from bench.machine import KEY_PACKAGES, Machine, cpu_model, describe, memory_bytes
from bench.report import Table

MACHINE = Machine(
    when=datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
    cpu="Test CPU",
    cores=2,
    memory_bytes=8 * 2**30,
    os="Linux 6.0 (x86_64)",
    python="CPython 3.11.7",
    packages={"boto3": "1.0"},
    load="0.10, 0.20, 0.30",
)


def table(name: str, value: int) -> Table:
    result = Table(f"{name} table", ["case", "ms"])
    result.add("only", value)
    return result


def fake_loader(values: dict[str, int], missing: frozenset[str] = frozenset()) -> runner.Loader:
    """Benchmarks that return one table each (``values``), are missing, or fail."""

    def load(name: str) -> runner.Runner:
        if name in missing:
            raise ModuleNotFoundError(f"No module named 'bench.{name}'")

        def run(*, quick: bool = False) -> list[Table]:
            return [table(name, values[name] + (1000 if quick else 0))]  # KeyError: fails

        return run

    return load


def not_tables(*, quick: bool = False) -> list[Table]:
    return "x" if quick else []  # type: ignore[return-value]


def test_all_benchmarks_run_in_the_documented_order() -> None:
    assert runner.parse_args([]).names == list(runner.BENCHMARKS)
    assert runner.parse_args(["cost_model", "bench.latency"]).names == ["latency", "cost_model"]


def test_an_unknown_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        runner.parse_args(["latncy"])
    assert exit_info.value.code == runner.EXIT_USAGE
    assert "latncy" in capsys.readouterr().err


def test_quick_runs_do_not_write_unless_asked() -> None:
    assert runner.parse_args([]).write is True
    assert runner.parse_args(["--quick"]).write is False
    assert runner.parse_args(["--quick", "--write"]).write is True
    assert runner.parse_args(["--no-write"]).write is False


def test_a_full_run_writes_every_section_with_the_machine(tmp_path: Path) -> None:
    output = tmp_path / "BENCHMARKS.md"
    values = {name: n for n, name in enumerate(runner.BENCHMARKS)}
    code = runner.main(["--output", str(output)], loader=fake_loader(values))
    text = output.read_text()
    assert code == 0
    assert "make bench" in text
    for name in runner.BENCHMARKS:
        assert f"<!-- bench:{name} -->" in text
        assert f"## {name} table" in text
    assert text.index("bench:cold_start") < text.index("bench:cost_model")
    for package in KEY_PACKAGES:
        assert package in text


def test_a_subset_keeps_the_other_sections(tmp_path: Path) -> None:
    output = tmp_path / "BENCHMARKS.md"
    everything = dict.fromkeys(runner.BENCHMARKS, 1)
    runner.main(["--output", str(output)], loader=fake_loader(everything))
    runner.main(["latency", "--output", str(output)], loader=fake_loader({"latency": 7}))
    sections = runner.existing_sections(output.read_text())
    assert sorted(sections) == sorted(runner.BENCHMARKS)
    assert "| only | 7 |" in sections["latency"]
    assert "| only | 1 |" in sections["cold_start"]
    assert output.read_text().count("# Benchmarks") == 1


def test_a_missing_or_failing_benchmark_is_named_and_fails_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "BENCHMARKS.md"
    loader = fake_loader({"latency": 3, "cost_model": 4}, missing=frozenset({"cold_start"}))
    code = runner.main(["--output", str(output)], loader=loader)
    captured = capsys.readouterr()
    assert code == runner.EXIT_FAILED
    assert "bench.cold_start: ModuleNotFoundError" in captured.out
    assert "bench.ingest_cost: KeyError" in captured.out
    sections = runner.existing_sections(output.read_text())
    assert sorted(sections) == ["cost_model", "latency"]


def test_a_failed_benchmark_keeps_its_previous_section(tmp_path: Path) -> None:
    output = tmp_path / "BENCHMARKS.md"
    runner.main(["latency", "--output", str(output)], loader=fake_loader({"latency": 5}))
    code = runner.main(
        ["latency", "cost_model", "--output", str(output)], loader=fake_loader({"cost_model": 2})
    )
    sections = runner.existing_sections(output.read_text())
    assert code == runner.EXIT_FAILED
    assert "| only | 5 |" in sections["latency"]
    assert "| only | 2 |" in sections["cost_model"]


def test_a_run_where_everything_failed_leaves_the_file_alone(tmp_path: Path) -> None:
    output = tmp_path / "BENCHMARKS.md"
    output.write_text("previous\n")
    code = runner.main(["latency", "--output", str(output)], loader=fake_loader({}))
    assert code == runner.EXIT_FAILED
    assert output.read_text() == "previous\n"


def test_a_benchmark_that_returns_no_tables_fails() -> None:
    outcome = runner.run_one("latency", quick=True, loader={"latency": not_tables}.__getitem__)
    assert outcome.error is not None
    assert "list[Table]" in outcome.error


def test_the_section_says_when_and_on_what_it_was_measured() -> None:
    outcome = runner.Outcome("latency", [table("latency", 1)], seconds=12.3)
    text = runner.section(outcome, MACHINE, quick=True)
    assert "2026-01-02T03:04Z, `--quick` on Test CPU, 2 cores" in text
    assert text.startswith("<!-- bench:latency -->")
    assert text.endswith("<!-- /bench:latency -->")


def test_the_machine_description_names_cpu_memory_os_python_and_packages() -> None:
    lines = "\n".join(describe().lines())
    for label in ("CPU:", "cores", "memory:", "OS:", "Python:", "packages:", "load average"):
        assert label in lines
    assert all(package in lines for package in KEY_PACKAGES)


def test_the_cpu_and_memory_are_read_from_proc_files(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Example CPU @ 2.0GHz\n")
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:        2048 kB\nMemFree: 1 kB\n")
    assert cpu_model(cpuinfo) == "Example CPU @ 2.0GHz"
    assert memory_bytes(meminfo) == 2048 * 1024
    assert memory_bytes(tmp_path / "absent") is None
