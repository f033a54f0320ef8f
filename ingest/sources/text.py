"""Bytes → text for files of unknown or mixed encoding, and the wording of the text-size limit."""

from __future__ import annotations


def _decode_line(line: bytes) -> str:
    for encoding in ("utf-8", "cp1252"):
        try:
            return line.decode(encoding)
        except UnicodeDecodeError:
            continue
    return line.decode("latin-1")  # never fails: every byte is a latin-1 character


_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def decode_bytes(data: bytes) -> str:
    """UTF-8 (BOM or not); a file that mixes in cp1252/latin-1 lines is decoded line by line, not refused.
    UTF-16/32 only with a byte-order mark (Excel's "Unicode text" export has one)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                break
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "\n".join(_decode_line(line) for line in data.split(b"\n"))


def over_limit(size: int, max_chars: int, what: str = "abstract") -> str:
    """The one wording for a paper's text over PAPERS_MAX_PAPER_CHARS; "" when it is within the limit.
    Each loader prefixes where it is (record, entry, line) and raises its own error."""
    if size <= max_chars:
        return ""
    return f"{what} is {size:,} characters, over the limit of {max_chars:,} (PAPERS_MAX_PAPER_CHARS)"
