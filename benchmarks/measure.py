"""Measuring instruments: the throttled loopback server and its log, a disk poller, runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
NEXTFLOW = ROOT / "scripts/nextflow"


class Server:
    """The tests' HTTP server (``tests/support/httpserver.py``) as a subprocess, with its JSON-lines log."""

    def __init__(self, root: Path, log: Path, throttle: float) -> None:
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("")
        port_file = log.with_suffix(".port")
        port_file.unlink(missing_ok=True)
        # stderr: socketserver prints a traceback whenever a client hangs up mid-response
        self.errors = open(log.with_suffix(".stderr"), "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.httpserver", str(root), "--log", str(log)]
            + ["--port-file", str(port_file), "--throttle", str(throttle)],
            cwd=ROOT,
            stdout=self.errors,
            stderr=self.errors,
        )
        for _ in range(200):
            if port_file.exists() and port_file.read_text().strip():
                break
            if self.proc.poll() is not None:
                raise RuntimeError("the benchmark HTTP server did not start")
            time.sleep(0.05)
        self.port = int(port_file.read_text())
        self.sizes = {f"/{p.name}": p.stat().st_size for p in root.iterdir() if p.is_file()}

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def entries(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def mark(self) -> int:
        self.settle()
        return len(self.entries())

    def since(self, mark: int) -> list[dict]:
        self.settle()
        return self.entries()[mark:]

    def settle(self, quiet: float = 0.5) -> None:
        """Wait until the log stops growing (the server logs a response after sending it)."""
        size = -1
        while size != self.log.stat().st_size:
            size = self.log.stat().st_size
            time.sleep(quiet)

    def calibrate(self, name: str, times: int = 2) -> float:
        """Best achieved bytes/second of whole-file GETs (the throttle is per response)."""
        best = 0.0
        for _ in range(times):
            started = time.monotonic()
            got = 0
            with urllib.request.urlopen(self.url(name), timeout=60) as response:
                while block := response.read(4 << 20):
                    got += len(block)
            best = max(best, got / (time.monotonic() - started))
        return best

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.errors.close()


def disk_usage(paths: list[Path]) -> int:
    """Bytes allocated (st_blocks, so sparse files count what they hold) under ``paths``.

    Symlinks are not followed and hard links count once.
    """
    seen: set[tuple[int, int]] = set()
    total = 0
    stack = [str(p) for p in paths]
    while stack:
        top = stack.pop()
        try:
            with os.scandir(top) as it:
                for item in it:
                    try:
                        if item.is_dir(follow_symlinks=False):
                            stack.append(item.path)
                        elif item.is_file(follow_symlinks=False):
                            st = item.stat(follow_symlinks=False)
                            key = (st.st_dev, st.st_ino)
                            if key not in seen:
                                seen.add(key)
                                total += st.st_blocks * 512
                    except FileNotFoundError:
                        continue
        except (FileNotFoundError, NotADirectoryError):
            continue
    return total


class DiskPoller(threading.Thread):
    """Samples :func:`disk_usage` every ``interval`` seconds; ``peak`` is the largest sample."""

    def __init__(self, paths: list[Path], interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.paths, self.interval = paths, interval
        self.peak = 0
        self.samples = 0
        self._halt = threading.Event()

    def sample(self) -> None:
        self.peak = max(self.peak, disk_usage(self.paths))
        self.samples += 1

    def run(self) -> None:
        self.sample()
        while not self._halt.wait(self.interval):
            self.sample()

    def finish(self) -> int:
        self._halt.set()
        self.join()
        self.sample()
        return self.peak


@dataclass
class Run:
    """One measured mode on one job."""

    job: str
    mode: str
    bytes: int | None = None
    seconds: float | None = None
    peak_disk: int | None = None
    http_requests: int = 0
    ranged_requests: int = 0
    abandoned_gets: int = 0  # whole-file GETs the client hung up on before the end
    abandoned_bytes: int = 0
    extrapolated: bool = False
    available: bool = True
    note: str = ""
    tasks: list[float] = field(default_factory=list)  # per-task seconds (Nextflow trace realtime)


def nextflow(script: Path, run_dir: Path, args: list[str]) -> None:
    """``nextflow run`` in ``run_dir`` (its own work dir, trace and log); raise on failure."""
    run_dir.mkdir(parents=True, exist_ok=True)
    cmd = [str(NEXTFLOW), "run", str(script), "-ansi-log", "false", "-w", str(run_dir / "work")]
    cmd += ["-c", str(BENCH / "bench.config"), *args]
    env = dict(os.environ)
    env["PATH"] = f"{ROOT / '.venv/bin'}:{ROOT / 'bin'}:{env.get('PATH', '')}"
    env.pop("NXF_WORK", None)
    with open(run_dir / "nextflow.out", "w") as out:
        code = subprocess.run(cmd, cwd=run_dir, stdout=out, stderr=subprocess.STDOUT, env=env).returncode
    if code != 0:
        tail = "\n".join((run_dir / "nextflow.out").read_text().splitlines()[-25:])
        raise RuntimeError(f"{script.name} failed (exit {code}) in {run_dir}:\n{tail}")


def trace_seconds(run_dir: Path, process: str) -> list[float]:
    """Per-task ``realtime`` in seconds of one process from the run's raw trace."""
    trace = run_dir / "trace.txt"
    if not trace.exists():
        return []
    lines = trace.read_text().splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"), strict=False)) for line in lines[1:]]
    return [
        int(r["realtime"]) / 1000
        for r in rows
        if process in r.get("name", "") and r.get("realtime", "-").isdigit()
    ]


def measure(run: Run, server: Server, disk: list[Path], action) -> Run:  # type: ignore[no-untyped-def]
    """Time ``action()``, poll ``disk`` meanwhile, and count what the server sent."""
    mark = server.mark()
    poller = DiskPoller(disk)
    poller.start()
    started = time.monotonic()
    try:
        action()
    finally:
        run.seconds = time.monotonic() - started
        run.peak_disk = poller.finish()
    log = server.since(mark)
    run.bytes = sum(e["bytes"] for e in log)
    run.http_requests = len(log)
    run.ranged_requests = sum(1 for e in log if e.get("range"))
    abandoned = [
        e
        for e in log
        if e["method"] == "GET" and not e.get("range") and e["bytes"] < server.sizes.get(e["path"], 0)
    ]
    run.abandoned_gets = len(abandoned)
    run.abandoned_bytes = sum(e["bytes"] for e in abandoned)
    return run
