"""Lacuna's record inside an XMP packet: for WebP, which has no comment or text field of its own, so
that a WebP moved away from its sidecar still says it is a reconstruction and what made it.

The record is one element of Lacuna's own namespace in an rdf:Description of its own, added to the
source's packet (whose words stay as they were) or to a new one; reading takes it out again, so a
later derivative's XMP carries the source's words and not a stale record.
"""

from __future__ import annotations

import html
import re

NAMESPACE = "urn:lacuna:provenance:1"
_OURS = re.compile(
    rb'\s*<rdf:Description rdf:about="" xmlns:lacuna="urn:lacuna:provenance:1">.*?</rdf:Description>\n?', re.S
)
_RECORD = re.compile(rb"<lacuna:record>(.*?)</lacuna:record>", re.S)
_EMPTY = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
    b"</rdf:RDF></x:xmpmeta>\n"
    b'<?xpacket end="w"?>'
)


def with_record(xmp: bytes | None, record: str) -> bytes:
    """`xmp` (or a new packet where there is none, or none we can add to) with `record` in it."""
    packet = (split(xmp)[0] or _EMPTY) if xmp and b"</rdf:RDF>" in xmp else _EMPTY
    ours = (
        f'\n<rdf:Description rdf:about="" xmlns:lacuna="{NAMESPACE}">'
        f"<lacuna:record>{html.escape(record, quote=False)}</lacuna:record></rdf:Description>\n"
    ).encode()
    at = packet.rindex(b"</rdf:RDF>")
    return packet[:at] + ours + packet[at:]


def split(xmp: bytes) -> tuple[bytes | None, str | None]:
    """(the packet as the source had it, or None where it was only ours; the record it holds, or None)."""
    found = _RECORD.search(xmp)
    if found is None:
        return xmp, None
    source = _OURS.sub(b"", xmp)
    return (None if source == _EMPTY else source), html.unescape(found.group(1).decode("utf-8", "replace"))
