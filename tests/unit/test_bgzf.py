"""The streaming BGZF check (every block's CRC32 and ISIZE, the EOF block) against bgzip and samtools.

Each inflater the package can use (ISA-L, libdeflate, zlib, whichever are installed) must
find the same damage: a download is refused exactly when ``bgzip -t`` refuses it, and a
good file gives samtools' block table and ``bgzip -dc``'s text, however the bytes are cut.
"""

from __future__ import annotations

import random
import struct
import subprocess
from pathlib import Path

import pytest

from genomecache import bgzf
from tests.conftest import ASSETS, GENOME, plain_fasta, run, samtools_indexes


@pytest.fixture(params=list(bgzf.INFLATERS))
def inflater(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with each installed inflater in turn."""
    function, errors = bgzf.INFLATERS[request.param]
    monkeypatch.setattr(bgzf, "_inflate", function)
    monkeypatch.setattr(bgzf, "_INFLATE_ERRORS", errors)
    return request.param


@pytest.fixture(scope="module")
def genome(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few MB of BGZF written by bgzip (the test genome four times: many blocks)."""
    where = tmp_path_factory.mktemp("bgzf")
    path = where / "g.fa.gz"
    text = plain_fasta()
    copies = b"".join(text.replace(b">CHROMOSOME_", f">c{k}_".encode()) for k in range(4))
    (where / "g.fa").write_bytes(copies)
    run("bgzip", "-f", where / "g.fa")
    return path


def blocks_of(data: bytes) -> list[tuple[int, int]]:
    """(offset, size) of every block, from the BC fields (independent of the checker)."""
    found, pos = [], 0
    while pos < len(data):
        (bsize,) = struct.unpack_from("<H", data, pos + 16)
        found.append((pos, bsize + 1))
        pos += bsize + 1
    return found


def check(data: bytes, chunks: list[int] | None = None, text: list[bytes] | None = None) -> list:
    checker = bgzf.StreamChecker(text=text.append if text is not None else None)
    pos, sizes = 0, iter(chunks or [])
    while pos < len(data):
        step = next(sizes, 4 << 20)
        checker.feed(data[pos : pos + step])
        pos += step
    return checker.finish()


def accepted_by(tool: str, data: bytes, where: Path) -> bool:
    path = where / "t.gz"
    path.write_bytes(data)
    return subprocess.run([tool, "-t", str(path)], capture_output=True).returncode == 0


def test_good_file_gives_samtools_block_table_and_bgzip_text_however_cut(genome, tmp_path, inflater):
    data = genome.read_bytes()
    _fai, gzi = samtools_indexes(genome, tmp_path)
    text = run("bgzip", "-dc", genome).stdout
    rng = random.Random(7)
    cuts = [
        [1 << 20],  # the download's chunk size
        [1] * 40 + [17, 18, 19] * 20 + [65536, 1],  # cuts inside headers and trailers
        [rng.choice([5, 100, 4095, 30000, 70000, 200000]) for _ in range(2000)],
        [1] * len(data),  # one byte at a time (and not quadratic in the block size)
    ]
    for chunks in cuts:
        got: list[bytes] = []
        table = check(data, chunks, got)
        assert bgzf.gzi_bytes(table) == gzi
        assert [c for c, _u, _n in table] == [c for c, _s in blocks_of(data)]
        assert b"".join(got) == text
        assert sum(n for _c, _u, n in table) == len(text)


def test_fai_built_from_the_checked_text_is_samtools(genome, tmp_path):
    fai, _gzi = samtools_indexes(genome, tmp_path)
    builder = bgzf.FaiBuilder()
    check(genome.read_bytes(), [300_000] * 100, text=None)  # text off: no builder calls
    checker = bgzf.StreamChecker(text=builder.feed)
    data = genome.read_bytes()
    for pos in range(0, len(data), 123_457):
        checker.feed(data[pos : pos + 123_457])
    checker.finish()
    assert builder.finish() == fai


def damaged(data: bytes, where: str) -> bytes:
    """``data`` with one middle block's CRC32, ISIZE or payload changed, or the EOF block gone."""
    blocks = blocks_of(data)
    pos, size = blocks[len(blocks) // 2]
    out = bytearray(data)
    if where == "crc":
        out[pos + size - 8] ^= 0x01
    elif where == "isize":
        out[pos + size - 4] ^= 0x01
    elif where == "payload":
        out[pos + size // 2] ^= 0x40
    elif where == "eof":
        return data[: -len(bgzf.EOF)]
    elif where == "truncated":
        return data[: pos + size // 2]
    elif where == "header":
        out[pos + 1] ^= 0xFF  # no gzip magic where the chain says a block starts
    return bytes(out)


@pytest.mark.parametrize("where", ["crc", "isize", "payload", "eof", "truncated", "header"])
def test_damage_is_refused_as_bgzip_refuses_it(genome, tmp_path, inflater, where):
    data = damaged(genome.read_bytes(), where)
    assert accepted_by("gzip", genome.read_bytes(), tmp_path) and accepted_by(
        "bgzip", genome.read_bytes(), tmp_path
    )
    # the oracle: bgzip -t, except that it only warns about a missing EOF block (a download
    # without one was cut short) and does not compare ISIZE with the data (gzip -t does)
    if where == "isize":
        assert not accepted_by("gzip", data, tmp_path)
    elif where != "eof":
        assert not accepted_by("bgzip", data, tmp_path)
    for chunks in ([1 << 20], [65536 + 3] * 400):
        with pytest.raises(bgzf.BgzfError) as caught:
            check(data, chunks)
        message = str(caught.value)
        if where in ("crc", "isize", "payload"):
            pos, _size = blocks_of(data)[len(blocks_of(data)) // 2]
            assert f"corrupt BGZF block at byte {pos} " in message
        elif where == "eof":
            assert "end-of-file marker missing" in message


def test_an_empty_block_in_the_middle_is_not_the_end(genome, inflater):
    """An EOF-like empty block followed by more data (two concatenated files) is fine, but the
    last block must be the EOF block."""
    data = genome.read_bytes()
    table = check(data + data)
    assert len(table) == 2 * len(blocks_of(data))
    with pytest.raises(bgzf.BgzfError, match="end-of-file marker missing"):
        check(data + data[: blocks_of(data)[1][0]])


def test_every_inflater_reads_the_test_genome(inflater):
    data = (ASSETS / GENOME).read_bytes()
    reader_text = b"".join(bgzf.inflate(data[p : p + s], p) for p, s in blocks_of(data))
    assert reader_text == plain_fasta()


LAYOUTS = ["regular", "crlf", "blank", "short_middle", "long_middle", "no_newline", "gt_in_line"]
LAYOUTS += ["text_first", "empty_sequence", "duplicate", "blank_end", "cr_in_sequence"]


def fasta_text(rng: random.Random, layout: str) -> bytes:
    """A FASTA of a few records, bent in the way ``layout`` names (``regular``: not bent)."""
    records = []
    for k in range(rng.randint(1, 4)):
        width = rng.randint(1, 70)
        length = rng.randint(1, 400)
        seq = "".join(rng.choice("ACGTN") for _ in range(length))
        lines = [seq[i : i + width] for i in range(0, length, width)]
        head = f">s{k}" + (" some description" if rng.random() < 0.5 else "")
        records.append([head, *lines])
    target = rng.randrange(len(records))
    lines = records[target]
    if layout == "blank":
        lines.insert(rng.randint(2, len(lines)), "")
    elif layout in ("short_middle", "long_middle") and len(lines) >= 4:
        at = rng.randint(1, len(lines) - 3)
        lines[at] = lines[at][:-1] if layout == "short_middle" else lines[at] + "A"
    elif layout == "gt_in_line":
        at = rng.randint(1, len(lines) - 1)
        lines[at] = ">" + lines[at][1:]
    elif layout == "empty_sequence":
        del lines[1:]
    elif layout == "cr_in_sequence":  # the header is clean, every sequence line ends in CR LF
        lines[1:] = [line + "\r" for line in lines[1:]]
    elif layout == "duplicate" and len(records) > 1:
        records[-1][0] = records[0][0]
    text = "".join(line + "\n" for record in records for line in record)
    if layout == "crlf":
        text = text.replace("\n", "\r\n")
    elif layout == "no_newline":
        text = text[:-1]
    elif layout == "text_first":
        text = "ACGT\n" + text
    elif layout == "blank_end":
        text += "\n"
    return text.encode()


def test_fai_builder_agrees_with_samtools_on_any_layout(tmp_path):
    """Whatever the layout and however the text is cut, the builder gives samtools' .fai or
    None (the caller then indexes the slow way); never a different index. Regular layouts
    always get one."""
    rng = random.Random(12)
    for case in range(150):
        layout = LAYOUTS[case % len(LAYOUTS)]
        text = fasta_text(rng, layout)
        path = tmp_path / f"c{case}.fa"
        path.write_bytes(text)
        made = subprocess.run(["samtools", "faidx", str(path)], capture_output=True)
        oracle = Path(f"{path}.fai").read_bytes() if made.returncode == 0 else None
        builder, pos = bgzf.FaiBuilder(), 0
        while pos < len(text):
            step = rng.choice([1, 2, 5, 61, 1000])
            builder.feed(text[pos : pos + step])
            pos += step
        got = builder.finish()
        assert got is None or got == oracle, (layout, text)
        if layout == "regular":
            assert got is not None and got == oracle, text


def test_blocks_with_other_extra_subfields_are_read_like_bgzip_reads_them(genome, tmp_path, inflater):
    """BGZF allows more gzip extra subfields beside BC (htslib skips them); such blocks take
    the general header parser, fed whole or cut inside the header."""
    data = genome.read_bytes()
    rewritten = bytearray()
    for pos, size in blocks_of(data)[:-1]:  # all but the EOF block, which is 28 fixed bytes
        block = data[pos : pos + size]
        payload = block[18:]  # raw DEFLATE, CRC32, ISIZE
        extra = b"XY\x03\x00abc" + b"BC\x02\x00" + struct.pack("<H", 12 + 13 + len(payload) - 1)
        rewritten += block[:10] + struct.pack("<H", len(extra)) + extra + payload
    rewritten = bytes(rewritten + bgzf.EOF)
    assert accepted_by("bgzip", rewritten, tmp_path)
    text = run("bgzip", "-dc", genome).stdout
    for chunks in ([1 << 20], [7, 13, 20, 30] * 100000):
        got: list[bytes] = []
        table = check(rewritten, chunks, got)
        assert b"".join(got) == text
        assert len(table) == len(blocks_of(data))
