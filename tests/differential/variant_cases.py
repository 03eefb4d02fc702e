"""Seeded generated genes and variants for the PAVI differential test.

Genes are planted in a random genome: exons and introns on either strand, a coding
sequence (start codon, sense codons, stop codon) with UTRs, soft-masked stretches here and
there. Variants are drawn per gene: SNVs, MNVs, deletions, insertions, indels,
frameshifts, stop gains, variants across an exon boundary or into an intron, in an intron
or on another sequence (skipped), on the start or the stop codon, wrong reference alleles,
overlapping pairs. Alleles are on the plus strand, as the variant API gives them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from Bio.Seq import reverse_complement

STOPS = ("TAA", "TAG", "TGA")
SENSE = [a + b + c for a in "ACGT" for b in "ACGT" for c in "ACGT" if a + b + c not in STOPS]


@dataclass
class Gene:
    seq_id: str
    strand: str
    exons: list[tuple[int, int]]  # genomic, transcript order
    cds_start: int  # 0-based transcript offsets of the CDS (start codon .. stop codon)
    cds_end: int
    cds: list[tuple[int, int, int]] = field(default_factory=list)  # genomic start, end, frame

    def genomic(self, t: int) -> int:
        """Genomic position of transcript offset ``t`` (0-based)."""
        done = 0
        for start, end in self.exons:
            length = end - start + 1
            if t < done + length:
                k = t - done
                return end - k if self.strand == "-" else start + k
            done += length
        raise IndexError(t)

    @property
    def length(self) -> int:
        return sum(e - s + 1 for s, e in self.exons)


@dataclass
class Case:
    name: str
    gene: Gene
    variants: list[dict[str, Any]]
    with_cds: bool = True
    unmasked: bool = False

    def request(self, fasta_url: str, output_type: str) -> dict[str, Any]:
        minus = self.gene.strand == "-"
        exons = [{"start": e, "end": s} if minus else {"start": s, "end": e} for s, e in self.gene.exons]
        cds = [
            {"start": e, "end": s, "frame": f} if minus else {"start": s, "end": e, "frame": f}
            for s, e, f in self.gene.cds
        ]
        return {
            "unique_entry_id": f"{self.name}-{output_type}",
            "base_seq_name": self.name,
            "seq_id": self.gene.seq_id,
            "seq_strand": self.gene.strand,
            "fasta_file_url": fasta_url,
            "exon_seq_regions": exons,
            "cds_seq_regions": cds if self.with_cds else [],
            "variant_ids": [v["id"] for v in self.variants],
            "alt_seq_name_suffix": "_alt",
        }


class World:
    """A random genome with planted genes; bases are edited in place, 1-based helpers."""

    def __init__(self, seed: int, sizes: dict[str, int]) -> None:
        self.rng = random.Random(seed)
        self.seqs = {name: [self.rng.choice("ACGT") for _ in range(size)] for name, size in sizes.items()}
        self.cursor = {name: 200 for name in sizes}
        self.genes: list[Gene] = []

    def base(self, seq_id: str, pos: int) -> str:
        return self.seqs[seq_id][pos - 1]

    def ref(self, seq_id: str, start: int, end: int) -> str:
        return "".join(self.seqs[seq_id][start - 1 : end]).upper()

    def plant(
        self,
        seq_id: str,
        strand: str,
        codons: int | None = None,
        exons: int | None = None,
        utr3: int | None = None,
    ) -> Gene:
        rng = self.rng
        utr5 = rng.randint(0, 30)
        utr3 = utr3 if utr3 is not None else rng.randint(0, 45)
        codons = codons if codons is not None else rng.randint(15, 60)
        coding = "ATG" + "".join(rng.choice(SENSE) for _ in range(codons)) + rng.choice(STOPS)
        transcript = "".join(rng.choice("ACGT") for _ in range(utr5)) + coding
        transcript += "".join(rng.choice("ACGT") for _ in range(utr3))
        n = exons if exons is not None else rng.randint(1, 4)
        cuts = sorted(rng.sample(range(12, len(transcript) - 12), n - 1)) if n > 1 else []
        bounds = [0, *cuts, len(transcript)]
        pieces = [transcript[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
        introns = ["".join(rng.choice("ACGT") for _ in range(rng.randint(20, 120))) for _ in pieces[1:]]
        locus_t = "".join(p + (introns[i] if i < len(introns) else "") for i, p in enumerate(pieces))
        origin = self.cursor[seq_id]
        self.cursor[seq_id] += len(locus_t) + rng.randint(150, 400)
        assert self.cursor[seq_id] < len(self.seqs[seq_id]), "genome too small for the genes"
        plus = locus_t if strand == "+" else reverse_complement(locus_t)
        for i, b in enumerate(plus):
            self.seqs[seq_id][origin + i - 1] = b
        exon_coords, offset = [], 0
        for i, piece in enumerate(pieces):
            a, b = offset, offset + len(piece) - 1  # 0-based in locus_t
            if strand == "+":
                exon_coords.append((origin + a, origin + b))
            else:
                last = origin + len(locus_t) - 1
                exon_coords.append((last - b, last - a))
            offset += len(piece) + (len(introns[i]) if i < len(introns) else 0)
        gene = Gene(seq_id, strand, exon_coords, utr5, utr5 + len(coding) - 1)
        done = 0
        for start, end in exon_coords:
            length = end - start + 1
            lo, hi = max(done, gene.cds_start), min(done + length - 1, gene.cds_end)
            if lo <= hi:
                g1, g2 = gene.genomic(lo), gene.genomic(hi)
                before = lo - gene.cds_start
                gene.cds.append((min(g1, g2), max(g1, g2), (3 - before % 3) % 3))
            done += length
        self.genes.append(gene)
        return gene

    def mask(self, seq_id: str, start: int, end: int) -> None:
        for pos in range(start, end + 1):
            self.seqs[seq_id][pos - 1] = self.seqs[seq_id][pos - 1].lower()

    def fasta(self) -> str:
        out = []
        for name, bases in self.seqs.items():
            seq = "".join(bases)
            out.append(f">{name}\n" + "\n".join(seq[i : i + 60] for i in range(0, len(seq), 60)) + "\n")
        return "".join(out)


class Variants:
    """Draw variants for a gene; each gets a unique id."""

    def __init__(self, world: World) -> None:
        self.world, self.rng, self.count = world, world.rng, 0

    def make(self, seq_id: str, start: int, end: int, ref: str, alt: str) -> dict[str, Any]:
        self.count += 1
        return {
            "id": f"VAR:{self.count}",
            "seq_id": seq_id,
            "start": start,
            "end": end,
            "ref": ref,
            "alt": alt,
        }

    def other_base(self, base: str) -> str:
        return self.rng.choice([b for b in "ACGT" if b != base.upper()])

    def at(self, gene: Gene, t: int) -> int:
        return gene.genomic(t)

    def snv(self, gene: Gene, t: int) -> dict[str, Any]:
        pos = gene.genomic(t)
        ref = self.world.ref(gene.seq_id, pos, pos)
        return self.make(gene.seq_id, pos, pos, ref, self.other_base(ref))

    def span(self, gene: Gene, t: int, length: int) -> tuple[int, int]:
        """Genomic start..end of ``length`` transcript bases from ``t`` (one exon assumed)."""
        a, b = gene.genomic(t), gene.genomic(t + length - 1)
        return min(a, b), max(a, b)

    def mnv(self, seq_id: str, start: int, end: int) -> dict[str, Any]:
        ref = self.world.ref(seq_id, start, end)
        return self.make(seq_id, start, end, ref, "".join(self.other_base(b) for b in ref))

    def deletion(self, seq_id: str, start: int, end: int) -> dict[str, Any]:
        return self.make(seq_id, start, end, self.world.ref(seq_id, start, end), "")

    def insertion(self, seq_id: str, left: int, length: int) -> dict[str, Any]:
        alt = "".join(self.rng.choice("ACGT") for _ in range(length))
        return self.make(seq_id, left, left + 1, "", alt)

    def indel(self, seq_id: str, start: int, end: int, alt_len: int) -> dict[str, Any]:
        ref = self.world.ref(seq_id, start, end)
        alt = "".join(self.rng.choice("ACGT") for _ in range(alt_len))
        if len(alt) == len(ref):
            alt += "A"
        return self.make(seq_id, start, end, ref, alt)


def exon_offsets(gene: Gene) -> list[tuple[int, int]]:
    """0-based transcript offsets (first, last) of each exon."""
    out, done = [], 0
    for s, e in gene.exons:
        out.append((done, done + e - s))
        done += e - s + 1
    return out


def random_variant(v: Variants, gene: Gene, kind: str, t: int) -> dict[str, Any]:
    """A variant of ``kind`` at transcript offset ``t`` (inside one exon, room to its end)."""
    rng, seq_id = v.rng, gene.seq_id
    if kind == "snv":
        return v.snv(gene, t)
    if kind == "mnv":
        return v.mnv(seq_id, *v.span(gene, t, rng.randint(2, 3)))
    if kind == "deletion":
        return v.deletion(seq_id, *v.span(gene, t, rng.choice([1, 2, 3, 4, 6])))
    if kind == "frameshift":
        if rng.random() < 0.5:
            return v.deletion(seq_id, *v.span(gene, t, rng.choice([1, 2, 4, 5])))
        kind = "insertion"
    if kind == "insertion":
        a, b = v.span(gene, t, 2)
        return v.insertion(seq_id, a, rng.choice([1, 2, 3, 4, 6]))
    if kind == "indel":
        start, end = v.span(gene, t, rng.randint(1, 3))
        return v.indel(seq_id, start, end, rng.randint(1, 5))
    raise ValueError(kind)


def generated_cases(seed: int = 20261130, count: int = 60) -> tuple[World, list[Case]]:
    """``count`` seeded random cases plus the named edge cases."""
    world = World(seed, {"chrA": max(400_000, (count + 60) * 1500), "chrB": 40_000})
    rng = world.rng
    v = Variants(world)
    cases: list[Case] = []
    kinds = ["snv", "mnv", "deletion", "insertion", "indel", "frameshift"]
    for i in range(count):
        gene = world.plant("chrA", rng.choice("+-"))
        if rng.random() < 0.3:  # soft-masked stretch somewhere in the gene
            lo = min(s for s, _ in gene.exons)
            start = rng.randint(lo, lo + 60)
            world.mask("chrA", start, start + rng.randint(5, 40))
        offsets = exon_offsets(gene)
        variants: list[dict[str, Any]] = []
        used: list[tuple[int, int]] = []
        for _ in range(rng.randint(1, 3)):
            for _attempt in range(20):
                first, last = rng.choice(offsets)
                if last - first < 10:
                    continue
                t = rng.randint(first, last - 8)
                if any(abs(t - u) < 12 for u, _ in used):
                    continue
                # keep most variants off the start codon (its own edge case below)
                if gene.cds_start <= t < gene.cds_start + 3 + 8:
                    continue
                variants.append(random_variant(v, gene, rng.choice(kinds), t))
                used.append((t, t))
                break
        if rng.random() < 0.35:  # anywhere in or around the gene: boundaries, introns, UTRs
            variants = scattered_variants(v, gene)
        cases.append(
            Case(f"gen{i:03d}", gene, variants, with_cds=rng.random() < 0.8, unmasked=rng.random() < 0.1)
        )
    cases += edge_cases(world, v)
    return world, cases


def scattered_variants(v: Variants, gene: Gene) -> list[dict[str, Any]]:
    """1-4 variants at random genomic positions in or near the gene, of random kinds.

    Spans are kept two bases apart, or overlap for real (a second variant starting inside a
    first one): PAVI's outcome for touching variants depends on Python's set order.
    """
    rng, seq_id = v.rng, gene.seq_id
    lo = min(s for s, _ in gene.exons) - 15
    hi = max(e for _, e in gene.exons) + 15
    out: list[dict[str, Any]] = []
    spans: list[tuple[int, int, bool]] = []
    for _ in range(rng.randint(1, 4)):
        for _attempt in range(30):
            kind = rng.choice(["snv", "mnv", "deletion", "insertion", "indel"])
            start = rng.randint(lo, hi)
            length = {"snv": 1, "insertion": 2}.get(
                kind, rng.randint(1, 8) if kind != "mnv" else rng.randint(2, 6)
            )
            end = start + length - 1
            overlap = [s for s in spans if not (end + 2 < s[0] or start - 2 > s[1])]
            if overlap:
                first = overlap[0]
                # a real overlap: a non-insertion starting strictly inside a non-insertion
                real = kind != "insertion" and first[2] and first[0] < start <= first[1]
                if not (real and rng.random() < 0.3 and len(overlap) == 1):
                    continue
            if kind == "snv":
                variant = v.mnv(seq_id, start, start)
            elif kind == "mnv":
                variant = v.mnv(seq_id, start, end)
            elif kind == "deletion":
                variant = v.deletion(seq_id, start, end)
            elif kind == "insertion":
                variant = v.insertion(seq_id, start, rng.randint(1, 7))
            else:
                variant = v.indel(seq_id, start, end, rng.randint(1, 9))
            out.append(variant)
            spans.append((start, end, kind != "insertion"))
            break
    return out


def codon_offset(gene: Gene, index: int) -> int:
    """Transcript offset of coding codon ``index`` (0 = start codon; -1 = stop codon)."""
    if index < 0:
        return gene.cds_end - 2
    return gene.cds_start + 3 * index


def edge_cases(world: World, v: Variants) -> list[Case]:
    rng = world.rng
    cases: list[Case] = []

    def add(name: str, gene: Gene, variants: list[dict[str, Any]], with_cds: bool = True) -> None:
        cases.append(Case(name, gene, variants, with_cds))

    for strand in "+-":
        s = "p" if strand == "+" else "m"
        gene = world.plant("chrA", strand, codons=40, exons=3)
        t = codon_offset(gene, 10)
        # stop gain: turn codon 10 into a stop
        start, end = v.span(gene, t, 3)
        stop = rng.choice(STOPS)
        add(
            f"stopgain_{s}",
            gene,
            [
                v.make(
                    gene.seq_id,
                    start,
                    end,
                    world.ref(gene.seq_id, start, end),
                    stop if strand == "+" else reverse_complement(stop),
                )
            ],
        )
        # start codon changed
        add(f"startchange_{s}", gene, [v.snv(gene, gene.cds_start + 1)])
        # stop lost (the stop codon's first base changed to make a sense codon)
        pos = gene.genomic(codon_offset(gene, -1))
        ref = world.ref(gene.seq_id, pos, pos)
        add(f"stoplost_{s}", gene, [v.make(gene.seq_id, pos, pos, ref, "C" if strand == "+" else "G")])
        add(
            f"stoplost_orf_{s}",
            gene,
            [v.make(gene.seq_id, pos, pos, ref, "C" if strand == "+" else "G")],
            False,
        )
        # several variants of every kind in one request
        several = [
            random_variant(v, gene, k, codon_offset(gene, 3 + 6 * i))
            for i, k in enumerate(["snv", "mnv", "deletion", "insertion", "indel"])
        ]
        add(f"several_{s}", gene, several)
        add(f"several_orf_{s}", gene, several, False)
        # across an exon boundary: MNV over the last base of exon 1 and the intron
        (_, last1), (first2, _) = exon_offsets(gene)[0], exon_offsets(gene)[1]
        e1 = gene.exons[0]
        if strand == "+":
            add(f"boundary_mnv_{s}", gene, [v.mnv(gene.seq_id, e1[1] - 1, e1[1] + 1)])
            # a deletion from the end of exon 1 through the intron into exon 2
            e2 = gene.exons[1]
            add(f"boundary_del_{s}", gene, [v.deletion(gene.seq_id, e1[1] - 1, e2[0] + 1)])
            add(f"boundary_del3_{s}", gene, [v.deletion(gene.seq_id, e1[1] - 2, e2[0] + 2)])
            add(f"boundary_sub_{s}", gene, [v.mnv(gene.seq_id, e1[1] - 1, e2[0] + 1)])
            add(f"boundary_indel_{s}", gene, [v.indel(gene.seq_id, e1[1] - 1, e1[1] + 2, 2)])
            add(f"intron_{s}", gene, [v.snv(gene, last1), v.mnv(gene.seq_id, e1[1] + 5, e1[1] + 6)])
            add(f"ins_at_boundary_{s}", gene, [v.insertion(gene.seq_id, e1[1], 3)])
        else:
            add(f"boundary_mnv_{s}", gene, [v.mnv(gene.seq_id, e1[0] - 1, e1[0] + 1)])
            e2 = gene.exons[1]
            add(f"boundary_del_{s}", gene, [v.deletion(gene.seq_id, e2[1] - 1, e1[0] + 1)])
            add(f"boundary_del3_{s}", gene, [v.deletion(gene.seq_id, e2[1] - 2, e1[0] + 2)])
            add(f"boundary_sub_{s}", gene, [v.mnv(gene.seq_id, e2[1] - 1, e1[0] + 1)])
            add(f"boundary_indel_{s}", gene, [v.indel(gene.seq_id, e1[0] - 2, e1[0] + 1, 2)])
            add(f"intron_{s}", gene, [v.snv(gene, last1), v.mnv(gene.seq_id, e1[0] - 6, e1[0] - 5)])
            add(f"ins_at_boundary_{s}", gene, [v.insertion(gene.seq_id, e1[0] - 1, 3)])
        # another seq_id: skipped
        add(f"other_seq_{s}", gene, [v.mnv("chrB", 1000, 1001), v.snv(gene, first2 + 2)])
        # overlapping variants
        a, b = v.span(gene, codon_offset(gene, 5), 4)
        add(f"overlap_{s}", gene, [v.deletion(gene.seq_id, a, b), v.mnv(gene.seq_id, b - 1, b)])
        # wrong reference allele
        pos = gene.genomic(codon_offset(gene, 7))
        wrong = v.other_base(world.ref(gene.seq_id, pos, pos))
        add(
            f"refmismatch_{s}", gene, [v.make(gene.seq_id, pos, pos, wrong, world.ref(gene.seq_id, pos, pos))]
        )
        # whole-codon deletion and in-frame insertion
        a, b = v.span(gene, codon_offset(gene, 12), 3)
        add(f"codon_del_{s}", gene, [v.deletion(gene.seq_id, a, b)])
        a, b = v.span(gene, codon_offset(gene, 12) + 2, 2)
        add(f"codon_ins_{s}", gene, [v.insertion(gene.seq_id, a, 3)])
        # frameshift near the end (new stop read on into the 3' UTR or lost)
        a, b = v.span(gene, codon_offset(gene, -4), 1)
        add(f"late_frameshift_{s}", gene, [v.deletion(gene.seq_id, a, b)])
    # soft-masked start codon: PAVI compares the unmasked ORF's start codon with the masked
    # alternative (ORF mode), so it rejects; with CDS regions it does not
    for strand in "+-":
        s = "p" if strand == "+" else "m"
        gene = world.plant("chrA", strand, codons=30, exons=2)
        a, b = v.span(gene, gene.cds_start, 3)
        world.mask(gene.seq_id, a - 2, b + 4)
        snv = random_variant(v, gene, "snv", codon_offset(gene, 9))
        add(f"masked_start_orf_{s}", gene, [snv], False)
        add(f"masked_start_cds_{s}", gene, [snv])
        cases.append(Case(f"masked_unmasked_{s}", gene, [snv], True, unmasked=True))
        # a 5'-partial CDS: the first CDS region starts inside codon 1 (no start codon in frame)
        partial = Gene(gene.seq_id, gene.strand, gene.exons, gene.cds_start, gene.cds_end, list(gene.cds))
        first_start, first_end, _ = partial.cds[0]
        if first_end - first_start >= 4:
            partial.cds[0] = (
                (first_start + 1, first_end, 2) if strand == "+" else (first_start, first_end - 1, 2)
            )
            add(f"partial_cds_{s}", partial, [snv])
        # a deletion over the CDS start (from the 5' UTR), a variant in the 5' UTR, one over the stop
        if gene.cds_start >= 3:
            a, b = v.span(gene, gene.cds_start - 2, 4)
            add(f"del_over_start_{s}", gene, [v.deletion(gene.seq_id, a, b)])
            add(f"utr5_{s}", gene, [v.snv(gene, gene.cds_start - 2)])
        a, b = v.span(gene, gene.cds_end - 1, 2)
        add(f"del_in_stop_{s}", gene, [v.deletion(gene.seq_id, a, b)])
        # a deletion over a whole small exon and its neighbours' edges (three regions, one entry)
        big = world.plant("chrA", strand, codons=50, exons=4)
        first_exon, middle, last_exon = big.exons[0], big.exons[1], big.exons[2]
        if strand == "+":
            lo, hi = first_exon[1] - 2, last_exon[0] + 2
        else:
            lo, hi = last_exon[1] - 2, first_exon[0] + 2
        assert lo < middle[0] and middle[1] < hi
        add(f"span3_{s}", big, [v.deletion(big.seq_id, lo, hi)])
        add(f"span3_sub_{s}", big, [v.mnv(big.seq_id, lo, hi)])
        add(f"span3_sub_orf_{s}", big, [v.mnv(big.seq_id, lo, hi)], False)
    # stop lost with no later stop in the transcript: a gene with no 3' UTR
    for strand in "+-":
        s = "p" if strand == "+" else "m"
        gene = world.plant("chrA", strand, codons=20, exons=2, utr3=0)
        pos = gene.genomic(codon_offset(gene, -1))
        ref = world.ref(gene.seq_id, pos, pos)
        add(f"stoplost_nostop_{s}", gene, [v.make(gene.seq_id, pos, pos, ref, "C" if strand == "+" else "G")])
    return cases
