"""Property values between the dialects' escaping rules, and the kinds of value each property has.

vCard 3.0 and 4.0 text escapes backslash, comma, semicolon and line breaks (RFC 2426 §4, RFC 6350 §3.4);
vCard 2.1 escapes only the semicolon (the versit 2.1 specification), Android adds \\n for line breaks and
DoCoMo's \\< and \\>. Structured values (N, ADR, ORG) separate their components with unescaped semicolons.
"""

from __future__ import annotations

import re

# Components separated by ';' (N, ADR, ORG; Android's X-ANDROID-CUSTOM and most X- properties copy a row).
STRUCTURED = {"N", "ADR", "ORG", "GENDER", "CLIENTPIDMAP", "X-ANDROID-CUSTOM"}
# Lists separated by ','.
LISTS = {"CATEGORIES", "NICKNAME"}
# Not text: URIs, numbers, dates, binary, or a nested vCard: the value is kept as the source wrote it.
VERBATIM = {"TEL", "URL", "BDAY", "ANNIVERSARY", "REV", "GEO", "TZ", "PHOTO", "LOGO", "SOUND", "KEY", "SOURCE",
            "AGENT", "IMPP", "FBURL", "CALURI", "CALADRURI", "MEMBER", "RELATED", "KIND", "LANG", "XML",
            "VERSION", "BEGIN", "END"}

# Placeholders while escapes are worked on with C-speed replaces (values never hold control characters:
# they are dropped when decoded), so no value costs a Python call per character.
_BACKSLASH, _SEPARATOR = "\x00", "\x01"
_UNESCAPE_30 = re.compile(r"\\(?=.)", re.DOTALL)  # the backslash of an escape, replaced by nothing:
_UNESCAPE_21 = re.compile(r"\\(?=[;,:<>])")  # a literal replacement keeps re.sub in C
_NEWLINE_ESCAPE = re.compile(r"\\[nN]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def kind_of(name: str) -> str:
    if name in STRUCTURED or (name.startswith("X-") and name not in VERBATIM):
        return "structured"
    if name in LISTS:
        return "list"
    return "verbatim" if name in VERBATIM else "text"


def split_escaped(value: str, separator: str = ";") -> list[str]:
    """Split at separators that are not escaped; the parts keep their escapes."""
    if "\\" not in value:
        return value.split(separator)
    marked = value.replace("\\\\", _BACKSLASH).replace("\\" + separator, _SEPARATOR)
    return [part.replace(_SEPARATOR, "\\" + separator).replace(_BACKSLASH, "\\\\")
            for part in marked.split(separator)]


def unescape(value: str) -> str:
    """A 3.0/4.0 text value as text."""
    if "\\" not in value:
        return value
    marked = _NEWLINE_ESCAPE.sub("\n", value.replace("\\\\", _BACKSLASH))
    return _UNESCAPE_30.sub("", marked).replace(_BACKSLASH, "\\")


def escape(text: str, keep_commas: bool = False) -> str:
    """Text as a 3.0/4.0 text value (a list's items keep their separating commas)."""
    text = text.replace("\\", "\\\\").replace(";", "\\;")
    if not keep_commas:
        text = text.replace(",", "\\,")
    return _LINE_BREAK.sub(r"\\n", text) if "\n" in text or "\r" in text else text


def unescape_21(value: str) -> str:
    """A vCard 2.1 value as text: other backslashes are literal there (Windows paths in notes)."""
    if "\\" not in value:
        return value
    marked = _NEWLINE_ESCAPE.sub("\n", value.replace("\\\\", _BACKSLASH))
    return _UNESCAPE_21.sub("", marked).replace(_BACKSLASH, "\\")


def from_21(name: str, value: str) -> str:
    """A decoded vCard 2.1 value in 3.0 escaping, by the property's kind of value."""
    kind = kind_of(name)
    if kind == "verbatim":
        return _LINE_BREAK.sub("\\\\n", value)
    if kind == "structured":
        return ";".join(escape(unescape_21(part)) for part in split_escaped(value))
    if kind == "list":
        items = [item for part in split_escaped(value) for item in split_escaped(part, ",")]
        return ",".join(escape(unescape_21(item)) for item in items)
    return escape(unescape_21(value))


def components(value: str) -> list[str]:
    """A structured 3.0 value's components as text (a component's own comma list joined by spaces)."""
    return [" ".join(unescape(item) for item in split_escaped(part, ",")) for part in split_escaped(value)]
