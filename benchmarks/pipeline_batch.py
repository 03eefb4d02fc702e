#!/usr/bin/env python3
"""Warm pipeline per-request overhead: --retrievalBatch 1 vs larger batches vs 1 request.

Side by side in one call, on a warm cache of the embedded genome: a 1-request payload, a
100-request payload with each batch size asked for, and (``--empty``) the floor of an
empty Nextflow run. Prints one line per run and a JSON summary (medians over ``--repeat``).

    python benchmarks/pipeline_batch.py --batches 1 50 100 --repeat 2 --empty
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.support.httpserver import GenomeServer  # noqa: E402  (the genome on loopback HTTP)


def payload(path: Path, count: int, url: str) -> Path:
    base = json.loads((REPO / "assets/requests.json").read_text())
    items = []
    for i in range(count):
        request = dict(base[i % len(base)])
        request["unique_entry_id"] = f"R{i:04d}_{request['unique_entry_id']}"
        request["fasta_file_url"] = url
        items.append(request)
    path.write_text(json.dumps(items))
    return path


def run(work: Path, args: list[str]) -> float:
    env = {**os.environ, "PATH": f"{REPO / '.venv/bin'}:{REPO / 'bin'}:{os.environ['PATH']}"}
    start = time.perf_counter()
    result = subprocess.run(
        [str(REPO / "scripts/nextflow"), "run", *args, "-ansi-log", "false"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if result.returncode:
        raise SystemExit(f"nextflow {args} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 50, 100])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--empty", action="store_true", help="also time an empty Nextflow run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, GenomeServer(REPO / "assets/genome") as server:
        work = Path(tmp)
        cache = work / "cache"
        many = payload(work / "many.json", args.requests, server.url("ce.fa.gz"))
        one = payload(work / "one.json", 1, server.url("ce.fa.gz"))
        empty = work / "empty.nf"
        empty.write_text("workflow {\n}\n")

        def pipeline(input_path: Path, batch: int) -> float:
            return run(
                work,
                [
                    str(REPO / "main.nf"),
                    "--input",
                    str(input_path),
                    "--cacheDir",
                    str(cache),
                    "--outdir",
                    str(work / "results"),
                    "--retrievalBatch",
                    str(batch),
                ],
            )

        pipeline(one, 1)  # warm the cache (and Nextflow's own start)
        cases: dict[str, list[float]] = {}
        for _ in range(args.repeat):  # interleaved, so drift hits every case alike
            if args.empty:
                cases.setdefault("empty run", []).append(run(work, [str(empty)]))
            cases.setdefault("1 request", []).append(pipeline(one, 1))
            for batch in args.batches:
                key = f"{args.requests} requests, batch {batch}"
                cases.setdefault(key, []).append(pipeline(many, batch))
            for key, values in cases.items():
                print(f"{key:32s} {values[-1]:7.1f} s", flush=True)
        summary = {key: round(statistics.median(values), 2) for key, values in cases.items()}
        print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
