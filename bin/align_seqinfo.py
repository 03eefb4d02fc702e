#!/usr/bin/env python3
"""Merge the sequence info files with the alignment into aligned_seq_info.json.

Takes the option names of PAVI's seq_info_align.py (--sequence-info-files may be one
space-separated argument, as PAVI passes it, or several). Exits 1 with a one-line error.
"""

from __future__ import annotations

import argparse
import logging
import sys

from genomecache.seqinfo import SeqInfoError, write_aligned_seqinfo


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sequence-info-files", required=True, nargs="+", help="<id>-seqinfo.json files")
    p.add_argument("--alignment-result-file", required=True, help="clustal alignment of the sequences")
    p.add_argument("--output", default="aligned_seq_info.json", help="default: %(default)s")
    p.add_argument("--debug", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO, format="%(levelname)s %(message)s"
    )

    files = [name for arg in args.sequence_info_files for name in arg.split()]
    try:
        merged = write_aligned_seqinfo(files, args.alignment_result_file, args.output)
    except SeqInfoError as exc:
        print(f"ERROR {exc}", file=sys.stderr)
        return 1
    logging.info("%s: %d sequences from %d files", args.output, len(merged), len(files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
