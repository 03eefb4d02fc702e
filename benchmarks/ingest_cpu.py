#!/usr/bin/env python3
"""CPU cost of the cold-fetch pass, two versions of the package side by side (issue 10).

On a shared machine wall times drift with the other work on it; CPU seconds (user +
system) of the process do not, so each version is measured by them, interleaved, in one run:

- the in-memory BGZF verifier (``bgzf.StreamChecker`` fed 4 MiB chunks, as in
  ``core.py``), wall and CPU seconds, MB/s and MB per CPU-second (compressed);
- a whole cold fetch (``GenomeCache.ensure``) from the unthrottled loopback server,
  and ``curl`` of the same three files, CPU seconds per GB.

``--before DIR`` is another checkout's ``src`` (``git archive HEAD src | tar -x -C DIR``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import core  # noqa: E402
import measure  # noqa: E402

VERIFY = """
import json, resource, sys, time
from genomecache import bgzf
data = open(sys.argv[1], "rb").read()
def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
c0, t0 = cpu(), time.monotonic()
checker = bgzf.StreamChecker()
for i in range(0, len(data), 4 << 20):
    checker.feed(data[i : i + (4 << 20)])
blocks = checker.finish()
print(json.dumps({"seconds": time.monotonic() - t0, "cpu": cpu() - c0, "size": len(data)}))
"""


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(wall, CPU seconds, stdout) of one command."""
    before, started = children_cpu(), time.monotonic()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env, cwd=ROOT).stdout
    return time.monotonic() - started, children_cpu() - before, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="src directory of the version to compare with")
    parser.add_argument("--scale", type=float, default=1, help="1 = ~263 MB BGZF, 4 = ~1 GB")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--skip-fetch", action="store_true")
    parser.add_argument("--skip-verify", action="store_true")
    parser.add_argument("--throttle", type=float, default=0, help="MB/s of the server (0: unthrottled)")
    args = parser.parse_args()
    versions = {"after": ROOT / "src"}
    if args.before:
        versions = {"before": args.before.resolve(), **versions}
    path = core.genome(BENCH / "out", args.scale)
    size = path.stat().st_size
    py = core.PY
    rows: dict[str, list[dict]] = {f"{k} {v}": [] for k in ("verify", "fetch") for v in versions}
    rows["fetch curl"] = []
    www = BENCH / "out" / "ingest_cpu" / "www"
    shutil.rmtree(www, ignore_errors=True)
    www.mkdir(parents=True)
    for suffix in ("", ".fai", ".gzi"):
        core.link(Path(f"{path}{suffix}"), www / f"g.fa.gz{suffix}")
    server = (
        None if args.skip_fetch else measure.Server(www, www.parent / "server.jsonl", args.throttle * 1e6)
    )
    try:
        for _ in range(args.reps):
            for name, src in versions.items():
                env = {**os.environ, "PYTHONPATH": str(src)}
                if not args.skip_verify:
                    wall, cpu, out = run([py, "-c", VERIFY, str(path)], env)
                    inner = json.loads(out)
                    rows[f"verify {name}"].append({"wall": inner["seconds"], "cpu": inner["cpu"]})
                if server is not None:
                    cache = www.parent / "cache"
                    shutil.rmtree(cache, ignore_errors=True)
                    wall, cpu, out = run([py, "-c", core.FETCH, str(cache), server.url("g.fa.gz")], env)
                    rows[f"fetch {name}"].append({"wall": json.loads(out)["seconds"], "cpu": cpu})
                    shutil.rmtree(cache, ignore_errors=True)
            if server is not None:
                files = www.parent / "curl"
                shutil.rmtree(files, ignore_errors=True)
                files.mkdir()
                cmd = ["curl", "-sf"]
                for suffix in ("", ".fai", ".gzi"):
                    cmd += ["-o", str(files / f"x{suffix}"), server.url(f"g.fa.gz{suffix}")]
                wall, cpu, _ = run(cmd)
                rows["fetch curl"].append({"wall": wall, "cpu": cpu})
                shutil.rmtree(files, ignore_errors=True)
    finally:
        if server is not None:
            server.stop()
    print(
        f"{size / 1e6:.0f} MB BGZF, server {f'{args.throttle:g} MB/s' if args.throttle else 'unthrottled'}, "
        f"load {os.getloadavg()[0]:.1f}, {args.reps} runs each (medians)"
    )
    for label, got in rows.items():
        if not got:
            continue
        wall = sorted(r["wall"] for r in got)[len(got) // 2]
        cpu = sorted(r["cpu"] for r in got)[len(got) // 2]
        print(
            f"{label:14s} wall {wall:6.2f} s ({size / wall / 1e6:5.0f} MB/s)  CPU {cpu:6.2f} s "
            f"({cpu / size * 1e9:5.2f} CPU-s per GB, {size / cpu / 1e6:5.0f} MB per CPU-second)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
