"""Merging sequence info with the clustal alignment into aligned_seq_info.json."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from genomecache.seqinfo import (
    SeqInfoError,
    align_seqinfo,
    alignment_position,
    read_alignment,
    read_seqinfo,
    write_aligned_seqinfo,
)
from tests.support.scripts import run_script

ROOT = Path(__file__).resolve().parents[2]

# As `clustalo --outfmt=clustal --resno` writes it: two blocks, residue numbers at line ends.
CLUSTAL = (
    "CLUSTAL O(1.2.4) multiple sequence alignment\n\n\n"
    "ref_seq      -MKV-LAAG\t7\n"
    "alt_seq      MMKVQLA--\t7\n"
    "              ** *    \n"
    "\n"
    "ref_seq      IV-\t9\n"
    "alt_seq      ---\t7\n"
    "                \n"
)
ROWS = {"ref_seq": "-MKV-LAAGIV-", "alt_seq": "MMKVQLA-----"}


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def aln(tmp_path: Path) -> Path:
    path = tmp_path / "alignment-output.aln"
    path.write_text(CLUSTAL)
    return path


def test_read_alignment_joins_blocks_and_ignores_residue_numbers(aln: Path) -> None:
    assert read_alignment(aln) == ROWS


@pytest.mark.parametrize(("pos", "column"), [(1, 2), (3, 4), (4, 6), (7, 9), (8, 10), (9, 11), (10, 12)])
def test_alignment_position_skips_gaps_and_places_one_past_the_end(pos: int, column: int) -> None:
    # residues of -MKV-LAAGIV- sit in columns 2,3,4,6,7,8,9,10,11; position 10 is just past the end
    assert alignment_position(ROWS["ref_seq"], pos) == column


def test_alignment_position_past_the_end_without_trailing_gap_is_the_last_column() -> None:
    assert alignment_position("-MK", 3) == 3


@pytest.mark.parametrize("pos", [0, -1, 11])
def test_alignment_position_outside_the_sequence_fails(pos: int) -> None:
    with pytest.raises(SeqInfoError, match="outside the sequence"):
        alignment_position(ROWS["ref_seq"], pos)


def test_merge_keeps_each_info_and_adds_variant_columns() -> None:
    variant = {
        "variant_id": "V1",
        "seq_start_pos": 4,
        "seq_end_pos": 5,
        "embedded_ref_seq_len": 1,
        "embedded_alt_seq_len": 2,
    }
    info = {"ref_seq": {"embedded_variants": [variant]}, "alt_seq": {}, "failed_seq": {"error": "no CDS"}}
    merged = align_seqinfo(info, ROWS)
    assert list(merged) == ["alt_seq", "failed_seq", "ref_seq"]
    assert merged["alt_seq"] == {}
    assert merged["failed_seq"] == {"error": "no CDS"}  # not aligned, kept as it was
    # residues 4 and 5 of -MKV-LAAGIV- are in columns 6 and 7
    assert merged["ref_seq"]["embedded_variants"] == [
        {**variant, "alignment_start_pos": 6, "alignment_end_pos": 7}
    ]
    assert "alignment_start_pos" not in variant  # the input is not modified


def test_variant_without_integer_positions_fails() -> None:
    info = {"alt_seq": {"embedded_variants": [{"variant_id": "V1", "seq_start_pos": "4", "seq_end_pos": 5}]}}
    with pytest.raises(SeqInfoError, match="variant V1: seq_start_pos must be an integer"):
        align_seqinfo(info, ROWS)


def test_aligned_sequence_without_info_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert align_seqinfo({"ref_seq": {}}, ROWS) == {"ref_seq": {}}
    assert "'alt_seq' has no sequence info" in caplog.text


def test_read_seqinfo_merges_files(tmp_path: Path) -> None:
    a = write_json(tmp_path / "A-seqinfo.json", {"ref_seq": {}})
    b = write_json(tmp_path / "B-seqinfo.json", {"alt_seq": {"sequence": "MMKVQLA"}})
    assert read_seqinfo([a, b]) == {"ref_seq": {}, "alt_seq": {"sequence": "MMKVQLA"}}


def test_one_name_in_two_files_is_ambiguous(tmp_path: Path) -> None:
    a = write_json(tmp_path / "A-seqinfo.json", {"ref_seq": {}})
    b = write_json(tmp_path / "B-seqinfo.json", {"ref_seq": {}})
    with pytest.raises(SeqInfoError, match="'ref_seq' is in both .*A-seqinfo.json and .*B-seqinfo.json"):
        read_seqinfo([a, b])


@pytest.mark.parametrize("content", ["[]", '{"ref_seq": []}', "{not json"])
def test_malformed_seqinfo_fails(tmp_path: Path, content: str) -> None:
    path = tmp_path / "A-seqinfo.json"
    path.write_text(content)
    with pytest.raises(SeqInfoError, match="A-seqinfo.json"):
        read_seqinfo([path])


def test_not_an_alignment_fails(tmp_path: Path) -> None:
    path = tmp_path / "alignment-output.aln"
    path.write_text(">ref_seq\nMKV\n")
    with pytest.raises(SeqInfoError, match="alignment-output.aln"):
        read_alignment(path)


def test_write_aligned_seqinfo(tmp_path: Path, aln: Path) -> None:
    files = [write_json(tmp_path / f"{n}-seqinfo.json", {n: {}}) for n in ROWS]
    out = tmp_path / "aligned_seq_info.json"
    write_aligned_seqinfo(files, aln, out)
    assert json.loads(out.read_text()) == {"alt_seq": {}, "ref_seq": {}}


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_script("align_seqinfo.py", *args, cwd=cwd)


def test_cli_takes_pavis_space_separated_file_list(tmp_path: Path, aln: Path) -> None:
    for n in ROWS:
        write_json(tmp_path / f"{n}-seqinfo.json", {n: {}})
    done = run_cli(
        "--alignment-result-file",
        aln.name,
        "--sequence-info-files",
        "alt_seq-seqinfo.json ref_seq-seqinfo.json",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "aligned_seq_info.json").read_text()) == {"alt_seq": {}, "ref_seq": {}}


def test_cli_error_is_one_line(tmp_path: Path, aln: Path) -> None:
    done = run_cli("--alignment-result-file", aln.name, "--sequence-info-files", "missing.json", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("ERROR sequence info missing.json:")
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "aligned_seq_info.json").exists()


@pytest.mark.skipif(shutil.which("clustalo") is None, reason="clustalo not installed")
def test_real_clustalo_output_round_trips(tmp_path: Path) -> None:
    seqs = {"seq_a": "MKVLAAGIVGLLLAQ", "seq_b": "MKVLAGIVALLQ", "seq_c": "MKKVLAAGIVGLLQ" * 6}
    (tmp_path / "in.fa").write_text("".join(f">{n}\n{s}\n" for n, s in seqs.items()))
    subprocess.run(
        ["clustalo", "-i", "in.fa", "--outfmt=clustal", "--resno", "-o", "out.aln"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    rows = read_alignment(tmp_path / "out.aln")
    assert {n: r.replace("-", "") for n, r in rows.items()} == seqs
    assert len({len(r) for r in rows.values()}) == 1
