"""Bytes → text for files of unknown or mixed encoding."""

from __future__ import annotations

import re
from typing import Any


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


# Lone surrogates (JSON "\\ud800" escapes, PDF strings) cannot be encoded at all, and control
# characters (NUL, ESC and the rest of C0/C1) would reach terminals as escape sequences.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff]")
_CONTROL_SPACE = re.compile(r"[\x0b\x0c\x85]")


def scrub(text: str) -> str:
    """`text` without lone surrogates and control characters (tab, CR and LF stay; vertical tab, form
    feed and NEL become spaces)."""
    if not _CONTROL.search(text) and not _CONTROL_SPACE.search(text):
        return text
    return _CONTROL_SPACE.sub(" ", _CONTROL.sub("", text))


def scrub_fields(value: Any) -> Any:
    """`scrub` applied to every string in a JSON-like structure."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [scrub_fields(v) for v in value]
    if isinstance(value, dict):
        return {k: scrub_fields(v) for k, v in value.items()}
    return value
