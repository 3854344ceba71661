"""Which text encoding a Windows XML or JSON-lines input is in, from its first bytes.

Windows tools write UTF-16 (wevtutil, PowerShell's `Out-File` and `>`), with or without a byte
order mark; everything else is read as bytes in an ASCII-compatible encoding (UTF-8, or GB18030
on Chinese hosts, or what an XML declaration says) and decoded record by record, as the text
parsers do (`logwarden.shippers.textlog.decode`). A record read as GB18030 because it was not
UTF-8 is a guess that can be wrong, so its document says so: `log.flags: charset-gb18030`.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import BinaryIO

from logwarden.shippers.textlog import decode

FLAG_GB18030 = "charset-gb18030"  # log.flags of a record decoded by the GB18030 fallback

CHUNK = 1 << 20
_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def wide_encoding(head: bytes) -> str | None:
    """The codec of a UTF-16/32 input (by its byte order mark, or the NUL bytes of BOM-less
    UTF-16 around ASCII markup), "utf-8-sig" for a UTF-8 mark, None for plain bytes."""
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec
    sample = head[:64]
    if len(sample) >= 4:
        even, odd = sample[0::2], sample[1::2]
        if not odd.strip(b"\x00") and even.strip(b"\x00"):
            return "utf-16-le"
        if not even.strip(b"\x00") and odd.strip(b"\x00"):
            return "utf-16-be"
    return None


def text_start(head: bytes) -> str:
    """The first characters of the input as text (whatever its encoding), for format sniffing."""
    codec = wide_encoding(head)
    if codec is None or codec == "utf-8-sig":
        return head.removeprefix(codecs.BOM_UTF8)[:64].decode("latin-1")
    return codecs.getincrementaldecoder(codec)(errors="replace").decode(head[:256])


def utf8_lines(codec: str, head: bytes, data: BinaryIO) -> Iterator[bytes]:
    """The lines of `head` + `data` (in `codec`) re-encoded as UTF-8, each with its newline.

    Undecodable bytes become U+FFFD; memory is bounded by the longest line."""
    decoder = codecs.getincrementaldecoder(codec)(errors="replace")
    pending = decoder.decode(head)
    while True:
        chunk = data.read(CHUNK)
        pending += decoder.decode(chunk, final=not chunk)
        *lines, pending = pending.split("\n")
        for line in lines:
            yield (line + "\n").encode("utf-8", "surrogatepass")
        if not chunk:
            break
    if pending:
        yield pending.encode("utf-8", "surrogatepass")


def decode_record(raw: bytes) -> tuple[str | None, list[str]]:
    """(text, flags) of one record's bytes: UTF-8 with no flag, else GB18030 flagged
    FLAG_GB18030, else (None, []) when neither decodes (the caller makes it a dead letter)."""
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    text = decode(raw)
    return text, ([FLAG_GB18030] if text is not None else [])
