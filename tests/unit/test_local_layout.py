"""The local stack's AWS emulation core stands apart from its demo: only the wiring imports it.

``local/`` holds what stands in for AWS; ``local/demo/`` the demo stand-ins and the console
features built on it. The core is read, changed and tested on its own only while no core
module reaches into the demo, so this reads every core module's imports (without importing
it) and names any that does.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LOCAL = Path(__file__).resolve().parents[2] / "local"

# The entry point and the one object that assemble the whole local stack, demo included.
WIRING = frozenset({"__main__.py", "stack.py"})


def demo_imports(source: str) -> list[str]:
    """The modules of ``local.demo`` that a module's source imports, in any spelling."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if _in_demo(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 1 and module.split(".")[0] == "demo":  # from .demo import x
                module = f"local.{module}"
            if _in_demo(module):
                found.append(module)
            elif module == "local" or (node.level == 1 and not module):  # from local import demo
                found += [f"local.{alias.name}" for alias in node.names if alias.name == "demo"]
    return found


def _in_demo(module: str) -> bool:
    return module == "local.demo" or module.startswith("local.demo.")


@pytest.mark.parametrize(
    "source",
    [
        "import local.demo.journey",
        "from local.demo.console import Console",
        "from local.demo import journey",
        "from local import defaults, demo",
        "from .demo.story import StoryPlayer",
        "def lazy():\n    from local.demo.status import main\n",
    ],
)
def test_every_spelling_of_a_demo_import_is_seen(source: str) -> None:
    # Given a module that imports from the demo, however it spells it
    # When its imports are read
    # Then the demo import is named
    assert demo_imports(source) != []


def test_imports_of_the_core_and_of_other_packages_are_not_taken_for_demo_ones() -> None:
    # Given a module that imports the core, a lookalike name and the standard library
    source = "import local.aws\nfrom local import defaults, state\nimport demolition\nimport os\n"
    # When its imports are read
    # Then none of them is a demo import
    assert demo_imports(source) == []


def test_no_core_module_imports_the_demo() -> None:
    # Given every module of the core, the wiring aside
    core = sorted(path for path in LOCAL.glob("*.py") if path.name not in WIRING)
    assert core, f"no core modules under {LOCAL}"
    # When their imports are read
    reached = {path.name: demo_imports(path.read_text()) for path in core}
    # Then none reaches into local.demo
    assert {name: modules for name, modules in reached.items() if modules} == {}
