#!/usr/bin/env python3
"""Validate a PAVI request payload and plan the genome downloads.

Writes the normalised requests (each with its genome's cache entry name) and the
list of unique genomes; exits 1 with a one-line error naming request and field.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections import Counter
from pathlib import Path

from genomecache.errors import GenomeCacheError
from genomecache.requests import parse_codon_table, parse_payload, request_to_json


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only its owner can read (it may hold a secret)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("payload", type=Path, help="JSON list of PAVI request objects")
    parser.add_argument("--base-dir", help="folder that relative genome paths are relative to")
    parser.add_argument("--codon-table", help="NCBI table for requests that name none")
    parser.add_argument(
        "--keep-variants",
        action="store_true",
        help="accepted for compatibility: variant_ids are always passed on (retrieval embeds them)",
    )
    parser.add_argument(
        "--url-files",
        type=Path,
        help="write each genome's URL to DIR/<entry>.url (owner-only) and only redacted URLs to the JSON",
    )
    parser.add_argument("--requests-out", type=Path, default=Path("requests.json"))
    parser.add_argument("--genomes-out", type=Path, default=Path("genomes.json"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        requests = parse_payload(
            args.payload.read_text(),
            source=str(args.payload.name),
            base_dir=args.base_dir,
        )
        default_table = parse_codon_table(args.codon_table, "--codon_table")
    except (GenomeCacheError, OSError) as exc:
        print(f"ERROR {exc}", file=sys.stderr)
        return 1
    counts = Counter(r.location.display for r in requests)
    normalised, genomes = [], {}
    for request in requests:
        location = request.location
        data = request_to_json(request)
        if default_table is not None:
            data.setdefault("codon_table", default_table)
        normalised.append({**data, "genome_entry": location.entry_name, "display_url": location.display})
        genomes.setdefault(
            location.entry_name,
            {
                "entry": location.entry_name,
                "url": request.fasta_file_url,
                "display_url": location.display,
                "requests": counts[location.display],
            },
        )
    if args.url_files:  # URLs may carry credentials: keep them out of what the pipeline passes around
        args.url_files.mkdir(parents=True, exist_ok=True)
        for request in requests:
            write_private(
                args.url_files / f"{request.location.entry_name}.url", request.fasta_file_url + "\n"
            )
        for data in normalised:
            data["fasta_file_url"] = data["display_url"]
        for genome in genomes.values():
            genome["url"] = genome["display_url"]
    args.requests_out.write_text(json.dumps(normalised, indent=1) + "\n")
    args.genomes_out.write_text(json.dumps(list(genomes.values()), indent=1) + "\n")
    logging.info("%d requests over %d genomes", len(requests), len(genomes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
