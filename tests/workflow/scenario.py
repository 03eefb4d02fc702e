#!/usr/bin/env python3
"""Pipeline scenarios against a real loopback HTTP server that logs every request.

Run from a pytest-workflow test folder (a copy of the repository):
``scenario.py twice`` runs the embedded requests over HTTP twice on one cache;
``scenario.py concurrent`` runs two pipelines at once on one cold cache;
``scenario.py range`` runs once with ``--access range``.
Each writes the server's request log to ``requests-<run>.json`` for the checks.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))
from tests.support.httpserver import GenomeServer  # noqa: E402

HERE = Path.cwd()


def payload(url: str) -> Path:
    requests = json.loads((HERE / "assets/requests.json").read_text())
    for request in requests:
        request["fasta_file_url"] = url
    path = HERE / "http-requests.json"
    path.write_text(json.dumps(requests))
    return path


def nextflow(name: str, input_path: Path, cwd: Path, *extra: str) -> int:
    cwd.mkdir(exist_ok=True)
    cmd = [
        "nextflow",
        "run",
        str(HERE / "main.nf"),
        "--input",
        str(input_path),
        "--cacheDir",
        str(HERE / "cache"),
        "--outdir",
        str(HERE / f"results-{name}"),
        "-ansi-log",
        "false",
        *extra,
    ]
    with open(HERE / f"{name}.log", "w") as log:
        return subprocess.run(cmd, check=False, cwd=cwd, stdout=log, stderr=subprocess.STDOUT).returncode


def main(mode: str) -> int:
    served = HERE / "served"
    served.mkdir()
    for suffix in ("", ".fai", ".gzi"):
        shutil.copy(HERE / f"assets/genome/ce.fa.gz{suffix}", served)
    # throttled so that concurrent runs overlap for seconds, not milliseconds
    with GenomeServer(served, throttle=40_000 if mode == "concurrent" else 0) as server:
        url = server.url("ce.fa.gz")
        path = payload(url)
        if mode == "twice":
            codes = []
            for name in ("run1", "run2"):
                start = len(server.log)
                codes.append(nextflow(name, path, HERE / name))
                (HERE / f"requests-{name}.json").write_text(json.dumps(server.log[start:]))
        elif mode == "range":
            codes = [nextflow("range", path, HERE / "range", "--access", "range")]
            (HERE / "requests-range.json").write_text(json.dumps(server.log))
        else:
            with ThreadPoolExecutor(2) as pool:
                codes = list(pool.map(lambda name: nextflow(name, path, HERE / name), ["runA", "runB"]))
            (HERE / "requests-concurrent.json").write_text(json.dumps(server.log))
    return max(codes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
