"""Payload parsing: every user mistake is a one-line error naming request and field."""

import json

import pytest

from genomecache.errors import GenomeCacheError, RequestError
from genomecache.requests import Region, parse_payload, parse_region, parse_request, parse_strand

GOOD = {
    "unique_entry_id": "T1",
    "base_seq_name": "gene-1",
    "seq_id": "CHROMOSOME_I",
    "seq_strand": "+",
    "fasta_file_url": "https://example.org/g/ce.fa.gz",
    "exon_seq_regions": [{"start": 10, "end": 20}],
}


def with_(**changes):
    data = dict(GOOD)
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    return data


@pytest.mark.parametrize(
    "value, expected",
    [("+", "+"), ("+1", "+"), ("pos", "+"), (1, "+"), ("-", "-"), ("-1", "-"), ("neg", "-"), (-1, "-")],
)
def test_strand_spellings(value, expected):
    assert parse_strand(value) == expected


@pytest.mark.parametrize("value", ["up", "", None, True, "++"])
def test_unknown_strand_names_field(value):
    with pytest.raises(RequestError, match="request T1: field seq_strand: unknown strand"):
        parse_request(with_(seq_strand=value) if value is not None else with_(seq_strand=[]))


def test_regions_objects_strings_and_either_order():
    assert parse_region({"start": 5, "end": 9}) == Region(5, 9)
    assert parse_region({"start": 9, "end": 5, "frame": 2}) == Region(5, 9, 2)
    assert parse_region("100..200") == Region(100, 200)
    assert parse_region("200..100") == Region(100, 200)


@pytest.mark.parametrize(
    "region, field",
    [
        ({"start": "10", "end": 20}, "exon_seq_regions.start"),
        ({"start": 1.5, "end": 20}, "exon_seq_regions.start"),
        ({"start": 10}, "exon_seq_regions.end"),
        ({"start": 0, "end": 20}, "exon_seq_regions.start"),
        ("10-20", "exon_seq_regions"),
        ({"start": 1, "end": 2, "frame": 3}, "exon_seq_regions.frame"),
    ],
)
def test_bad_region_names_field(region, field):
    with pytest.raises(RequestError) as info:
        parse_request(with_(exon_seq_regions=[region]))
    assert info.value.field == field
    assert str(info.value).startswith(f"request T1: field {field}:")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "field", ["unique_entry_id", "base_seq_name", "seq_id", "fasta_file_url", "exon_seq_regions"]
)
def test_missing_field(field):
    with pytest.raises(RequestError, match=f"field {field}"):
        parse_request(with_(**{field: None}))


def test_cds_regions_need_frames():
    with pytest.raises(RequestError, match="cds_seq_regions.frame"):
        parse_request(with_(cds_seq_regions=[{"start": 10, "end": 20}]))


@pytest.mark.parametrize("url", ["ftp://host/x.fa.gz", "gs://bucket/x.fa"])
def test_unsupported_scheme(url):
    with pytest.raises(RequestError, match="fasta_file_url: unsupported URL scheme"):
        parse_request(with_(fasta_file_url=url))


def test_variants_are_kept_and_refused_only_on_request():
    assert parse_request(with_(variant_ids=["rs1", "rs2"])).variant_ids == ("rs1", "rs2")
    with pytest.raises(RequestError, match="variant_ids: variants are not accepted here"):
        parse_request(with_(variant_ids=["rs1"]), allow_variants=False)
    assert parse_request(with_(variant_ids=[])).variant_ids == ()


def test_codon_table_validated():
    assert parse_request(with_(codon_table=5)).codon_table == 5
    with pytest.raises(RequestError, match="codon_table"):
        parse_request(with_(codon_table=7))  # retired NCBI table id


def test_payload_errors():
    with pytest.raises(GenomeCacheError, match="malformed JSON at line 1"):
        parse_payload("[{", "req.json")
    with pytest.raises(GenomeCacheError, match="non-empty JSON list"):
        parse_payload("[]")
    with pytest.raises(RequestError, match="request T1: field unique_entry_id: used by more than one"):
        parse_payload(json.dumps([GOOD, GOOD]))


def test_request_without_id_is_named_by_position():
    with pytest.raises(RequestError, match=r"request #2: field unique_entry_id: missing"):
        parse_payload(json.dumps([GOOD, with_(unique_entry_id=None)]))


def test_relative_path_taken_from_payload_folder(tmp_path):
    request = parse_request(with_(fasta_file_url="genome/ce.fa.gz"), base_dir=str(tmp_path))
    assert request.location.local_path == str(tmp_path / "genome/ce.fa.gz")


def test_variants_kept_for_a_command_that_embeds_them():
    request = parse_request(with_(variant_ids=["NC_000067.7:g.1A>G"]), allow_variants=True)
    assert request.variant_ids == ("NC_000067.7:g.1A>G",)
    with pytest.raises(RequestError, match="variant_ids: must be a list of variant id strings"):
        parse_request(with_(variant_ids=[1]), allow_variants=True)
