"""The Python checks of tests/workflow reach the workflows they name.

pytest-workflow reads only the closest ``workflow`` marker of a test and skips a test whose
workflow did not run, so a second stacked marker, or a name that matches no workflow in the
YAML files, makes a check that silently never runs. Needs no nextflow: nothing is started.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
CHECK_MODULES = sorted(p.stem for p in HERE.glob("test_*.py") if p.stem != "test_markers")


def workflow_names() -> set[str]:
    return {w["name"] for path in HERE.glob("test_*.yml") for w in yaml.safe_load(path.read_text())}


def marked_tests() -> list[tuple[str, list]]:
    tests = []
    for module_name in CHECK_MODULES:
        module = importlib.import_module(f"tests.workflow.{module_name}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("test_"):
                marks = [m for m in getattr(function, "pytestmark", []) if m.name == "workflow"]
                tests.append((f"{module_name}::{name}", marks))
    return tests


@pytest.mark.parametrize(("test", "marks"), marked_tests(), ids=[t for t, _ in marked_tests()])
def test_each_check_has_one_marker_naming_one_existing_workflow(test, marks):
    assert len(marks) <= 1, f"{test}: {len(marks)} stacked workflow markers; pytest-workflow reads one"
    for mark in marks:
        assert len(mark.args) == 1, f"{test}: give each workflow its own test"
        assert mark.args[0] in workflow_names(), f"{test}: no workflow named {mark.args[0]!r}"
