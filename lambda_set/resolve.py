"""Regenerate ``layer.txt`` and ``runtime.txt`` (``make lambda-set``).

The layer: its build runs ``pip install -t /asset/python "aws-lambda-powertools[all]==<version>"``
in the runtime's image, then deletes what the runtime already ships (boto3 and its
dependencies). Here the same requirement is resolved for the runtime's Python and CPU, with
nothing newer than the version's release, and the same packages are left out.

The runtime: the boto3 the Lambda guide lists for the runtime ("Runtime-included SDK
versions"), with its dependencies as of that boto3's release. AWS updates it now and then;
``RUNTIME_SDK`` is the one line to change when it does.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from lambda_set.files import LAYER_FILE, RUNTIME_FILE

# An assumption, not read from AWS: a boto3 released months before the python3.14 runtime,
# and new enough for every call the functions make (S3 conditional writes need 1.35 or
# later). Replace it with the runtime's row of that table when it is at hand.
RUNTIME_SDK: Final = "boto3==1.40.4"
LAYER_EXTRAS: Final = "all"
# What the layer's build deletes after installing, because the runtime provides it.
RUNTIME_PROVIDED: Final = frozenset(
    {"boto3", "botocore", "s3transfer", "python-dateutil", "urllib3", "six", "jmespath"}
)
# The Lambda runtimes from Python 3.12 on run on Amazon Linux 2023 (glibc 2.34).
MANYLINUX: Final = "manylinux_2_34"
_UPLOAD_TIME: Final = re.compile(r'upload-time = "([^"]+)"')


def _uv(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(  # noqa: S603 - uv from this environment
        [sys.executable, "-m", "uv", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"uv {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def released(requirement: str) -> str:
    """When ``name==version`` was published (its files' upload time, UTC), as uv's lock
    records it: the moment the resolution is cut off at."""
    name, _, version = requirement.partition("==")
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        (project / "pyproject.toml").write_text(
            f'[project]\nname = "probe"\nversion = "0"\nrequires-python = ">=3.11"\n'
            f'dependencies = ["{requirement}"]\n',
            encoding="utf-8",
        )
        _uv("lock", "--quiet", "--python", sys.executable, cwd=project)
        lock = (project / "uv.lock").read_text(encoding="utf-8")
    entry = re.search(
        rf'\[\[package\]\]\nname = "{re.escape(name)}"\nversion = "{re.escape(version)}"'
        r"(.*?)(?:\n\[\[package\]\]|\Z)",
        lock,
        re.DOTALL,
    )
    times = _UPLOAD_TIME.findall(entry.group(1)) if entry else []
    if not times:
        raise RuntimeError(f"no upload time for {requirement} in the lock uv wrote")
    # Every file of the release, to the next whole second: nothing of it is cut off.
    latest = max(datetime.fromisoformat(time.replace("Z", "+00:00")) for time in times)
    return (latest.replace(microsecond=0) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def compile_pins(requirement: str, *, python: str, platform: str, cutoff: str) -> list[str]:
    """The exact pins ``requirement`` resolves to on that Python and platform at ``cutoff``."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "requirements.in"
        source.write_text(requirement + "\n", encoding="utf-8")
        output = _uv(
            "pip",
            "compile",
            str(source),
            "--quiet",
            "--no-header",
            "--no-annotate",
            "--python-version",
            python,
            "--python-platform",
            platform,
            "--exclude-newer",
            cutoff,
        )
    return [line for line in output.splitlines() if line and not line.startswith("#")]


def _name(pin: str) -> str:
    return re.sub(r"[-_.]+", "-", pin.partition("==")[0]).lower()


def regenerate() -> None:
    # Imported here: the CDK is slow to load, and only this command needs the stack's facts.
    from stacks.functions import (
        ARCHITECTURE,
        POWERTOOLS_DISTRIBUTION,
        PYTHON_RUNTIME,
        powertools_version,
    )

    version = powertools_version()
    python = PYTHON_RUNTIME.name.removeprefix("python")
    machine = "aarch64" if ARCHITECTURE.name == "arm64" else "x86_64"
    platform = f"{machine}-{MANYLINUX}"
    target = f"Python {python} on {platform}"

    layer_requirement = f"{POWERTOOLS_DISTRIBUTION}[{LAYER_EXTRAS}]=={version}"
    layer_cutoff = released(f"{POWERTOOLS_DISTRIBUTION}=={version}")
    layer = compile_pins(layer_requirement, python=python, platform=platform, cutoff=layer_cutoff)
    kept = [pin for pin in layer if _name(pin) not in RUNTIME_PROVIDED]
    LAYER_FILE.write_text(
        _header(
            f"The official Powertools layer {version} for {PYTHON_RUNTIME.name} "
            f"({ARCHITECTURE.name}): what the functions import besides their code and the "
            "runtime's packages.",
            f"Resolved: `uv pip compile` of {layer_requirement} (what the layer's build "
            f"installs) for {target}, nothing newer than {layer_cutoff} (the release of "
            f"{version}); without {', '.join(sorted(RUNTIME_PROVIDED))}, which the layer's "
            "build deletes because the runtime ships them.",
        )
        + "\n".join(kept)
        + "\n",
        encoding="utf-8",
    )

    runtime_cutoff = released(RUNTIME_SDK)
    runtime = compile_pins(RUNTIME_SDK, python=python, platform=platform, cutoff=runtime_cutoff)
    RUNTIME_FILE.write_text(
        _header(
            f"The packages the {PYTHON_RUNTIME.name} runtime ships that the functions import: "
            f"the SDK pinned as the runtime's ({RUNTIME_SDK}) and its dependencies.",
            f"Resolved: `uv pip compile` of {RUNTIME_SDK} for {target}, nothing newer than "
            f"{runtime_cutoff} (its release). The SDK pin is RUNTIME_SDK in "
            "lambda_set/resolve.py.",
        )
        + "\n".join(runtime)
        + "\n",
        encoding="utf-8",
    )


def _header(*paragraphs: str) -> str:
    import textwrap

    lines = ["Generated by `make lambda-set` (python -m lambda_set compile); do not edit."]
    for paragraph in paragraphs:
        lines += textwrap.wrap(paragraph, width=96)
    return "".join(f"# {line}\n" for line in lines)
