#!/usr/bin/env python3
"""Manage the shared genome cache: fetch, populate, list, verify, prune, remove, status, report."""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import logging
import os
import sys
from pathlib import Path

from genomecache import __version__, aliases, ranged, sizes
from genomecache.cache import (
    GenomeCache,
    default_cache_dir,
    genome_requests,
    parse_known_hash,
    precheck_requests,
    to_json,
)
from genomecache.errors import GenomeCacheError
from genomecache.locations import parse_location
from genomecache.report import build_report, human, write_report

MIN_PRUNE_SIZE = 1 << 20  # a smaller --max-size is almost surely a unit mistake: needs --force


def parse_size(text: str) -> int:
    """``500M``, ``20G``, ``1.5TiB`` or a byte count; every unit is binary (G = GiB)."""
    try:
        return sizes.parse_size(text)
    except GenomeCacheError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_fetch(cache: GenomeCache, args: argparse.Namespace) -> int:
    args.url = aliases.resolve(args.url)  # `fetch worm` / `fetch WBcel235`: conf/genomes.json
    parse_known_hash(args.sha256)  # a malformed checksum fails now, not after the download
    checked = precheck_requests(cache, args.url, args.requests) if args.requests else None
    if args.requests and args.variant_api:
        # store the variant records while the cache is writable (retrieval may mount it read-only);
        # an unknown variant fails here, before the genome is downloaded
        from genomecache.variant_api import prefetch_variants

        prefetch_variants(cache, genome_requests(args.url, args.requests), args.variant_api)
    if args.access == "range":  # source 'range' when prepared for block reads, else as ensure() says
        resolved = ranged.prepare(cache, args.url, args.sha256)
    else:
        resolved = cache.ensure(args.url, args.sha256)
    if checked == "after download":  # the source had no .fai: check against the cached one
        precheck_requests(cache, args.url, args.requests)
    receipt = {**to_json(resolved), "session": args.session}
    if args.receipt:
        args.receipt.write_text(json.dumps(receipt, indent=1) + "\n")
    print(resolved.fasta)
    return 0


def cmd_populate(cache: GenomeCache, args: argparse.Namespace) -> int:
    genomes = json.loads(args.manifest.read_text())["genomes"]
    failed = 0
    for genome in genomes:
        try:
            resolved = cache.ensure(genome["url"], genome.get("sha256"))
            logging.info("%s: %s (%s)", genome["name"], resolved.source, human(resolved.size))
        except GenomeCacheError as exc:
            print(f"ERROR {genome['name']}: {exc}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def cmd_list(cache: GenomeCache, args: argparse.Namespace) -> int:
    entries = cache.entries()
    if args.json:
        print(json.dumps(entries, indent=1))
        return 0
    # the entry column is what `verify ENTRY` and `remove ENTRY` take
    width = max([len("entry"), *(len(e["entry"]) for e in entries)])
    print(f"{'entry':{width}}  {'kind':6}  {'size':>10}  {'last use':16}  {'verified':25}  source")
    for e in entries:
        if "problem" in e:
            print(f"{e['entry']:{width}}  {e['kind']:6}  {'?':>10}  {'':16}  {'PROBLEM':25}  {e['problem']}")
            continue
        used = dt.datetime.fromtimestamp(e["last_used"]).strftime("%Y-%m-%d %H:%M")
        verified = e.get("verified_at", "never") if e["kind"] == "genome" else "per block, on read"
        size, url = human(e["disk_bytes"]), e.get("url", "?")
        print(f"{e['entry']:{width}}  {e['kind']:6}  {size:>10}  {used:16}  {verified:25}  {url}")
    return 0


def cmd_verify(cache: GenomeCache, args: argparse.Namespace) -> int:
    entries = args.entry or [e["entry"] for e in cache.entries() if e["kind"] == "genome"]
    bad = 0
    for entry in entries:
        problem = cache.verify(entry, remove_bad=not args.keep)
        if problem:
            print(f"BAD {problem}", file=sys.stderr)
            bad += 1
        else:
            print(f"OK  {entry}")
    return 1 if bad else 0


def cmd_prune(cache: GenomeCache, args: argparse.Namespace) -> int:
    if args.max_size < MIN_PRUNE_SIZE and not args.force:
        raise GenomeCacheError(
            f"--max-size {args.max_size} bytes is below 1 MiB and would empty the cache "
            "(units are binary: 20G is 20 GiB); add --force if you mean it"
        )
    plan = cache.prune_plan(args.max_size)
    for record in plan["keep"]:
        print(f"keep {record['entry']} ({human(record.get('disk_bytes', 0))})")
    removed = set(cache.prune(args.max_size, args.dry_run))
    for record in plan["remove"]:
        if record["entry"] in removed:
            verb = "would remove" if args.dry_run else "removed"
        else:
            verb = "in use, kept"
        print(f"{verb} {record['entry']} ({human(record.get('disk_bytes', 0))})")
    for name in sorted(removed - {r["entry"] for r in plan["remove"]}):
        print(f"removed {name} (quarantined or abandoned download)")
    print(f"cache holds {human(plan['bytes_after'])} of at most {human(args.max_size)}")
    return 0


def cmd_remove(cache: GenomeCache, args: argparse.Namespace) -> int:
    for name in args.entry:
        url = aliases.resolve(name)  # an alias names its genome's entry too
        entry = url if "/" not in url and ":" not in url else parse_location(url).entry_name
        cache.remove(entry)
        print(f"removed {entry}")
    return 0


def cmd_status(cache: GenomeCache, args: argparse.Namespace) -> int:
    status = cache.status()
    if args.json:
        print(json.dumps(status, indent=1))
    else:
        print(f"cache {status['root']}: {status['entries']} genomes, {human(status['bytes'])}")
        print(f"mirror: {status['mirror'] or 'none'}")
        for name in status["partial_downloads"]:
            print(f"partial download (resumed on next fetch): {name}")
        for name in status.get("quarantined", []):
            print(f"quarantined (deleted by prune once no task reads it): {name}")
        for problem in status["problems"]:
            print(f"problem: {problem}")
    return 1 if status["problems"] else 0


def cmd_report(cache: GenomeCache, args: argparse.Namespace) -> int:
    receipts = [json.loads(path.read_text()) for path in args.receipts]
    plan = json.loads(args.genomes.read_text())
    counts = {g["display_url"]: g["requests"] for g in plan}
    report = build_report(receipts, args.session, counts, fetched_by(cache, receipts))
    args.outdir.mkdir(parents=True, exist_ok=True)
    write_report(report, args.outdir)
    return 0


def entry_cache(cache: GenomeCache, receipt: dict) -> GenomeCache:
    """The cache holding a receipt's genome: CACHE_REPORT gets no --cache-dir, but a cached
    genome's path, <root>/genomes/<entry>/<fasta>, names its root."""
    fasta = Path(str(receipt.get("fasta") or ""))
    entry_dir = fasta.parent
    if fasta.is_absolute() and entry_dir.name == receipt.get("entry") and entry_dir.parent.name == "genomes":
        root = entry_dir.parent.parent
        if root != cache.root:
            return GenomeCache(root, progress=False)
    return cache


def fetched_by(cache: GenomeCache, receipts: list[dict]) -> dict[str, dict]:
    """Each receipt's published entry record (which session fetched it), where readable.

    The storeDir receipt is last-writer-wins: under two concurrent runs it may be the
    other run's, so the entry decides who downloaded.
    """
    records = {}
    for receipt in receipts:
        entry = receipt.get("entry")
        if receipt.get("source") in ("network", "local", "cache") and isinstance(entry, str):
            try:
                record = entry_cache(cache, receipt).read_entry(entry)
            except GenomeCacheError:
                record = None
            if record:
                records[entry] = record
    return records


def main(argv: list[str] | None = None) -> int:
    # Common options are accepted before or after the subcommand.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--cache-dir",
        default=argparse.SUPPRESS,
        help="cache root (default: $GENOMECACHE_DIR or ~/.cache/genomecache)",
    )
    common.add_argument(
        "--mirror",
        default=argparse.SUPPRESS,
        help="read-only directory of genomes by basename, consulted first",
    )
    common.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress output"
    )
    # fetch @FILE reads the URL from FILE: a URL with credentials stays off the command line
    parser = argparse.ArgumentParser(description=__doc__, parents=[common], fromfile_prefix_chars="@")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    add = functools.partial(sub.add_parser, parents=[common])
    p = add("fetch", help="fetch one genome URL into the cache (or find it)")
    p.add_argument("url")
    p.add_argument(
        "--sha256", help="expected checksum of the source file, 'sha256:<64 hex digits>' (checked first)"
    )
    p.add_argument("--receipt", type=Path, help="write where the genome came from as JSON")
    p.add_argument(
        "--session", default="", help="run id recorded in the receipt and, when it downloads, in the entry"
    )
    p.add_argument(
        "--requests",
        type=Path,
        help="JSON list of the requests for this genome (check_requests.py's requests.json; others are "
        "ignored): their seq_id and regions are checked against the source's .fai before the "
        "genome is downloaded (after it, when the source has no .fai)",
    )
    p.add_argument(
        "--variant-api",
        help="with --requests: store the records of their variant_ids in the cache from this API "
        "(e.g. https://www.alliancegenome.org/api/variant/), so retrieval on a read-only cache asks nothing",
    )
    p.add_argument(
        "--access",
        choices=("full", "range"),
        default="full",
        help="range: fetch only the indexes now and blocks when read, if the source allows it",
    )
    p = add("populate", help="fetch every genome of a manifest")
    p.add_argument(
        "--manifest", type=Path, default=Path(__file__).resolve().parent.parent / "conf/genomes.json"
    )
    p = add("list", help="cached genomes: entry id, size, last use, verified, source")
    p.add_argument("--json", action="store_true", help="one JSON object per entry (its id in 'entry')")
    p = add("verify", help="recompute checksums, check EOF and indexes; remove bad entries")
    p.add_argument("entry", nargs="*")
    p.add_argument("--keep", action="store_true", help="report bad entries without removing them")
    p = add("prune", help="remove least recently used genomes down to a size, and abandoned downloads")
    p.add_argument(
        "--max-size",
        type=parse_size,
        required=True,
        help="e.g. 500M, 20G, 1.5T; units are binary as in du -h (K=1024, G=GiB; KiB/GB/GiB accepted)",
    )
    p.add_argument("--dry-run", action="store_true", help="print what would be kept and removed")
    p.add_argument("--force", action="store_true", help="allow a --max-size below 1 MiB")
    p = add("remove", help="remove entries now (refused while a task reads or downloads them)")
    p.add_argument("entry", nargs="+", help="entry name (as 'list' shows it) or the genome's URL")
    p = add("status", help="totals, partial downloads, problems")
    p.add_argument("--json", action="store_true")
    p = add("report", help="per-run cache report from download receipts")
    p.add_argument("receipts", type=Path, nargs="*")
    p.add_argument("--genomes", type=Path, required=True, help="genomes.json from check_requests.py")
    p.add_argument("--session", required=True)
    p.add_argument("--outdir", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    cache_dir = getattr(args, "cache_dir", None) or default_cache_dir()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    cache = GenomeCache(
        cache_dir,
        getattr(args, "mirror", None),
        progress=not getattr(args, "quiet", False),
        session=getattr(args, "session", "") if args.command == "fetch" else "",
    )
    commands = {
        "fetch": cmd_fetch,
        "populate": cmd_populate,
        "list": cmd_list,
        "verify": cmd_verify,
        "prune": cmd_prune,
        "status": cmd_status,
        "report": cmd_report,
        "remove": cmd_remove,
    }
    try:
        return commands[args.command](cache, args)
    except GenomeCacheError as exc:
        print(f"ERROR {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        raise  # the reader of stdout has gone (`list | head`): run() exits quietly
    except OSError as exc:
        print(f"ERROR cache {cache.root}: {exc.strerror or exc}", file=sys.stderr)
        return 1


def run() -> int:
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # `list | head`: the reader has gone. Exit quietly, as `ls | head` does (128 + SIGPIPE);
        # stdout goes to /dev/null so the interpreter's final flush cannot raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return code


if __name__ == "__main__":
    sys.exit(run())
