"""Synthetic genome and PAVI-like request payloads for the benchmark.

The genome is random ACGT (so it compresses like real sequence, ~2.2 bits per base)
with N runs at telomeres and centromeres and some soft-masked (lowercase) stretches,
in 60-character lines, a few chromosome-sized sequences plus a small chrM; BGZF
compressed with ``bgzip -@2`` and indexed with ``samtools faidx`` (.fai + .gzi).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from genomecache.errors import GenomeCacheError  # noqa: E402
from genomecache.requests import parse_request  # noqa: E402
from genomecache.retrieval import Genome, retrieve  # noqa: E402

# Full: ~820 Mbp (about a third of a mammalian genome; ~230 MB BGZF). Quick: 1/8 of it.
CHROMOSOMES = [
    ("chr1", 180_000_000),
    ("chr2", 150_000_000),
    ("chr3", 130_000_000),
    ("chr4", 110_000_000),
    ("chr5", 90_000_000),
    ("chr6", 70_000_000),
    ("chr7", 50_000_000),
    ("chrX", 40_000_000),
    ("chrM", 16_569),
]
LINE = 60
ACGT = np.frombuffer(b"ACGT", dtype=np.uint8)


def chromosomes(scale: float) -> list[tuple[str, int]]:
    return [(name, length if name == "chrM" else int(length * scale)) for name, length in CHROMOSOMES]


def _sequence(rng: np.random.Generator, length: int) -> np.ndarray:
    seq = ACGT[rng.integers(0, 4, length, dtype=np.uint8)]
    if length > 1_000_000:
        telomere = 10_000
        seq[:telomere] = ord("N")
        seq[-telomere:] = ord("N")
        centre = int(length * rng.uniform(0.3, 0.6))
        seq[centre : centre + int(rng.integers(100_000, 1_000_000))] = ord("N")
        for _ in range(length // 2_000_000):  # short gaps
            start = int(rng.integers(0, length - 50_000))
            seq[start : start + int(rng.integers(100, 50_000))] = ord("N")
        for _ in range(length // 20_000):  # soft-masked repeats, ~10% of bases
            start = int(rng.integers(0, length - 5_000))
            end = start + int(rng.integers(300, 3_700))
            seq[start:end] |= 0x20  # lowercase; N becomes n, as in real assemblies
    return seq


def _fasta_lines(seq: np.ndarray) -> bytes:
    full = len(seq) // LINE * LINE
    rows = seq[:full].reshape(-1, LINE)
    body = np.hstack([rows, np.full((rows.shape[0], 1), ord("\n"), dtype=np.uint8)]).tobytes()
    tail = seq[full:].tobytes()
    return body + (tail + b"\n" if tail else b"")


def make_genome(path: Path, scale: float, seed: int = 20241125) -> float:
    """Write ``path`` (BGZF) with .fai and .gzi; return the seconds it took."""
    started = time.monotonic()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    rng = np.random.default_rng(seed)
    with open(partial, "wb") as out:
        bgzip = subprocess.Popen(["bgzip", "-@2", "-c"], stdin=subprocess.PIPE, stdout=out)
        assert bgzip.stdin is not None
        for name, length in chromosomes(scale):
            bgzip.stdin.write(f">{name} synthetic benchmark sequence\n".encode())
            bgzip.stdin.write(_fasta_lines(_sequence(rng, length)))
        bgzip.stdin.close()
        if bgzip.wait() != 0:
            raise RuntimeError("bgzip failed")
    partial.rename(path)
    subprocess.run(["samtools", "faidx", str(path)], check=True)
    return time.monotonic() - started


def _transcript(rng: random.Random, name: str, length: int) -> dict:
    """Exons and CDS of a random multi-exon transcript, in PAVI's payload form."""
    n_exons = rng.choice([1, 2, 2, 3, 3, 4, 5, 6, 8, 10])
    exon_lengths = [rng.randint(60, 400) for _ in range(n_exons)]
    introns = [rng.randint(80, 5_000) for _ in range(n_exons - 1)]
    span = sum(exon_lengths) + sum(introns)
    start = rng.randint(20_000, length - span - 20_000)
    exons, pos = [], start
    for i, exon_len in enumerate(exon_lengths):
        exons.append((pos, pos + exon_len - 1))
        pos += exon_len + (introns[i] if i < len(introns) else 0)
    strand = rng.choice(["+", "-"])
    ordered = exons if strand == "+" else exons[::-1]  # transcript order
    # CDS: from inside the first exon to inside the last exon, in transcript order
    cds = []
    for i, (a, b) in enumerate(ordered):
        if strand == "+":
            a = a + rng.randint(0, (b - a) // 2) if i == 0 else a
            b = b - rng.randint(0, (b - a) // 2) if i == len(ordered) - 1 else b
        else:
            b = b - rng.randint(0, (b - a) // 2) if i == 0 else b
            a = a + rng.randint(0, (b - a) // 2) if i == len(ordered) - 1 else a
        cds.append((a, b))
    regions, cds_regions, done = [], [], 0
    for a, b in ordered:
        regions.append({"start": a, "end": b} if strand == "+" else {"start": b, "end": a})
    for a, b in cds:
        frame = (3 - done % 3) % 3  # GFF phase: bases to skip to the next codon start
        cds_regions.append(
            {"start": a, "end": b, "frame": frame}
            if strand == "+"
            else {"start": b, "end": a, "frame": frame}
        )
        done += b - a + 1
    return {"seq_strand": strand, "exon_seq_regions": regions, "cds_seq_regions": cds_regions, "name": name}


def make_payload(genome: Path, urls: list[str], n_requests: int, seed: int, scale: float) -> list[dict]:
    """``n_requests`` requests spread round-robin over ``urls`` (all serve ``genome``).

    Each is checked against the genome: a random CDS that opens on a stop codon would
    give an empty protein (an error in PAVI too), so such draws are redrawn.
    """
    rng = random.Random(seed)
    weights = [(name, length) for name, length in chromosomes(scale) if name != "chrM"]
    payload = []
    with Genome.open(genome) as opened:
        while len(payload) < n_requests:
            i = len(payload)
            name, length = rng.choices(weights, weights=[w for _, w in weights])[0]
            tx = _transcript(rng, name, length)
            request = {
                "unique_entry_id": f"BENCH_{n_requests}_{i:03d}",
                "base_seq_name": f"bench-tx{i:03d}_{name}_{'plus' if tx['seq_strand'] == '+' else 'minus'}",
                "seq_id": name,
                "seq_strand": tx["seq_strand"],
                "fasta_file_url": urls[i % len(urls)],
                "exon_seq_regions": tx["exon_seq_regions"],
                "cds_seq_regions": tx["cds_seq_regions"],
            }
            try:
                if retrieve(opened, parse_request(request), "protein"):
                    payload.append(request)
            except GenomeCacheError:
                continue
    return payload


def write_payload(path: Path, payload: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1) + "\n")
    return path
