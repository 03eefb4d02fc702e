"""Coding sequences and translation follow PAVI's conventions."""

from genomecache.translation import in_frame, longest_orf, translate


def test_in_frame_skips_frame_and_partial_codon():
    assert in_frame("AATGAAATA", 1) == "ATGAAA"
    assert in_frame("ATGAAATAGC", 0) == "ATGAAATAG"


def test_translation_stops_at_first_stop():
    assert translate("ATGAAATAGGGG") == "MK"


def test_longest_orf_any_frame_includes_stop():
    # frame 1 holds ATG CCC GGG TAA (12 nt), then a shorter ATG TGA
    seq = "CATGCCCGGGTAAATGTGA"
    assert longest_orf(seq) == "ATGCCCGGGTAA"
    assert longest_orf("ATGCCC") is None  # never closes


def test_standard_alternative_starts_open_orfs_like_pavi():
    # CTG is a start codon of the Standard table; without a table the initiator stays L
    assert longest_orf("CTGAAATGA") == "CTGAAATGA"
    assert translate("CTGAAATGA") == "LK"


def test_explicit_table_translates_initiator_as_m():
    # Vertebrate mitochondrial (2): ATA is a start, AGA a stop, TGA tryptophan
    assert translate("ATATGAAAAAGA", 2) == "MWK"
    assert translate("ATATGAAAAAGA") == "I"  # Standard: TGA stops
    # Invertebrate mitochondrial (5): TTG initiator read as M
    assert translate("TTGAGAAAATAA", 5) == "MSK"
