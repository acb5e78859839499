"""Bytes of a value to text, tolerantly: the declared CHARSET first, then what files really turn out to hold.
Decoding never fails: the last resort, ISO-8859-1, maps every byte to a character."""

from __future__ import annotations

import binascii
import codecs

# Declared charsets and what their writers really used: Japanese phones' Shift_JIS is Microsoft's cp932
# (NEC and IBM extensions such as circled digits), "ISO-8859-1" from Windows is cp1252 (curly quotes, euro
# sign in 0x80-0x9F), GB2312 is written by GBK/GB18030 encoders, EUC-KR by cp949 (the WHATWG mapping).
_SUPERSETS = {"shift_jis": "cp932", "iso8859-1": "cp1252", "ascii": "cp1252", "gb2312": "gb18030",
              "gbk": "gb18030", "euc_kr": "cp949", "big5": "big5hkscs"}
# Labels that are wrong as often as right: valid UTF-8 under them is UTF-8 (a Western name in cp1252 is
# almost never valid UTF-8, and a UTF-8 name read as cp1252 is mojibake).
_WESTERN = {"iso8859-1", "ascii", "cp1252", "iso8859-15"}


def decode_text(data: bytes, declared: str | None = None) -> str:
    if declared is None or data.isascii():
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    for codec in _candidates(declared):
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1")


def decode_quoted_printable(data: bytes) -> bytes:
    """QP to bytes (RFC 2045 §6.7); an '=' not followed by two hex digits stays as it is, as writers mean it."""
    return binascii.a2b_qp(data)


def _candidates(declared: str | None) -> list[str]:
    name = _codec_name(declared)
    if name is None or name in _WESTERN:
        return ["utf-8", "cp1252"]
    return [_SUPERSETS.get(name, name), name, "utf-8", "cp1252"]


def _codec_name(declared: str | None) -> str | None:
    if not declared:
        return None
    try:
        info = codecs.lookup(declared.strip().strip('"'))
    except (LookupError, ValueError):
        return None
    # Only text encodings: CHARSET=zlib or CHARSET=rot13 name Python codecs that are not character sets.
    return info.name if getattr(info, "_is_text_encoding", True) else None
