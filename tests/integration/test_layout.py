"""The suite's layout holds: tests mirror the package, shared helpers live once, unit tests need
neither Nextflow, Java nor node."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "src" / "genomecache"
TESTS = REPO / "tests"
# defined once, in tests/support/ (re-exported by tests/conftest.py)
SHARED = ("sha256", "samtools_indexes", "samtools_region", "samtools_bases", "run_script", "load_script")


def python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_with_logic_has_its_own_test_module() -> None:
    modules = [p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"]
    missing = [m for m in modules if not (TESTS / "unit" / f"test_{m}.py").is_file()]
    assert missing == [], f"modules of src/genomecache without tests/unit/test_<module>.py: {missing}"


def test_shared_helpers_are_defined_once_in_tests_support() -> None:
    pattern = re.compile(rf"^\s*def ({'|'.join(SHARED)})\(", re.M)
    defined = {
        f"{p.relative_to(REPO)}: {name}"
        for p in python_files(TESTS)
        if "support" not in p.relative_to(TESTS).parts
        for name in pattern.findall(p.read_text())
    }
    assert defined == set(), "import these from tests/support/ instead"
    loaders = [p for p in python_files(TESTS) if "spec_from" + "_file_location" in p.read_text()]
    assert loaders == [TESTS / "support" / "scripts.py"], (
        "load bin/ scripts with tests.support.scripts.load_script"
    )


def test_unit_tests_start_neither_nextflow_java_nor_node() -> None:
    starts = re.compile(r"scripts/nextflow|[\"'](nextflow|java|node|cdk)[\"']|aws_cdk|NXF_")
    found = {str(p.relative_to(REPO)) for p in python_files(TESTS / "unit") if starts.search(p.read_text())}
    assert found == set(), "these belong in tests/integration/"
