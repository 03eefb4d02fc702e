"""Damage fuzz: random damage to a published entry never yields wrong bases or a traceback.

Each damage (seeded, reproducible) is applied to the cache entry of a real BGZF genome,
then random regions are read the way the pipeline reads them: ``resolve_for_reading`` on
the ``file://`` path the download step hands over (or the source URL), ``cache.reading``
and ``Genome``. Every answer is compared with ``samtools faidx`` on the pristine file.
Outcomes: correct (the damage did not touch what was read), healed (detected, fetched
again and correct in the same call), failed clearly (one-line GenomeCacheError; the next
call must then be correct), wrong (must be 0), traceback (must be 0).
"""

from __future__ import annotations

import collections
import os
import random
import shutil
import time
from pathlib import Path

import pytest

from genomecache.cache import GenomeCache
from genomecache.errors import GenomeCacheError
from tests.conftest import read_region, run, serving, settle

SEED = int(os.environ.get("GENOMECACHE_FUZZ_SEED", "20261130"))
DAMAGES = int(os.environ.get("GENOMECACHE_FUZZ_DAMAGES", "520"))
READS_PER_DAMAGE = 3
FILES = ("fasta", "fasta", ".fai", ".gzi", "entry.json")


@pytest.fixture(scope="module")
def fuzz_genome(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes], list[str]]:
    """A ~1 MB BGZF genome of 4 random chromosomes (line widths 50-80), its samtools
    indexes, and the bases of a pool of random regions as samtools reads them."""
    folder = tmp_path_factory.mktemp("fuzz")
    rng = random.Random(SEED)
    table = bytes.maketrans(bytes(range(256)), b"ACGTacgtNACGTACG" * 16)
    chroms = {}
    parts = []
    for i, (length, width) in enumerate(((900_000, 60), (700_001, 70), (500_000, 80), (40_000, 50))):
        name = f"chr{i + 1}"
        chroms[name] = length
        seq = rng.randbytes(length).translate(table)
        parts.append(f">{name} fuzz chromosome {i + 1}\n".encode())
        parts.extend(seq[j : j + width] + b"\n" for j in range(0, length, width))
    (folder / "fuzz.fa").write_bytes(b"".join(parts))
    run("bgzip", "-f", folder / "fuzz.fa")
    fasta = folder / "fuzz.fa.gz"
    run("samtools", "faidx", fasta)
    regions = []
    for _ in range(300):
        name = rng.choice(sorted(chroms))
        start = rng.randrange(1, chroms[name] + 1)
        end = min(chroms[name], start + rng.choice((0, 1, 59, 60, 61, 500, 5000, 70_000)))
        regions.append(f"{name}:{start}-{end}")
    regions += [f"{name}:{n}-{n}" for name, n in chroms.items()]  # last bases
    out = run("samtools", "faidx", fasta, *regions).stdout.decode()
    expected = {}
    for block in out.split(">")[1:]:
        header, _, body = block.partition("\n")
        expected[header.strip()] = body.replace("\n", "").encode()
    assert len(expected) == len(set(regions))
    return fasta, expected, sorted(expected)


def damage(rng: random.Random, entry_dir: Path, fasta_name: str) -> str:
    """Apply one random damage to a published entry; returns its description."""
    target = rng.choice(FILES)
    name = (
        fasta_name if target == "fasta" else ("entry.json" if target == "entry.json" else fasta_name + target)
    )
    path = entry_dir / name
    os.chmod(entry_dir, 0o755)
    if path.exists():
        os.chmod(path, 0o644)
    data = path.read_bytes() if path.exists() else b""
    stat = path.stat() if path.exists() else None
    kind = rng.choice(
        [
            "flip",
            "flip",
            "flip",
            "bit-rot",
            "bit-rot",
            "truncate",
            "append",
            "delete",
            "replace",
            "empty",
            "zero-run",
        ]
    )
    if kind in ("flip", "bit-rot") and data:
        buf = bytearray(data)
        for _ in range(rng.choice((1, 1, 1, 2, 8))):
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(buf))
        if kind == "bit-rot" and stat:  # bit rot: nothing but the bytes change
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    elif kind == "truncate" and data:
        path.write_bytes(data[: rng.randrange(len(data))])
    elif kind == "append":
        path.write_bytes(data + rng.randbytes(rng.choice((1, 2, 28, 1000))))
    elif kind == "delete":
        path.unlink(missing_ok=True)
    elif kind == "replace" and data:
        path.write_bytes(rng.randbytes(len(data)))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "zero-run" and data:
        at = rng.randrange(len(data))
        path.write_bytes(data[:at] + bytes(min(64, len(data) - at)) + data[at + 64 :])
    else:
        kind = "delete"
        path.unlink(missing_ok=True)
    return f"{kind} {name}"


@pytest.mark.slow
def test_random_damage_never_gives_wrong_bases_or_a_traceback(tmp_path, fuzz_genome, policy, capsys):
    fasta, expected, pool = fuzz_genome
    served = tmp_path / "served"
    served.mkdir()
    for suffix in ("", ".fai", ".gzi"):
        shutil.copyfile(f"{fasta}{suffix}", served / f"fuzz.fa.gz{suffix}")
    rng = random.Random(SEED)
    counts: collections.Counter[str] = collections.Counter()
    problems: list[str] = []
    started = time.monotonic()
    with serving(served) as server:
        url = server.url("fuzz.fa.gz")
        cache = GenomeCache(tmp_path / "cache", policy=policy, progress=False)
        first = cache.ensure(url)
        handover = f"file://{first.fasta}"  # what DOWNLOAD_GENOMES hands to SEQUENCE_RETRIEVAL
        entry_dir = Path(first.fasta).parent
        for i in range(DAMAGES):
            if not entry_dir.exists():  # a damage left it moved aside: fetch it again first
                problems.append(f"#{i}: entry still missing after the previous damage")
                cache.ensure(url)
            what = damage(rng, entry_dir, Path(first.fasta).name)
            counts["damages"] += 1
            before = len(settle(server).gets("fuzz.fa.gz"))
            outcome = "correct"
            for _ in range(READS_PER_DAMAGE):
                region = rng.choice(pool)
                source = handover if rng.random() < 0.8 else url
                try:
                    got = read_region(cache, source, region)
                except GenomeCacheError as exc:
                    counts["clear errors"] += 1
                    message = str(exc)
                    if os.environ.get("FUZZ_DEBUG"):
                        problems.append(f"#{i} {what}: {region}: {message}")
                    if "\n" in message or "Traceback" in message:
                        problems.append(f"#{i} {what}: multi-line error {message!r}")
                    outcome = "failed clearly" if outcome == "correct" else outcome
                    continue
                except Exception as exc:  # noqa: BLE001 - counting exactly these is the point
                    counts["tracebacks"] += 1
                    problems.append(f"#{i} {what}: {region}: {type(exc).__name__}: {exc}")
                    continue
                counts["reads"] += 1
                if got != expected[region]:
                    counts["wrong"] += 1
                    problems.append(f"#{i} {what}: {region}: WRONG bases")
            if len(settle(server).gets("fuzz.fa.gz")) > before:
                counts["refetched"] += 1
                outcome = "healed" if outcome == "correct" else "failed clearly, then healed"
            counts[outcome] += 1
            if os.environ.get("FUZZ_DEBUG"):
                print(i, what, outcome, round(time.monotonic() - started, 1))
            # the run after a clear failure must be sound again: a failed read moved the entry
            # aside, so at most one more call fails (damage the reads above did not touch)
            ok = False
            for _ in range(2):
                region = rng.choice(pool)
                try:
                    ok = read_region(cache, handover, region) == expected[region]
                except GenomeCacheError as exc:
                    problems.append(f"#{i} {what}: failing on a later call: {exc}")
                    continue
                except Exception as exc:  # noqa: BLE001
                    counts["tracebacks"] += 1
                    problems.append(f"#{i} {what}: later call: {type(exc).__name__}: {exc}")
                    continue
                if not ok:
                    counts["wrong"] += 1
                    problems.append(f"#{i} {what}: {region}: WRONG bases on a later call")
                break
            counts["recovered" if ok else "not recovered"] += 1
    seconds = time.monotonic() - started
    summary = (
        f"damage fuzz (seed {SEED}): {counts['damages']} damages, {counts['reads']} correct reads; "
        f"harmless {counts['correct']}, healed in the same call {counts['healed']}, "
        f"failed clearly {counts['failed clearly'] + counts['failed clearly, then healed']} "
        f"({counts['clear errors']} one-line errors), sound again on the next calls {counts['recovered']}, "
        f"wrong sequences {counts['wrong']}, tracebacks {counts['tracebacks']}, {seconds:.0f} s"
    )
    with capsys.disabled():
        print("\n" + summary)
        if os.environ.get("FUZZ_DEBUG"):
            print("\n".join(problems))
    assert counts["damages"] >= 500
    assert counts["wrong"] == 0 and counts["tracebacks"] == 0, "\n".join(problems[:20])
    assert counts["not recovered"] == 0, "\n".join(problems[:20])
    assert counts["healed"] + counts["failed clearly, then healed"] > 100  # healing happened, often
