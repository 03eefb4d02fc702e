"""Genome aliases (``aliases.py``): a genome named by its name or assembly in ``conf/genomes.json``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genomecache import aliases
from genomecache.errors import GenomeCacheError
from tests.conftest import GENOME, REPO, cli, serving
from tests.support.scripts import run_script


def manifest(tmp_path: Path, url: str) -> dict[str, str]:
    path = tmp_path / "genomes.json"
    path.write_text(json.dumps({"genomes": [{"name": "worm", "assembly": "WBcel235", "url": url}]}))
    return {"GENOMECACHE_GENOMES": str(path)}


def test_alias_and_url_share_one_entry_and_one_download(tmp_path: Path, genome_dir: Path) -> None:
    cache = tmp_path / "cache"
    with serving(genome_dir) as server:
        env = manifest(tmp_path, server.url(GENOME))
        by_name = cli("--cache-dir", cache, "-q", "fetch", "worm", env=env)
        by_assembly = cli("--cache-dir", cache, "-q", "fetch", "wbcel235", env=env)
        by_url = cli("--cache-dir", cache, "-q", "fetch", server.url(GENOME), env=env)
        gets = len(server.gets(GENOME))
    assert by_name.returncode == 0, by_name.stderr
    assert by_name.stdout == by_assembly.stdout == by_url.stdout
    assert gets == 1
    assert len(list((cache / "genomes").iterdir())) == 1


def test_requests_naming_a_genome_by_alias_and_by_url_plan_one_download(tmp_path: Path) -> None:
    url = "https://example.org/genomes/ce.fa.gz"
    base = json.loads((REPO / "assets" / "requests.json").read_text())[0]
    payload = tmp_path / "payload.json"
    payload.write_text(
        json.dumps(
            [
                {**base, "unique_entry_id": "A", "fasta_file_url": "worm"},
                {**base, "unique_entry_id": "B", "fasta_file_url": "WBcel235"},
                {**base, "unique_entry_id": "C", "fasta_file_url": url},
            ]
        )
    )
    done = run_script(
        "check_requests.py", payload, "--base-dir", tmp_path, cwd=tmp_path, env=manifest(tmp_path, url)
    )
    assert done.returncode == 0, done.stderr
    genomes = json.loads((tmp_path / "genomes.json").read_text())
    assert len(genomes) == 1 and genomes[0]["requests"] == 3
    requests = json.loads((tmp_path / "requests.json").read_text())
    assert {r["genome_entry"] for r in requests} == {genomes[0]["entry"]}


@pytest.mark.parametrize("name", ["worm", "WBcel235"])
def test_the_shipped_manifest_names_the_worm_genome(name: str) -> None:
    url = aliases.resolve(name, REPO / "conf" / "genomes.json")
    assert url.endswith("GCF_000002985.6_WBcel235_genomic.fna.gz")
    assert aliases.resolve("genome/ce.fa.gz") == "genome/ce.fa.gz"  # paths are never aliases


def write_manifest(path: Path, genomes: object) -> Path:
    path.write_text(json.dumps({"genomes": genomes}))
    return path


def test_names_and_assemblies_in_any_case_and_spacing_name_the_url(tmp_path: Path) -> None:
    url = "https://example.org/ce.fa.gz"
    table = write_manifest(
        tmp_path / "genomes.json", [{"name": " Worm ", "assembly": "WBcel235", "url": url}]
    )
    for value in ("worm", "WORM", " worm ", "wbcel235", "WBcel235"):
        assert aliases.resolve(value, table) == url, value
    assert aliases.aliases(table) == {"worm": url, "wbcel235": url}


@pytest.mark.parametrize("value", ["fly", "worm/ce.fa.gz", "s3:worm", "file:worm", "./worm", ""])
def test_what_is_not_an_alias_is_left_as_it_is(tmp_path: Path, value: str) -> None:
    # even where the manifest lists such a value: a path or a URL is never looked up
    names = ("worm", "s3:worm", "file:worm", "worm/ce.fa.gz", "./worm")
    listed = [{"name": name, "url": "https://example.org/ce.fa.gz"} for name in names]
    table = write_manifest(tmp_path / "genomes.json", listed)
    assert aliases.resolve(value, table) == value


def test_the_manifest_is_taken_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = write_manifest(tmp_path / "mine.json", [{"name": "yeast", "url": "https://example.org/sc.fa.gz"}])
    monkeypatch.setenv("GENOMECACHE_GENOMES", str(table))
    assert aliases.resolve("yeast") == "https://example.org/sc.fa.gz"
    assert aliases.resolve("worm") == "worm"  # the checkout's manifest is not read then


def test_without_a_manifest_nothing_is_an_alias(tmp_path: Path) -> None:
    assert aliases.resolve("worm", tmp_path / "absent.json") == "worm"


@pytest.mark.parametrize("text", ["{not json", '{"genomes": 3}', '{"genomes": [{"name": "worm"}]}', "[]"])
def test_an_unreadable_manifest_is_one_line_naming_it(tmp_path: Path, text: str) -> None:
    table = tmp_path / "genomes.json"
    table.write_text(text)
    with pytest.raises(GenomeCacheError, match=f"^genome manifest {table}: not readable as genomes.json"):
        aliases.resolve("worm", table)
