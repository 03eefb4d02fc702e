"""Every guarantee README makes names the tests that show it, and those tests exist.

README's "Guarantees" list is the contract users read. Each bullet ends with the tests that show it
(``test_x.py::test_name``, ``::test_name`` for the file named just before, ``I::`` for
``tests/unit/test_integrity.py``, or ``tests/workflow/<file>.yml::<workflow name>`` for a pipeline run).
This test fails when a bullet names no test, or names one that is not there (renamed, deleted, or
skipped unconditionally), so a guarantee cannot silently lose its evidence.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"
ALIASES = {"I": "tests/unit/test_integrity.py"}
REFERENCE = re.compile(r"`((?:[\w./-]+\.(?:py|yml)|I)?)::([^`]+)`")


def guarantees(readme: str) -> dict[str, str]:
    """The bullets of README's Guarantees list, by their bold title."""
    start = readme.index("\nGuarantees (")
    end = readme.index("\nNot covered:", start)
    bullets = re.split(r"\n- (?=\*\*)", readme[start:end])[1:]
    found = {}
    for bullet in bullets:
        title = re.match(r"\*\*(.+?)\*\*", bullet)
        assert title, f"a Guarantees bullet without a bold title: {bullet[:60]!r}"
        found[title.group(1).rstrip(".")] = bullet
    return found


def references(bullet: str) -> list[tuple[Path, str]]:
    """The (file, test) pairs a bullet names, resolving ``::name`` against the file named before it."""
    pairs, current = [], None
    for file, name in REFERENCE.findall(bullet):
        if file:
            current = resolve(ALIASES.get(file, file))
        assert current is not None, f"`::{name}` names no file before it"
        pairs.append((current, name))
    return pairs


def resolve(name: str) -> Path:
    """A test file named by path (from the repository) or by its bare name (unique under tests/)."""
    if "/" in name:
        return REPO / name
    matches = sorted(TESTS.rglob(name))
    assert len(matches) == 1, f"{name}: {len(matches)} files of that name under tests/"
    return matches[0]


def defined_tests(path: Path) -> set[str]:
    """Test functions of a module that pytest collects (not skipped unconditionally), or workflow names."""
    if path.suffix == ".yml":
        return {workflow["name"] for workflow in yaml.safe_load(path.read_text())}
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
            if not any(unconditional_skip(d) for d in node.decorator_list):
                names.add(node.name)
    return names


def unconditional_skip(decorator: ast.expr) -> bool:
    """``@pytest.mark.skip`` (with or without a reason): the test never runs."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(target, ast.Attribute) and target.attr == "skip"


README_GUARANTEES = guarantees((REPO / "README.md").read_text())


def test_readme_lists_guarantees() -> None:
    """The list is there to be checked (a parser that finds nothing would pass every case below)."""
    assert len(README_GUARANTEES) >= 10, sorted(README_GUARANTEES)


@pytest.mark.parametrize("title", sorted(README_GUARANTEES))
def test_every_guarantee_names_tests_that_exist(title: str) -> None:
    """Each README guarantee names at least one test, and every test it names is collected."""
    pairs = references(README_GUARANTEES[title])
    assert pairs, f"README guarantee {title!r} names no test"
    missing = [
        f"{path.relative_to(REPO)}::{name}"
        for path, name in pairs
        if not path.is_file() or name.strip('"') not in defined_tests(path)
    ]
    assert not missing, f"README guarantee {title!r} names tests that do not exist: {missing}"


def test_a_guarantee_naming_a_missing_test_is_caught() -> None:
    """The checker itself: a bullet naming a test that is not there, or none at all, is found out."""
    readme = (
        "\nGuarantees (x):\n\n"
        "- **Real.** shown by `test_readme_guarantees.py::test_readme_lists_guarantees`\n"
        "- **Made up.** shown by `I::test_that_was_renamed`\n- **Bare.** no test at all\n\nNot covered: -\n"
    )
    listed = guarantees(readme)
    real, made_up = references(listed["Real"]), references(listed["Made up"])
    assert real[0][1] in defined_tests(real[0][0])
    assert made_up[0][1] not in defined_tests(made_up[0][0])
    assert references(listed["Bare"]) == []
