"""What the benchmarks ran on, for the header of BENCHMARKS.md.

Timings mean little without the machine behind them: a number from a 2-core container and one
from a 16-core laptop differ by more than most changes being measured. Every field is read
locally (``/proc``, ``platform``, ``importlib.metadata``), so describing the machine never
fails a run: what cannot be read is said to be unknown.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Final

# The libraries whose speed shows in the numbers: the AWS client, the handlers' toolkit and
# validation, and the emulator the local stack runs on.
KEY_PACKAGES: Final = ("boto3", "aws-lambda-powertools", "pydantic", "moto")
UNKNOWN: Final = "unknown"
_CPUINFO: Final = Path("/proc/cpuinfo")
_MEMINFO: Final = Path("/proc/meminfo")
_LOADAVG: Final = Path("/proc/loadavg")


@dataclass(frozen=True)
class Machine:
    """One machine at one moment: enough to tell whether two runs are comparable."""

    when: datetime
    cpu: str
    cores: int
    memory_bytes: int | None
    os: str
    python: str
    packages: dict[str, str]
    load: str

    def lines(self) -> list[str]:
        """The description as "name: value" lines, in the order a reader compares them."""
        memory = f"{self.memory_bytes / 2**30:.1f} GiB" if self.memory_bytes else UNKNOWN
        packages = ", ".join(f"{name} {version}" for name, version in self.packages.items())
        return [
            f"when: {self.when.isoformat(timespec='seconds').replace('+00:00', 'Z')}",
            f"CPU: {self.cpu}, {self.cores} cores",
            f"memory: {memory}",
            f"OS: {self.os}",
            f"Python: {self.python}",
            f"packages: {packages}",
            f"load average at start (1, 5, 15 min): {self.load}",
        ]


def describe(packages: Sequence[str] = KEY_PACKAGES) -> Machine:
    """This machine, now."""
    return Machine(
        when=datetime.now(UTC),
        cpu=cpu_model(),
        cores=os.cpu_count() or 0,
        memory_bytes=memory_bytes(),
        os=f"{platform.system()} {platform.release()} ({platform.machine()})",
        python=f"{platform.python_implementation()} {sys.version.split()[0]}",
        packages={name: package_version(name) for name in packages},
        load=load_average(),
    )


def cpu_model(cpuinfo: Path = _CPUINFO) -> str:
    """The CPU's marketing name; ``platform.processor()`` is often empty on Linux."""
    try:
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in {"model name", "Hardware", "Model"} and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or UNKNOWN


def memory_bytes(meminfo: Path = _MEMINFO) -> int | None:
    """Total memory, from ``MemTotal`` (in kB); ``None`` where there is no ``/proc``."""
    try:
        for line in meminfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def load_average(loadavg: Path = _LOADAVG) -> str:
    """The 1, 5 and 15 minute load averages: a busy machine explains noisy numbers."""
    try:
        return ", ".join(loadavg.read_text(encoding="utf-8").split()[:3])
    except OSError:
        return UNKNOWN


def package_version(name: str) -> str:
    """The installed version of a distribution, or "not installed"."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"
