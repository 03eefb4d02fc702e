"""``seq_retrieval.py --batch``: one process and one genome open for many requests, the same
files as one run per request, and a bad request named without losing the good ones."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import pytest

from tests.oracle import expected_protein
from tests.support.retrieval_args import single_args
from tests.support.scripts import load_script

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "assets"


main = load_script("seq_retrieval.py").main


@pytest.fixture
def genome(tmp_path: Path) -> Path:
    folder = tmp_path / "genome"
    folder.mkdir()
    for suffix in ("", ".fai", ".gzi"):
        shutil.copy(ASSETS / f"genome/ce.fa.gz{suffix}", folder)
    return folder / "ce.fa.gz"


def requests() -> list[dict]:
    return json.loads((ASSETS / "requests.json").read_text())


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_batch_writes_the_same_files_as_one_run_per_request(genome: Path, tmp_path: Path) -> None:
    single, batch = tmp_path / "single", tmp_path / "batch"
    single.mkdir()
    batch.mkdir()
    for request in requests():
        with contextlib.chdir(single):
            assert main(single_args(request, f"file://{genome}", tmp_path / "cache")) == 0
    (tmp_path / "batch.json").write_text(json.dumps(requests()))
    args = ["--batch", str(tmp_path / "batch.json"), "--output_type", "protein"]
    args += ["--fasta_file_url", f"file://{genome}", "--cache_dir", str(tmp_path / "cache")]
    with contextlib.chdir(batch):
        assert main(args) == 0
    assert files(batch) == files(single)
    assert len(files(batch)) == 2 * len(requests())
    for request in requests():
        lines = (batch / f"{request['unique_entry_id']}-protein.fa").read_text().splitlines()
        assert lines == [f">{request['base_seq_name']}", expected_protein(str(genome), request)]


def test_url_from_a_file_and_outdir(genome: Path, tmp_path: Path) -> None:
    (tmp_path / "genome.url").write_text(f"file://{genome}\n")
    (tmp_path / "batch.json").write_text(json.dumps(requests()[:2]))
    out = tmp_path / "out"
    out.mkdir()
    args = ["--batch", str(tmp_path / "batch.json"), "--output_type", "transcript"]
    args += ["--fasta_url_file", str(tmp_path / "genome.url"), "--outdir", str(out)]
    assert main([*args, "--cache_dir", str(tmp_path / "cache")]) == 0
    assert sorted(files(out)) == sorted(
        f"{r['unique_entry_id']}-{kind}" for r in requests()[:2] for kind in ("transcript.fa", "seqinfo.json")
    )


def test_a_bad_request_is_named_and_the_others_are_kept(
    genome: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = requests()
    items[1] = {**items[1], "seq_id": "chrZ"}
    items[3] = {**items[3], "exon_seq_regions": [{"start": 1, "end": 10**9}]}
    (tmp_path / "batch.json").write_text(json.dumps(items))
    out = tmp_path / "out"
    out.mkdir()
    args = ["--batch", str(tmp_path / "batch.json"), "--output_type", "protein", "--outdir", str(out)]
    assert main([*args, "--fasta_file_url", f"file://{genome}", "--cache_dir", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    bad = [items[1]["unique_entry_id"], items[3]["unique_entry_id"]]
    for entry in bad:
        assert f"ERROR request {entry}: " in err
    assert "2 of 5 requests failed" in err and "Traceback" not in err
    written = {p.name.rsplit("-", 1)[0] for p in out.iterdir()}
    assert written == {r["unique_entry_id"] for r in items} - set(bad)


def test_unreadable_batch_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "batch.json").write_text("[{")
    args = ["--batch", str(tmp_path / "batch.json"), "--output_type", "protein"]
    assert main([*args, "--fasta_file_url", "file:///nowhere/x.fa.gz"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ERROR --batch ") and len(err.strip().splitlines()) == 1


def test_range_mode_batch_writes_the_same_files_as_full_mode(genome: Path, tmp_path: Path) -> None:
    """A range-mode batch (blocks of every request fetched at once) gives full mode's bytes,
    reading only part of the genome over HTTP."""
    from tests.conftest import serving, settle

    (tmp_path / "batch.json").write_text(json.dumps(requests()))
    outputs = {}
    with serving(genome.parent) as httpd:
        for access in ("full", "range"):
            out = tmp_path / access
            out.mkdir()
            url = httpd.url(genome.name) if access == "range" else f"file://{genome}"
            args = ["--batch", str(tmp_path / "batch.json"), "--output_type", "protein", "--outdir", str(out)]
            args += [
                "--fasta_file_url",
                url,
                "--access",
                access,
                "--cache_dir",
                str(tmp_path / f"c-{access}"),
            ]
            assert main(args) == 0
            outputs[access] = files(out)
        fetched = sum(int(e.get("bytes") or 0) for e in settle(httpd).gets(genome.name))
    assert outputs["range"] == outputs["full"] and len(outputs["full"]) == 2 * len(requests())
    assert not settle(httpd).gets(genome.name, ranged=False)  # never the whole file
    assert fetched < genome.stat().st_size
