"""Dependencies point one way: telemetry <- stations <- ingest, alerts <- viz; simulators; stack.

``stack`` (``aquawatch up``) may start and import anything; no other package imports it.
Dependencies through strings count too: ``resources.files("ingest")``,
``importlib.import_module("viz.api")`` or a module run as ``-m telemetry.cli``.
Module names mean one thing across the packages, and no command takes a secret as a flag.
"""

from __future__ import annotations

import argparse
import ast
import itertools
from pathlib import Path

import pytest

from telemetry import CommonSettings, secret_names
from telemetry.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("telemetry", "stations", "ingest", "alerts", "viz", "simulators", "stack")
# What each package may import from the others.
ALLOWED = {
    "telemetry": set(),
    "stations": {"telemetry"},
    "ingest": {"telemetry", "stations"},
    "alerts": {"telemetry", "stations"},
    "viz": {"telemetry", "stations", "alerts"},
    "simulators": {"telemetry", "stations"},
    "stack": {"telemetry", "stations", "ingest", "alerts", "viz", "simulators"},
}
_BY_NAME = ("files", "import_module", "find_spec")


def _named_in_strings(tree: ast.AST) -> set[str]:
    """Modules named in strings: resources.files("x"), import_module("x.y"), "-m", "x.y"."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0] if node.args else None
            if called in _BY_NAME and isinstance(first, ast.Constant):
                names.add(str(first.value))
        if isinstance(node, ast.List | ast.Tuple):
            items = [e.value if isinstance(e, ast.Constant) else None for e in node.elts]
            names |= {str(b) for a, b in itertools.pairwise(items) if a == "-m"}
    return names


def imported_packages(package: str) -> dict[str, set[str]]:
    """Project packages imported by each module of ``package``."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        names |= _named_in_strings(tree)
        found[str(path.relative_to(ROOT))] = {
            top for name in names if (top := name.split(".")[0]) in PACKAGES
        } - {package}
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_dependencies_point_one_way(package: str) -> None:
    wrong = {
        module: sorted(uses - ALLOWED[package])
        for module, uses in imported_packages(package).items()
        if uses - ALLOWED[package]
    }
    assert not wrong, f"{package} may import only {sorted(ALLOWED[package])}: {wrong}"


def test_other_packages_use_only_the_public_names() -> None:
    """Outside a package, imports go through its __init__ (``from telemetry import X``)."""
    deep = []
    for package in PACKAGES:
        for module, _ in imported_packages(package).items():
            tree = ast.parse((ROOT / module).read_text("utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module:
                    top = node.module.split(".")[0]
                    if top in PACKAGES and top != package and "." in node.module:
                        deep.append(f"{module}: from {node.module} import ...")
    assert not deep, deep


def test_the_string_scan_sees_what_imports_do_not() -> None:
    tree = ast.parse(
        'resources.files("ingest").joinpath("x")\n'
        'importlib.import_module("viz.api")\n'
        'subprocess.run([sys.executable, "-m", "simulators.cli"])\n'
    )
    assert _named_in_strings(tree) == {"ingest", "viz.api", "simulators.cli"}


# Reading the wall clock: only telemetry/clock.py may; everything else takes a Clock.
WALL_CLOCK = {
    ("time", "time"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
}


def _reads_wall_clock(node: ast.AST) -> bool:
    """``time.time()``, ``datetime.now()``, ``dt.datetime.now()``, ``from time import time``."""
    if isinstance(node, ast.ImportFrom):
        return any((node.module, a.name) in WALL_CLOCK for a in node.names)
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    owner = node.func.value
    name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", None)
    return (name, node.func.attr) in WALL_CLOCK


def test_only_the_clock_module_reads_the_wall_clock() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != ROOT / "telemetry" / "clock.py"
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if _reads_wall_clock(node)
    ]
    assert not found, f"read the time from a telemetry.Clock instead: {found}"


# Module names every deployable may have; any other name means one thing in the whole project.
SHARED_MODULE_NAMES = {"__init__", "cli", "errors", "settings", "metrics"}
# The API's layers are named after the resource they serve (routes/alerts.py, queries/alerts.py).
LAYERS = ("viz/api/routes/", "viz/api/queries/")


def test_module_names_mean_one_thing() -> None:
    """``signals``, ``engine``, ``profiles``... name one module each across the packages."""
    where: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            if not relative.startswith(LAYERS):
                where.setdefault(path.stem, set()).add(package)
    colliding = {
        name: sorted(packages)
        for name, packages in where.items()
        if len(packages) > 1 and name not in SHARED_MODULE_NAMES
    }
    assert not colliding, f"rename one of each: {colliding}"


def _settings_classes(cls: type[CommonSettings]) -> list[type[CommonSettings]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found += _settings_classes(sub)
    return found


def test_no_command_takes_a_secret_as_a_flag() -> None:
    """Command lines are visible to every user (``ps``): secrets come from the environment."""
    parser = build_parser()  # every installed subcommand, so every settings class is loaded
    secrets = {
        f"--{name.replace('_', '-')}"
        for cls in _settings_classes(CommonSettings)
        for name in secret_names(cls)
    }
    assert {"--database-url", "--mqtt-url", "--token-secret", "--sms-url"} <= secrets
    flags: set[str] = set()
    pending = [parser]
    while pending:
        current = pending.pop()
        for action in current._actions:
            flags.update(action.option_strings)
            if isinstance(action, argparse._SubParsersAction):
                pending += action.choices.values()
    assert not flags & secrets
