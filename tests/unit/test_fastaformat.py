"""FASTA indexes and BGZF checks (``fastaformat.py``), with samtools and bgzip as the oracle.

Every cached genome is BGZF with ``.fai`` and ``.gzi``: the indexes built here must be the ones
samtools builds, and an index that does not fit the data (where samtools would read wrong bases
without a word) must be refused.
"""

from __future__ import annotations

import gzip
import random
import shutil
from pathlib import Path

import pytest

from genomecache import fastaformat
from genomecache.errors import IntegrityError, NotFastaError
from tests.conftest import ASSETS, GENOME, run, samtools_indexes, samtools_region


def bgzip(folder: Path, name: str, text: bytes) -> Path:
    """``text`` compressed by bgzip into ``folder/name`` (no indexes)."""
    folder.mkdir(parents=True, exist_ok=True)
    plain = folder / name.removesuffix(".gz")
    plain.write_bytes(text)
    run("bgzip", "-f", plain)
    return folder / name


def fasta_text(width: int, seed: int = 7) -> bytes:
    """Three sequences (one with a description, soft-masked runs) wrapped at ``width`` bases."""
    rng = random.Random(seed)
    out = []
    for name, length in (("chrA some description", 150_000), ("chrB", 70_001), ("chrM", 999)):
        seq = "".join(rng.choice("ACGTacgtN") for _ in range(length))
        out.append(f">{name}\n" + "".join(seq[i : i + width] + "\n" for i in range(0, length, width)))
    return "".join(out).encode()


def indexes(path: Path) -> tuple[bytes, bytes]:
    return Path(f"{path}.fai").read_bytes(), Path(f"{path}.gzi").read_bytes()


@pytest.fixture
def genome(tmp_path: Path) -> Path:
    """A copy of the embedded genome with samtools' indexes."""
    for suffix in ("", ".fai", ".gzi"):
        shutil.copyfile(ASSETS / f"{GENOME}{suffix}", tmp_path / f"{GENOME}{suffix}")
    return tmp_path / GENOME


@pytest.mark.parametrize("width", [60, 61, 80])
@pytest.mark.parametrize("from_blocks", [False, True])
def test_the_indexes_built_are_the_ones_samtools_builds(
    tmp_path: Path, width: int, from_blocks: bool
) -> None:
    path = bgzip(tmp_path / "ours", "g.fa.gz", fasta_text(width))
    fastaformat.build_indexes(path, fastaformat.bgzf_blocks(path) if from_blocks else None)
    assert indexes(path) == samtools_indexes(path, tmp_path / "samtools")
    fastaformat.check_indexes(path)  # and they pass our own check
    # every block start after the first, but not the empty end-of-file block
    blocks = fastaformat.bgzf_blocks(path)
    assert fastaformat.read_gzi(Path(f"{path}.gzi")) == [(c, u) for c, u, n in blocks[1:] if n]


def test_the_embedded_genome_and_its_samtools_indexes_pass(genome: Path) -> None:
    assert fastaformat.has_bgzf_eof(genome)
    fastaformat.check_bgzf(genome)
    fastaformat.check_indexes(genome)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (b"this is a README\nnot a genome\n" * 20, "Unexpected text before the first sequence"),
        (b">a desc\nACGT\nAC\n>a\nGGGG\n", 'Duplicate key "a"'),  # samtools keeps the first, silently
        (b"", ""),
    ],
)
def test_what_is_not_a_well_formed_fasta_is_refused_naming_the_file(
    tmp_path: Path, text: bytes, problem: str
) -> None:
    path = bgzip(tmp_path, "odd.fa.gz", text)
    with pytest.raises(NotFastaError, match=f"^odd.fa.gz: not a well-formed FASTA .*{problem}"):
        fastaformat.build_indexes(path)


def test_eof_marker_tells_a_whole_bgzf_file_from_a_cut_one(genome: Path, tmp_path: Path) -> None:
    data = genome.read_bytes()
    cut = tmp_path / "cut.fa.gz"
    cut.write_bytes(data[:-1])
    plain_gzip = tmp_path / "plain.fa.gz"
    plain_gzip.write_bytes(gzip.compress(b">a\nACGT\n"))
    tiny = tmp_path / "tiny.fa.gz"
    tiny.write_bytes(data[-10:])
    assert fastaformat.has_bgzf_eof(genome)
    assert not any(fastaformat.has_bgzf_eof(p) for p in (cut, plain_gzip, tiny))


@pytest.mark.parametrize("damage", ["flip", "cut", "no-eof", "gzip"])
def test_check_bgzf_finds_damage_anywhere_in_the_file(genome: Path, damage: str) -> None:
    data = bytearray(genome.read_bytes())
    blocks = fastaformat.bgzf_blocks(genome)
    middle = blocks[len(blocks) // 2][0] + 100  # inside the compressed data of a middle block
    if damage == "flip":
        data[middle] ^= 0x20
    elif damage == "cut":
        data = data[:middle] + data[-28:]  # a block cut short, EOF block kept
    elif damage == "no-eof":
        data = data[:-28]
    else:
        data = bytearray(gzip.compress(run("bgzip", "-dc", genome).stdout))
    genome.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=f"^{GENOME}: corrupt compressed data"):
        fastaformat.check_bgzf(genome)


def set_field(row: int, column: int | slice, value: str | list[str]):  # type: ignore[no-untyped-def]
    return lambda rows: rows[row].__setitem__(column, value)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (set_field(0, 1, "1009801"), "CHROMOSOME_I is not 1009801 bases long"),
        (set_field(0, 1, "1009799"), "CHROMOSOME_I is not 1009799 bases long"),
        (set_field(0, 1, "1009750"), "CHROMOSOME_I is not 1009750 bases long"),  # a whole line short
        (set_field(1, 2, "1030076"), "CHROMOSOME_II is not preceded by its header line"),  # one line on
        (set_field(1, 0, "CHROMOSOME_Z"), "CHROMOSOME_Z is not preceded by its header line"),
        (set_field(0, slice(3, 5), ["40", "41"]), "CHROMOSOME_I lines are not 40 bases long"),
        (set_field(0, 3, "60"), "unreadable .fai"),  # 60 bases in a line of 51 bytes
        (lambda rows: rows.append(list(rows[0])), "unreadable .fai"),  # one name twice
        (lambda rows: rows.clear(), "fai"),
    ],
)
def test_an_fai_that_does_not_fit_the_data_is_refused(genome: Path, change, problem: str) -> None:  # type: ignore[no-untyped-def]
    fai = Path(f"{genome}.fai")
    rows = [line.split("\t") for line in fai.read_text().splitlines()]
    change(rows)
    fai.write_text("".join("\t".join(row) + "\n" for row in rows))
    with pytest.raises(IntegrityError, match=f"^{GENOME}: .*{problem}"):
        fastaformat.check_indexes(genome)


def test_a_stale_index_that_samtools_reads_without_a_word_is_refused(tmp_path: Path) -> None:
    # the same sequences rewrapped: the old .fai has every name and length right, only the offsets
    # and line lengths are stale, and samtools then returns other bases (and exits 0)
    old = bgzip(tmp_path / "old", "g.fa.gz", fasta_text(60))
    new = bgzip(tmp_path / "new", "g.fa.gz", fasta_text(70))
    run("samtools", "faidx", old)
    run("samtools", "faidx", new)
    right = samtools_region(new, "chrB:1000-1100")
    shutil.copyfile(f"{old}.fai", f"{new}.fai")
    assert samtools_region(new, "chrB:1000-1100") != right
    with pytest.raises(IntegrityError, match=r"^g.fa.gz: .fai does not match the data"):
        fastaformat.check_indexes(new)


def test_a_gzi_of_another_file_is_refused(tmp_path: Path) -> None:
    one = bgzip(tmp_path / "one", "g.fa.gz", fasta_text(60, seed=1))
    other = bgzip(tmp_path / "other", "g.fa.gz", fasta_text(60, seed=2) * 2)
    run("samtools", "faidx", one)
    run("samtools", "faidx", other)
    shutil.copyfile(f"{other}.gzi", f"{one}.gzi")
    with pytest.raises(IntegrityError, match=r"g.fa.gz: .gzi does not list the file's BGZF blocks"):
        fastaformat.check_indexes(one)


@pytest.mark.parametrize("cut", [1, 8, 9])
def test_a_truncated_gzi_is_an_integrity_error(genome: Path, cut: int) -> None:
    data = Path(f"{genome}.gzi").read_bytes()
    with pytest.raises(IntegrityError):
        fastaformat.parse_gzi(data[:-cut], "ce.fa.gz.gzi")
