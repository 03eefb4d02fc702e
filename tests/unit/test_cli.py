"""genome_cache.py polish: entry ids in `list`, a quiet closed pipe, local sources as local.

(Aliases are tested in test_aliases.py, the report in test_report.py.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import GENOME, cli
from tests.support.scripts import BIN


def test_list_shows_the_entry_id_that_verify_and_remove_take(tmp_path: Path, genome_dir: Path) -> None:
    cache = tmp_path / "cache"
    assert cli("--cache-dir", cache, "-q", "fetch", genome_dir / GENOME).returncode == 0

    listed = cli("--cache-dir", cache, "list")
    as_json = json.loads(cli("--cache-dir", cache, "list", "--json").stdout)

    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split()[:2] == ["entry", "kind"]
    entry = row.split()[0]
    assert entry.startswith("ce.fa.gz-") and (cache / "genomes" / entry).is_dir()
    assert [e["entry"] for e in as_json] == [entry]
    assert cli("--cache-dir", cache, "verify", entry).stdout.strip() == f"OK  {entry}"


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path: Path, genome_dir: Path) -> None:
    cache = tmp_path / "cache"
    assert cli("--cache-dir", cache, "-q", "fetch", genome_dir / GENOME).returncode == 0
    for args in (["list"], ["list", "--json"]):
        proc = subprocess.Popen(
            [sys.executable, str(BIN / "genome_cache.py"), "--cache-dir", str(cache), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout and proc.stderr
        proc.stdout.close()  # like `| head -0`: nobody reads
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) in (0, 141)
        assert err == "", err


def test_a_local_source_is_reported_as_local(tmp_path: Path, genome_dir: Path) -> None:
    receipt = tmp_path / "receipt.json"
    done = cli("--cache-dir", tmp_path / "cache", "-q", "fetch", genome_dir / GENOME, "--receipt", receipt)
    assert done.returncode == 0, done.stderr
    assert json.loads(receipt.read_text())["source"] == "local"
