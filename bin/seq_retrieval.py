#!/usr/bin/env python3
"""Retrieve one transcript or protein sequence through the FASTA index.

Takes PAVI's option names, so PAVI's protein-msa.nf can call it unchanged. A
``file://`` FASTA with its indexes (as handed over from the genome cache) is read in
place; any other URL is fetched once into the shared cache first. With ``--access range``
(and the genome's original URL) only the BGZF blocks the request needs are fetched into
the cache, falling back to the whole file when the source does not allow it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from genomecache import __version__, batch, ranged
from genomecache.cache import GenomeCache, default_cache_dir, healing
from genomecache.errors import GenomeCacheError
from genomecache.requests import Request, parse_codon_table, parse_request
from genomecache.retrieval import OUTPUT_TYPES, Genome, RequestResult, open_whole, run_request

DEFAULT_VARIANT_API = "https://www.alliancegenome.org/api/variant/"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--batch" in argv or any(a.startswith("--batch=") for a in argv):
        return batch_main(argv)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--seq_id", required=True)
    p.add_argument("--seq_strand", default="+")
    p.add_argument("--exon_seq_regions", required=True, help="JSON list of regions")
    p.add_argument("--cds_seq_regions", default="[]", help="JSON list of regions with frame")
    p.add_argument("--variant_ids", default="[]", help="JSON list of variant ids to embed")
    p.add_argument(
        "--variant_api",
        default=DEFAULT_VARIANT_API,
        help="variant API base URL; the URL-quoted variant id is appended (default: %(default)s)",
    )
    p.add_argument("--alt_seq_name_suffix", default="_alt")
    p.add_argument("--fasta_file_url", required=True)
    p.add_argument("--output_type", required=True, type=str.lower, choices=OUTPUT_TYPES)
    p.add_argument("--base_seq_name", required=True)
    p.add_argument("--unique_entry_id", required=True)
    p.add_argument("--sequence_output_file")
    p.add_argument("--unmasked", action="store_true", help="uppercase soft-masked bases")
    p.add_argument("--codon_table", help="NCBI translation table id (default: Standard)")
    p.add_argument(
        "--cache_dir", default=default_cache_dir(), help="shared genome cache (default: %(default)s)"
    )
    p.add_argument("--genome_mirror", help="read-only directory of genomes by basename, consulted first")
    p.add_argument("--reuse_local_cache", action="store_true", help="accepted for PAVI compatibility")
    p.add_argument(
        "--access",
        choices=("full", "range"),
        default="full",
        help="full: download the whole genome once; range: fetch only the blocks read (default: %(default)s)",
    )
    p.add_argument("--debug", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO, format="%(levelname)s %(message)s"
    )

    raw = {
        key: getattr(args, key)
        for key in (
            "unique_entry_id",
            "base_seq_name",
            "seq_id",
            "fasta_file_url",
            "alt_seq_name_suffix",
            "codon_table",
        )
    }
    raw.update(
        seq_strand=args.seq_strand,
        exon_seq_regions=args.exon_seq_regions,
        cds_seq_regions=args.cds_seq_regions,
        variant_ids=args.variant_ids,
    )
    try:
        request = parse_request(raw, allow_variants=True)
        cache = GenomeCache(args.cache_dir, args.genome_mirror)
        lookup = None
        if request.variant_ids:
            from genomecache.variant_api import VariantSource  # only variant requests need it

            lookup = VariantSource(cache, args.variant_api)
            for variant_id in request.variant_ids:  # fail on a bad variant before fetching a genome
                lookup(request.unique_entry_id, variant_id)

        def read_once() -> RequestResult:
            if args.access == "range":
                hint = [(request.seq_id, region) for region in request.exons + request.cds]
                opened = ranged.open_genome(cache, request.fasta_file_url, hint)
            else:
                opened = open_whole(cache, request.fasta_file_url)
            with opened as genome:
                result = run_request(
                    genome,
                    request,
                    args.output_type,
                    sequence_output_file=args.sequence_output_file,
                    unmasked=args.unmasked,
                    variants=lookup,
                )
                if args.access == "range":
                    logging.info("%s: genome read via %s", request.unique_entry_id, genome.stats)
            return result

        # damage found mid-read moves the entry aside; the second read fetches it again
        result = healing(read_once)
    except GenomeCacheError as exc:
        print(f"ERROR {exc}", file=sys.stderr)
        return 1
    logging.info("%s: %d residues", request.unique_entry_id, result.residues)
    return 0


def batch_main(argv: list[str]) -> int:
    """``--batch FILE``: every request of FILE (one genome), the genome opened once."""
    p = argparse.ArgumentParser(
        prog="seq_retrieval.py --batch",
        description="Retrieve a JSON list of requests of one genome with one open of its index.",
    )
    p.add_argument("--batch", required=True, help="JSON list of request objects (PAVI's fields)")
    p.add_argument("--output_type", required=True, type=str.lower, choices=OUTPUT_TYPES)
    url = p.add_mutually_exclusive_group(required=True)
    url.add_argument("--fasta_file_url", help="the genome of every request (replaces theirs)")
    url.add_argument(
        "--fasta_url_file",
        help="a file holding that URL, so a URL with credentials stays off the command line",
    )
    p.add_argument("--unmasked", action="store_true", help="uppercase soft-masked bases")
    p.add_argument("--codon_table", help="NCBI translation table for requests that name none")
    p.add_argument("--cache_dir", default=default_cache_dir())
    p.add_argument("--genome_mirror")
    p.add_argument(
        "--access",
        choices=("full", "range"),
        default="full",
        help="full: read the cached (or local) genome whole; range: fetch only the blocks read",
    )
    p.add_argument("--variant_api", default=DEFAULT_VARIANT_API, help="(default: %(default)s)")
    p.add_argument("--outdir", default=".")
    p.add_argument("--debug", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO, format="%(levelname)s %(message)s"
    )
    try:
        table = parse_codon_table(args.codon_table, "--codon_table")
        fasta_url = args.fasta_file_url or batch.read_url_file(args.fasta_url_file)
        items = batch.load_batch(args.batch)
        cache = GenomeCache(args.cache_dir, args.genome_mirror)

        lookup = None
        if any(isinstance(item, dict) and item.get("variant_ids") for item in items):
            from genomecache.variant_api import VariantSource  # only variant requests need it

            lookup = VariantSource(cache, args.variant_api)

        def handle(genome: Genome, request: Request, output_type: str, outdir: Path) -> None:
            run_request(
                genome,
                request,
                output_type,
                outdir,
                unmasked=args.unmasked,
                codon_table=table,
                variants=lookup,
            )

        errors = batch.run_batch(
            cache, fasta_url, items, args.output_type, handle, args.outdir, access=args.access
        )
    except GenomeCacheError as exc:
        print(f"ERROR {exc}", file=sys.stderr)
        return 1
    for error in errors:
        print(f"ERROR {error}", file=sys.stderr)
    if errors:
        print(f"ERROR {len(errors)} of {len(items)} requests failed", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
