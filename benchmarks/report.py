"""Turn the benchmark's measurements into RESULTS.md and results.png."""

from __future__ import annotations

import math
from pathlib import Path

MODES = {
    "a": "(a) PAVI: every task downloads",
    "b": "(b) Nextflow staging",
    "c": "(c) cache, cold",
    "d": "(d) cache, warm",
    "e": "(e) range, cold",
    "e_cli": "(e′) range, cold, `seq_retrieval.py --access range` alone (no Nextflow)",
}
SHORT = {
    "a": "(a) PAVI per task",
    "b": "(b) NF staging",
    "c": "(c) cache cold",
    "d": "(d) cache warm",
    "e": "(e) range cold",
}
COLORS = {"a": "#c0392b", "b": "#e67e22", "c": "#2980b9", "d": "#27ae60", "e": "#8e44ad", "e_cli": "#bb8fce"}


def human(n: float | None) -> str:
    if n is None:
        return "–"
    if n == 0:
        return "0 B"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


def seconds(s: float | None) -> str:
    if s is None:
        return "–"
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min"


def ratio(x: float | None, base: float | None) -> str:
    if x is None or not base:
        return "–"
    r = x / base
    if r == 0:
        return "0"
    if r < 0.01:
        return f"{r:.2g}"
    return f"{r:.3f}" if r < 10 else f"{r:.0f}"


def job_label(job: dict) -> str:
    return f"{job['n']} requests / {job['g']} genome{'s' if job['g'] > 1 else ''}"


def _cell(run: dict | None, key: str, fmt) -> str:  # type: ignore[no-untyped-def]
    if run is None:
        return "–"
    if not run["available"]:
        return "n/a"
    text = fmt(run[key])
    return f"{text}\\*" if run["extrapolated"] else text


def targets(results: dict) -> list[dict]:
    """Each target with the measured value, met or not, and by how much."""
    genome_size = results["genome"]["bgzf_bytes"]
    runs = {(r["job"], r["mode"]): r for r in results["runs"]}
    out = []
    for job in results["jobs"]:
        key = job["key"]
        a, c = runs.get((key, "a")), runs.get((key, "c"))
        if a and c and a["bytes"]:
            want = job["g"] / job["n"]
            got = c["bytes"] / a["bytes"]
            met = got <= want * 1.01
            how = f"met (within {abs(got / want - 1) * 100:.2f} %)" if met else f"missed by {got / want:.2f}×"
            out.append(
                {
                    "target": f"(c)/(a) bytes = 1/N: {job_label(job)}",
                    "want": f"{want:.4f}",
                    "got": f"{got:.4f}" + (" (a extrapolated)" if a["extrapolated"] else ""),
                    "met": met,
                    "how": how,
                }
            )
    for job in results["jobs"]:
        d = runs.get((job["key"], "d"))
        if d:
            met = d["bytes"] == 0
            out.append(
                {
                    "target": f"(d) warm bytes = 0: {job_label(job)}",
                    "want": "0 B",
                    "got": human(d["bytes"]),
                    "met": met,
                    "how": "met" if met else f"missed by {human(d['bytes'])}",
                }
            )
    for job in results["jobs"]:
        if job["n"] != 5:
            continue
        limit = 0.01 * genome_size * job["g"]
        scope = "the genome" if job["g"] == 1 else f"the {job['g']} genomes"
        for mode in ("e", "e_cli"):
            e = runs.get((job["key"], mode))
            if not e or (mode == "e_cli" and not e["available"]):
                continue
            what = "(e) range" if mode == "e" else "(e′) range via `seq_retrieval.py` alone, informational"
            row = {"target": f"{what}: bytes ≤ 1 % of {scope}: {job_label(job)}"}
            row["want"] = f"≤ {human(limit)}"
            if not e["available"]:
                row.update(got="not available", met=None, how=f"not measured: {e['note']}")
            else:
                met = e["bytes"] <= limit
                share = e["bytes"] / (genome_size * job["g"]) * 100
                how = f"met ({share:.3f} % of {scope})" if met else f"missed by {e['bytes'] / limit:.1f}×"
                row.update(got=human(e["bytes"]), met=met, how=how)
            out.append(row)
    warm = results.get("warm")
    if warm:
        met = warm["mean_ms"] <= 50
        how = f"met ({50 / warm['mean_ms']:.0f}× under)" if met else f"missed by {warm['mean_ms'] / 50:.1f}×"
        out.append(
            {
                "target": f"warm retrieval in one process ({warm['requests']} requests)",
                "want": "≤ 50 ms/request",
                "got": f"{warm['mean_ms']:.2f} ms mean "
                f"(median {warm['median_ms']:.2f}, p95 {warm['p95_ms']:.2f})",
                "met": met,
                "how": how,
            }
        )
    return out


def headline(results: dict) -> list[str]:
    """One line per genome count, for its largest job."""
    runs = {(r["job"], r["mode"]): r for r in results["runs"]}
    lines = []
    for g in sorted({job["g"] for job in results["jobs"]}):
        job = max((j for j in results["jobs"] if j["g"] == g), key=lambda j: j["n"])
        a, c, d, e = (runs.get((job["key"], m)) for m in "acde")
        if not (a and c):
            continue
        star = "\\*" if a["extrapolated"] else ""
        parts = [
            f"- **{job_label(job)}**: PAVI's way moves {human(a['bytes'])}{star} "
            f"in {seconds(a['seconds'])}{star}; the cache, cold, {human(c['bytes'])} "
            f"({c['bytes'] / a['bytes'] * 100:.3g} % of it) in {seconds(c['seconds'])}"
        ]
        if d:
            parts.append(f"warm, {human(d['bytes'])} in {seconds(d['seconds'])}")
        if e and e["available"]:
            parts.append(f"range mode, cold, {human(e['bytes'])} in {seconds(e['seconds'])}")
        lines.append("; ".join(parts) + ".")
    return lines


def markdown(results: dict) -> str:
    g = results["genome"]
    env = results["environment"]
    runs = {(r["job"], r["mode"]): r for r in results["runs"]}
    lines = [
        f"# Benchmark results ({results['profile']} run)",
        "",
        f"Run on {results['date']} with `{results['command']}` in {seconds(results['total_seconds'])} "
        "(genome generation included when it was not cached). Method: [README.md](README.md).",
        "",
        "## Headline",
        "",
        *headline(results),
        "",
        "## Setup",
        "",
        f"- Machine: {env['cpu']}, {env['cores']} cores, {env['memory_gib']:.0f} GiB RAM, {env['os']}; "
        f"Nextflow {env['nextflow']}, Python {env['python']}.",
        "- Network: loopback HTTP server (`tests/support/httpserver.py`) throttled "
        f"to **{results['throttle'] / 1e6:.0f} MB/s per response** (S3 → EC2 in-region is ~100–200 MB/s per "
        f"stream); one whole-genome GET measured {results['calibrated_rate'] / 1e6:.0f} MB/s.",
        f"- Genome: synthetic, {g['bases'] / 1e6:.0f} Mbp in {g['sequences']} sequences "
        f"(random ACGT, N runs, soft-masked stretches, 60-char lines), BGZF **{human(g['bgzf_bytes'])}** "
        f"(`bgzip -@2`) + .fai {human(g['fai_bytes'])} + .gzi {human(g['gzi_bytes'])} (`samtools faidx`).",
        '- "3 genomes": the same file served under 3 URLs (hard links `g1/g2/g3.fa.gz`). Different URLs '
        "are separate cache entries and separate downloads, so this behaves like 3 different genomes.",
        "- Jobs: random multi-exon transcripts with CDS on random chromosomes and strands, in PAVI's "
        "payload format (`assets/requests.json`), round-robin over the genomes; output type protein.",
        "- Each retrieval task uses 1 CPU, so 2 run at once on this machine, in every mode.",
        f"- Range mode: {results['range_status']}",
        "",
        "## Results",
        "",
        "Bytes = everything the server sent during the run (genome, indexes, HEADs). Peak disk = largest "
        "sample (every 0.5 s) of the allocated size of the cache dir + the run's work dir. Ratios are to "
        "(a) on the same job. \\* = extrapolated linearly from the measured (a) runs (see README).",
        "",
        "| Job | Mode | Bytes over network | Wall time | Peak disk | Bytes ÷ (a) | Time ÷ (a) | Disk ÷ (a) |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for job in results["jobs"]:
        a = runs.get((job["key"], "a"))
        for mode in [*results["modes"], "e_cli"]:
            run = runs.get((job["key"], mode))
            if run is None:
                continue
            ok = run["available"]
            lines.append(
                f"| {job_label(job)} | {MODES[mode]} | {_cell(run, 'bytes', human)} "
                f"| {_cell(run, 'seconds', seconds)} | {_cell(run, 'peak_disk', human)} "
                f"| {ratio(run['bytes'], a and a['bytes']) if ok else 'n/a'} "
                f"| {ratio(run['seconds'], a and a['seconds']) if ok and mode != 'e_cli' else 'n/a'} "
                f"| {ratio(run['peak_disk'], a and a['peak_disk']) if ok else 'n/a'} |"
            )
    lines += ["", "![bytes, wall time and peak disk per mode and job](results.png)", "", "## Targets", ""]
    lines += ["| Target | Wanted | Measured | Verdict |", "|---|--:|--:|---|"]
    for t in targets(results):
        mark = {True: "✅", False: "❌", None: "⚠️"}[t["met"]]
        lines.append(f"| {t['target']} | {t['want']} | {t['got']} | {mark} {t['how']} |")
    warm = results.get("warm")
    if warm:
        lines += [
            "",
            f"Warm retrieval in one process: `Genome.open` on the cache entry took {warm['open_ms']:.1f} ms; "
            f"then `retrieve(..., 'protein')` for {warm['requests']} requests took "
            f"{warm['total_s'] * 1000:.0f} ms in all: mean {warm['mean_ms']:.2f} ms, median "
            f"{warm['median_ms']:.2f} ms, p95 {warm['p95_ms']:.2f} ms, max {warm['max_ms']:.2f} ms "
            "per request (page cache warm).",
        ]
    lines += ["", "## Notes", ""] + [f"- {note}" for note in results["notes"]]
    return "\n".join(lines) + "\n"


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    runs = {(r["job"], r["mode"]): r for r in results["runs"]}
    jobs, modes = results["jobs"], list(results["modes"])  # (e') is in the table only
    panels = [
        ("bytes", "Bytes over the network", True),
        ("seconds", "Wall time", True),
        ("peak_disk", "Peak disk (cache + work)", True),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.2))
    width = 0.8 / len(modes)
    for ax, (key, title, log) in zip(axes, panels, strict=True):
        values = [
            r[key] for r in results["runs"] if r["available"] and r[key] and r["mode"] in modes and r[key] > 0
        ]
        floor = min(values) / 3 if values else 1
        for j, job in enumerate(jobs):
            for m, mode in enumerate(modes):
                run = runs.get((job["key"], mode))
                x = j + (m - (len(modes) - 1) / 2) * width
                if run is None:
                    continue
                if not run["available"]:
                    ax.text(x, floor * 1.2, "n/a", rotation=90, ha="center", va="bottom", fontsize=7)
                    continue
                value = run[key] or 0
                if value <= 0:
                    ax.text(x, floor * 1.2, "0", ha="center", va="bottom", fontsize=8, color=COLORS[mode])
                    continue
                ax.bar(
                    x,
                    value - floor,
                    width,
                    bottom=floor,
                    color=COLORS[mode],
                    hatch="///" if run["extrapolated"] else None,
                    edgecolor="white" if run["extrapolated"] else COLORS[mode],
                )
                label = seconds(value) if key == "seconds" else human(value)
                ax.text(x, value * 1.08, label, rotation=90, ha="center", va="bottom", fontsize=6.5)
        if log:
            ax.set_yscale("log")
            decades = math.log10(max(values) / min(values)) if values else 1
            subs = (1.0, 2.0, 5.0) if decades <= 3 else (1.0,) if decades > 5 else (1.0, 3.0)
            ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=subs))
        ax.set_ylim(bottom=floor, top=max(values) * 4 if values else 10)
        ax.set_xlim(-0.5, len(jobs) - 0.5)
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        if key in ("bytes", "peak_disk"):
            ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: human(v)))
        else:
            ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g} s"))
        ax.set_xticks(range(len(jobs)))
        ax.set_xticklabels(
            [f"{job['n']} req\n{job['g']} genome{'s' if job['g'] > 1 else ''}" for job in jobs]
        )
        ax.set_title(title)
        ax.grid(axis="y", which="major", alpha=0.3)
    handles = [Patch(color=COLORS[m], label=SHORT[m]) for m in modes]
    handles.append(Patch(facecolor="grey", hatch="///", edgecolor="white", label="extrapolated"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False)
    g = results["genome"]
    fig.suptitle(
        f"Genome {human(g['bgzf_bytes'])} BGZF over loopback HTTP at {results['throttle'] / 1e6:.0f} MB/s "
        f"per stream, {results['environment']['cores']} cores ({results['date']})"
    )
    fig.tight_layout(rect=(0, 0.07, 1, 0.95))
    fig.savefig(path, dpi=110)
    plt.close(fig)
