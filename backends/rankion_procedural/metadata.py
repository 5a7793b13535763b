"""Metadata out, pixels untouched: PNG, JPEG and WebP rewritten chunk by chunk.

What goes: EXIF, XMP, IPTC, GPS (which lives inside EXIF) and text — PNG ``tEXt``,
``zTXt``, ``iTXt`` (XMP too), ``eXIf`` and ``tIME``; JPEG APP1 (EXIF, XMP), APP13
(IPTC), the other application segments and comments, keeping APP0 (JFIF), APP2 ICC
profiles and APP14 (Adobe colour transform), which decoding needs; WebP ``EXIF`` and
``XMP `` chunks, with their flags cleared in ``VP8X``. The compressed image data is
copied byte for byte, so nothing is re-encoded. Anything that does not parse raises
``ValueError``.
"""

from __future__ import annotations

import struct

__all__ = ["strip_metadata"]

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_PNG_DROP = {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"}
_JPEG_KEEP_APP = {0xE0, 0xEE}  # JFIF, Adobe
_JPEG_ICC = b"ICC_PROFILE\x00"
_WEBP_DROP = {b"EXIF", b"XMP "}
_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04


def strip_metadata(data: bytes) -> bytes:
    """``data`` without metadata; the same object when there was none to drop."""
    if data.startswith(_PNG_MAGIC):
        return _png(data)
    if data.startswith(b"\xff\xd8"):
        return _jpeg(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp(data)
    raise ValueError("not a PNG, JPEG or WebP image")


def _png(data: bytes) -> bytes:
    kept, pos, dropped = [_PNG_MAGIC], len(_PNG_MAGIC), False
    while pos < len(data):
        if pos + 12 > len(data):
            raise ValueError("truncated PNG chunk")
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, end = data[pos + 4 : pos + 8], pos + 12 + length
        if end > len(data):
            raise ValueError("truncated PNG chunk")
        if kind in _PNG_DROP:
            dropped = True
        else:
            kept.append(data[pos:end])
        pos = end
        if kind == b"IEND":
            break
    return b"".join(kept) if dropped else data


def _jpeg(data: bytes) -> bytes:
    kept, pos, dropped = [data[:2]], 2, False
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ValueError("bad JPEG marker")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            kept.append(data[pos : pos + 1])
            pos += 1
            continue
        if marker == 0xDA:  # start of scan: the rest is image data
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        end = pos + 2 + length
        if length < 2 or end > len(data):
            raise ValueError("truncated JPEG segment")
        segment = data[pos:end]
        is_app = 0xE0 <= marker <= 0xEF
        icc = marker == 0xE2 and segment[4:16] == _JPEG_ICC
        if (is_app and marker not in _JPEG_KEEP_APP and not icc) or marker == 0xFE:
            dropped = True
        else:
            kept.append(segment)
        pos = end
    kept.append(data[pos:])
    return b"".join(kept) if dropped else data


def _webp(data: bytes) -> bytes:
    kept, pos, dropped = [], 12, False
    end_of_riff = min(len(data), 8 + struct.unpack("<I", data[4:8])[0])
    while pos + 8 <= end_of_riff:
        kind = data[pos : pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        end = pos + 8 + size + (size & 1)
        if end > end_of_riff + (size & 1):
            raise ValueError("truncated WebP chunk")
        if kind in _WEBP_DROP:
            dropped = True
        else:
            kept.append(bytearray(data[pos:end]))
        pos = end
    if not dropped:
        return data
    for chunk in kept:
        if chunk[:4] == b"VP8X":
            chunk[8] &= ~(_VP8X_EXIF | _VP8X_XMP) & 0xFF
    body = b"".join(kept)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body
