"""samtools and bgzip, the tests' independent oracle (htslib, not this package's code)."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path


def run(*cmd: str | os.PathLike[str], **kwargs) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    """Run a command, failing the test with its stderr when it fails."""
    result = subprocess.run([str(c) for c in cmd], capture_output=True, **kwargs)
    assert result.returncode == 0, f"{cmd}: {result.stderr.decode(errors='replace')}"
    return result


def samtools_indexes(fasta: Path, workdir: Path) -> tuple[bytes, bytes]:
    """The ``.fai`` and ``.gzi`` samtools builds for (a copy of) ``fasta``."""
    workdir.mkdir(parents=True, exist_ok=True)
    copy = workdir / "oracle.fa.gz"
    shutil.copyfile(fasta, copy)
    run("samtools", "faidx", copy)
    return Path(f"{copy}.fai").read_bytes(), Path(f"{copy}.gzi").read_bytes()


def samtools_region(fasta: str | os.PathLike[str], region: str) -> bytes:
    """``samtools faidx FASTA REGION`` as it prints it: a FASTA record, bases wrapped at 60."""
    return run("samtools", "faidx", fasta, region).stdout


def samtools_bases(
    fasta: str | os.PathLike[str], seq_id: str, start: int, end: int, minus: bool = False
) -> str:
    """Bases ``start..end`` (1-based, inclusive, either order) of ``seq_id``; reverse-complemented
    by samtools (``-i``) when ``minus``."""
    lo, hi = min(start, end), max(start, end)
    cmd = ["samtools", "faidx", str(fasta), f"{seq_id}:{lo}-{hi}"] + (["-i"] if minus else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return "".join(out.splitlines()[1:])


def samtools_regions(fasta: Path, wanted: list[tuple[str, int, int]], minus: bool = False) -> list[str]:
    """The sequences of many ``(seq_id, start, end)`` regions in one ``samtools faidx -r`` call
    (reverse-complemented with ``-i`` when ``minus``)."""
    listing = fasta.parent / f"regions-{os.getpid()}-{uuid.uuid4().hex}.txt"
    listing.write_text("".join(f"{n}:{s}-{e}\n" for n, s, e in wanted))
    try:
        out = run("samtools", "faidx", fasta, "-r", listing, *(["-i"] if minus else [])).stdout.decode()
    finally:
        listing.unlink()
    return ["".join(record.splitlines()[1:]) for record in out.split(">")[1:]]


def decompressed(bgzf: str | os.PathLike[str]) -> bytes:
    """The uncompressed text of a (BGZF or gzip) FASTA, as bgzip decompresses it."""
    return run("bgzip", "-dc", bgzf).stdout
