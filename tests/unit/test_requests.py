"""Payload parsing: every user mistake is a one-line error naming request and field."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**9), st.integers(1, 10**9), st.sampled_from(["", " "]), st.booleans())
def test_region_strings_and_objects_parse_alike_in_either_order(a, b, pad, as_text):
    value = f"{pad}{a}{pad}..{pad}{b}{pad}" if as_text else {"start": a, "end": b}
    region = parse_region(value, "R", "exon_seq_regions")
    assert (region.start, region.end) == (min(a, b), max(a, b))
    assert region.length == abs(a - b) + 1


def region_text(value: object) -> tuple[int, int] | None:
    """What README's ``"s..e"`` means, decided without the parser: two whole numbers >= 1
    around one ``..``, spaces allowed; None for anything else (including every non-string)."""
    if not isinstance(value, str) or value.count("..") != 1:
        return None
    parts = [part.strip() for part in value.split("..")]
    if not all(part.isdecimal() for part in parts) or min(int(part) for part in parts) < 1:
        return None
    return int(parts[0]), int(parts[1])


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=20),
        st.from_regex(r"\s?-?[0-9]{0,3}\s?\.{1,3}\s?-?[0-9]{0,3}\s?", fullmatch=True),  # near misses
        st.integers(max_value=0),
        st.floats(),
        st.none(),
        st.lists(st.integers()),
    )
)
def test_malformed_regions_are_one_line_request_errors(value):
    want = region_text(value)
    if want is None:
        with pytest.raises(RequestError) as error:
            parse_region(value, "R", "exon_seq_regions")
        assert error.value.request_id == "R" and error.value.field.startswith("exon_seq_regions")
        assert "\n" not in str(error.value)
    else:
        region = parse_region(value, "R", "exon_seq_regions")
        assert (region.start, region.end) == (min(want), max(want))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("base_seq_name", "x\n>evil"),
        ("base_seq_name", "a b"),
        ("base_seq_name", "a>b"),
        ("base_seq_name", "tab\there"),
        ("base_seq_name", "nul\x00"),
        ("base_seq_name", "del\x7f"),
        ("base_seq_name", "nel\x85"),
        ("alt_seq_name_suffix", "_alt\n>x"),
        ("alt_seq_name_suffix", " alt"),
        ("alt_seq_name_suffix", ">"),
        ("unique_entry_id", "../x"),
        ("unique_entry_id", "a/b"),
        ("unique_entry_id", "a b"),
        ("unique_entry_id", "x\n"),
        ("unique_entry_id", ".hidden"),
        ("unique_entry_id", "x" * 300),
        ("unique_entry_id", "a>b"),
    ],
)
def test_names_are_data_not_markup(field, value):
    with pytest.raises(RequestError) as error:
        parse_request(with_(**{field: value}))
    assert error.value.field == field
    assert "\n" not in str(error.value)
