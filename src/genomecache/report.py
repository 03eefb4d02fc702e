"""Per-run cache report: per genome, hit or miss, where from, bytes and seconds.

Results: ``miss`` (downloaded whole), ``hit`` (cache or mirror), ``range`` (indexes
fetched; retrieval tasks fetch only the blocks they read, not counted here).
"""

from __future__ import annotations

import json
from pathlib import Path

from . import __version__
from .locations import redact


def build_report(
    receipts: list[dict],
    session: str,
    requests_per_genome: dict[str, int],
    entries: dict[str, dict] | None = None,
) -> dict:
    """Summarise download receipts of one run.

    ``entries`` maps entry names to their published records, which name the session
    that downloaded them: that decides hit or miss, as the storeDir receipt is
    last-writer-wins (two runs on a cold cache would otherwise both see the second
    run's receipt). Without a record, a receipt written by an earlier session was
    reused through Nextflow's storeDir without running the download task: a cache hit
    that moved nothing. ``per_task_bytes`` is what downloading the genome in every
    request would move.
    """
    entries = entries or {}
    genomes = []
    for receipt in sorted(receipts, key=lambda r: r["url"]):
        record = entries.get(receipt.get("entry", ""))
        if record and record.get("session") and receipt["source"] in ("network", "local", "cache"):
            downloaded = record["session"] == session
            fetched = "local" if str(record.get("url", "")).startswith("file://") else "network"
            source = fetched if downloaded else "cache"
            moved = record.get("bytes_downloaded", 0) if downloaded else 0
            seconds = record.get("seconds", 0.0) if downloaded else 0.0
        else:
            reused = receipt.get("session") != session
            source = "cache" if reused and receipt["source"] in ("network", "local") else receipt["source"]
            moved = 0 if reused else receipt.get("bytes_downloaded", 0)
            seconds = 0.0 if reused else receipt.get("seconds", 0.0)
        n = requests_per_genome.get(receipt["url"], 0)
        genomes.append(
            {
                "url": redact(receipt["url"]),
                "entry": receipt["entry"],
                "requests": n,
                "result": {"network": "miss", "local": "miss", "range": "range"}.get(source, "hit"),
                "source": source,
                "bytes_downloaded": moved,
                "seconds": round(seconds, 3),
                "per_task_bytes": n * receipt.get("size", 0),
            }
        )
    return {
        "session": session,
        "version": __version__,  # the pipeline's one version (manifest.version)
        "genomes": genomes,
        "totals": {
            key: sum(g[key] for g in genomes) for key in ("requests", "bytes_downloaded", "per_task_bytes")
        },
    }


def human(nbytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if nbytes < 1024 or unit == "GiB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes} B"


def summary(report: dict) -> str:
    lines = [f"Genome cache report (genome-cache {report.get('version', '?')})", ""]
    for g in report["genomes"]:
        lines.append(
            f"{g['result']:4}  {g['source']:7}  {human(g['bytes_downloaded']):>10}  "
            f"{g['seconds']:7.1f}s  {g['requests']:4} requests  {g['url']}"
        )
    t = report["totals"]
    lines += [
        "",
        f"downloaded {human(t['bytes_downloaded'])} for {t['requests']} requests; "
        f"a download per task would have moved {human(t['per_task_bytes'])}",
    ]
    return "\n".join(lines) + "\n"


def write_report(report: dict, outdir: Path) -> None:
    (outdir / "cache-report.json").write_text(json.dumps(report, indent=1) + "\n")
    (outdir / "cache-report.txt").write_text(summary(report))
