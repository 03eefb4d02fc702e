"""Coding sequences and translation, following PAVI's conventions.

With CDS regions, the coding sequence is their concatenation in transcript order,
starting ``frame`` bases into the first region and cut to whole codons. Without CDS
regions it is the longest complete ORF (start codon to stop codon, any frame).
Translation stops at the first stop codon.
"""

from __future__ import annotations

import warnings

from Bio import BiopythonWarning
from Bio.Data import CodonTable
from Bio.Seq import translate as bio_translate

STANDARD_TABLE = 1


def in_frame(sequence: str, frame: int) -> str:
    """Skip ``frame`` leading bases and drop a trailing partial codon."""
    body = sequence[frame:]
    return body[: len(body) // 3 * 3]


def longest_orf(sequence: str, table_id: int = STANDARD_TABLE) -> str | None:
    """The longest complete ORF in any forward frame, including its stop codon.

    An ORF opens at the first start codon of the table and closes at the next
    in-frame stop codon; scanning resumes after it. Of equally long ORFs the last
    found wins (frames scanned 0, 1, 2), as in PAVI. Returns ``None`` when none closes.
    """
    table = CodonTable.unambiguous_dna_by_id[table_id]
    upper = sequence.upper()
    best: str | None = None
    for frame in range(3):
        opened = -1
        for pos in range(frame, len(upper) - 2, 3):
            codon = upper[pos : pos + 3]
            if opened >= 0 and codon in table.stop_codons:
                orf = sequence[opened : pos + 3]
                if best is None or len(orf) >= len(best):
                    best = orf
                opened = -1
            elif opened < 0 and codon in table.start_codons:
                opened = pos
    return best


def translate(coding: str, table_id: int | None = None) -> str:
    """Translate up to the first stop codon.

    With an explicit ``table_id`` the initiator codon is read as M when it is one of
    that table's start codons (alternative initiators in mitochondrial and plastid
    genes code for methionine at the start). ``None`` means the Standard table with
    no such rule, as PAVI does.
    """
    coding = coding[: len(coding) // 3 * 3]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BiopythonWarning)
        protein = str(bio_translate(coding, table=table_id or STANDARD_TABLE, to_stop=True))
    if table_id is not None and protein:
        table = CodonTable.unambiguous_dna_by_id[table_id]
        if coding[:3].upper() in table.start_codons:
            protein = "M" + protein[1:]
    return protein
