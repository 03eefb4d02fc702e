#!/usr/bin/env python3
"""Manage the shared genome cache: fetch, populate, list, verify, prune, status, report."""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import logging
import re
import sys
from pathlib import Path

from genomecache import __version__, ranged
from genomecache.cache import GenomeCache, default_cache_dir, to_json
from genomecache.errors import GenomeCacheError
from genomecache.report import build_report, human, write_report

SIZE = re.compile(r"(?i)\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*")


def parse_size(text: str) -> int:
    """``500M``, ``20G``, ``1.5TiB`` or a byte count."""
    match = SIZE.fullmatch(text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 500M, 20G)")
    return int(
        float(match.group(1)) * 1024 ** "kmgt".find(match.group(2).lower())
        if match.group(2)
        else float(match.group(1))
    )


def cmd_fetch(cache: GenomeCache, args: argparse.Namespace) -> int:
    if args.access == "range":  # source 'range' when prepared for block reads, else as ensure() says
        resolved = ranged.prepare(cache, args.url, args.sha256)
    else:
        resolved = cache.ensure(args.url, args.sha256)
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
    print(f"{'kind':6}  {'size':>10}  {'last use':16}  {'verified':25}  source")
    for e in entries:
        if "problem" in e:
            print(f"{e['kind']:6}  {'?':>10}  {'':16}  {'PROBLEM':25}  {e['problem']}")
            continue
        used = dt.datetime.fromtimestamp(e["last_used"]).strftime("%Y-%m-%d %H:%M")
        verified = e.get("verified_at", "never") if e["kind"] == "genome" else "per block, on read"
        print(f"{e['kind']:6}  {human(e['disk_bytes']):>10}  {used:16}  {verified:25}  {e.get('url', '?')}")
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
    for entry in cache.prune(args.max_size, args.dry_run):
        print(f"{'would remove' if args.dry_run else 'removed'} {entry}")
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
        for problem in status["problems"]:
            print(f"problem: {problem}")
    return 1 if status["problems"] else 0


def cmd_report(cache: GenomeCache, args: argparse.Namespace) -> int:
    receipts = [json.loads(path.read_text()) for path in args.receipts]
    plan = json.loads(args.genomes.read_text())
    counts = {g["display_url"]: g["requests"] for g in plan}
    report = build_report(receipts, args.session, counts)
    args.outdir.mkdir(parents=True, exist_ok=True)
    write_report(report, args.outdir)
    return 0


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
    p.add_argument("--sha256", help="expected checksum of the source file, 'sha256:<hex>'")
    p.add_argument("--receipt", type=Path, help="write where the genome came from as JSON")
    p.add_argument("--session", default="", help="run id recorded in the receipt")
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
    p = add("list", help="cached genomes: size, last use, verified, source")
    p.add_argument("--json", action="store_true")
    p = add("verify", help="recompute checksums, check EOF and indexes; remove bad entries")
    p.add_argument("entry", nargs="*")
    p.add_argument("--keep", action="store_true", help="report bad entries without removing them")
    p = add("prune", help="remove least recently used genomes down to a size")
    p.add_argument("--max-size", type=parse_size, required=True)
    p.add_argument("--dry-run", action="store_true")
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
    cache = GenomeCache(cache_dir, getattr(args, "mirror", None), progress=not getattr(args, "quiet", False))
    commands = {
        "fetch": cmd_fetch,
        "populate": cmd_populate,
        "list": cmd_list,
        "verify": cmd_verify,
        "prune": cmd_prune,
        "status": cmd_status,
        "report": cmd_report,
    }
    try:
        return commands[args.command](cache, args)
    except GenomeCacheError as exc:
        print(f"ERROR {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"ERROR cache {cache.root}: {exc.strerror or exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
