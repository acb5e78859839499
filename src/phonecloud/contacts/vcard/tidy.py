"""One property made canonical vCard 3.0, whatever dialect it came from. Canonical means one spelling for
each thing that has several, so that 3.0 -> 4.0 -> 3.0 gives back the same text byte for byte:

- parameters: upper-case names; every TYPE value in one TYPE list, where the first TYPE was, without
  duplicates, known type names upper case and PREF last (4.0's PREF=1 becomes TYPE=PREF); VALUE lower case,
  2.1's and Thunderbird's VALUE=URL as uri;
- binary values: ENCODING=b first, then TYPE with the media token (JPEG, sniffed from the bytes when not
  written), base64 unfolded and padded; a 4.0 data: URI becomes the same;
- dates in ISO 8601 extended form (2.1 and 4.0 write the basic one); a date without a year as Apple writes
  it (X-APPLE-OMIT-YEAR=1604, what iOS and macOS read; 4.0 and Android write --MMDD);
- TEL as text (4.0's tel: URI unwrapped), GEO as lat;lon, URL without Google's escaped colons (http\\://).
"""

from __future__ import annotations

import base64
import re

from phonecloud.contacts.vcard import media
from phonecloud.contacts.vcard.errors import VCardError
from phonecloud.contacts.vcard.properties import Params, Property

# The TYPE values RFC 2426 and RFC 6350 name (and Apple's IPHONE, Outlook's and Android's MAIN and OTHER).
KNOWN_TYPES = {"HOME", "WORK", "CELL", "VOICE", "FAX", "PAGER", "MSG", "PREF", "INTERNET", "X400", "DOM", "INTL",
               "POSTAL", "PARCEL", "BBS", "MODEM", "CAR", "ISDN", "VIDEO", "PCS", "TEXT", "TEXTPHONE", "MAIN",
               "OTHER", "IPHONE", "AOL", "APPLELINK", "ATTMAIL", "CIS", "EWORLD", "IBMMAIL", "MCIMAIL",
               "POWERSHARE", "PRODIGY", "TLX"}
BINARY = {"PHOTO", "LOGO", "SOUND", "KEY"}
DATED = {"BDAY", "ANNIVERSARY", "DEATHDATE", "REV"}
_TIDIED = BINARY | DATED | {"TEL", "GEO", "URL"}
_ENCODINGS = {"QUOTED-PRINTABLE", "BASE64", "B", "8BIT", "7BIT"}
NO_YEAR = "1604"  # Apple's year for "no year": a leap year before any birth date anyone stores
_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")
_NO_YEAR_DATE = re.compile(r"--(\d{2})-?(\d{2})")
_DATE_TIME = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2})(?::?(\d{2}))?(Z|[+-]\d{2}(?::?\d{2})?)?")
_GEO_21 = re.compile(r"(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)")
_GEO_URI = re.compile(r"geo:(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)", re.IGNORECASE)
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S")


def read_params(raw: list[tuple[str | None, list[str]]]) -> tuple[Params, str | None, str | None]:
    """(parameters, ENCODING, CHARSET): 2.1's bare parameters (TEL;CELL, PHOTO;JPEG;BASE64) named, all TYPE
    values gathered, ENCODING and CHARSET taken out (the value is decoded with them)."""
    params: Params = []
    types: list[str] = []
    encoding = charset = None
    if not raw:
        return params, encoding, charset
    for key, values in raw:
        if key is None and values[0].upper() in _ENCODINGS:
            encoding = values[0].upper()
        elif key == "ENCODING":
            encoding = values[0].strip().upper() if values else None
        elif key == "CHARSET":
            charset = values[0] if values else None
        elif key is None or key == "TYPE":
            if not any(param is types for _, param in params):
                params.append(("TYPE", types))
            types.extend(part for value in values for part in value.split(",") if part)  # TYPE="a,b" too
        else:
            params.append((key, values))
    return params, encoding, charset


def tidy(prop: Property) -> Property:
    if prop.params:
        _pref_into_type(prop)
        _tidy_types(prop)
        _tidy_value_type(prop)
    elif prop.name not in _TIDIED and not prop.name.startswith("X-"):
        return prop  # most properties: nothing to do
    if may_be_data_uri(prop.name) and prop.data is None and prop.value.lstrip()[:5].lower() == "data:":
        try:
            found = media.parse_data_uri(prop.value, prop.line, prop.name)
        except VCardError:
            if prop.name in BINARY:
                raise
            found = None  # an X- property's odd data: URI is just kept as text
        if found is not None:
            types = [token] if (token := media.token_for_media(found[0], prop.name)) else []
            types += prop.param("TYPE")
            prop.drop("VALUE", "MEDIATYPE", "TYPE")
            prop.params[:0] = [("TYPE", types)] if types else []
            prop.data = found[1]
    if prop.data is not None:
        _as_binary(prop)
    elif prop.name in BINARY and not prop.param("VALUE") and _URI.match(prop.value):
        prop.params.append(("VALUE", ["uri"]))  # Google writes PHOTO:https://... without it
    if prop.name == "TEL" and prop.param("VALUE") == ["uri"] and prop.value[:4].lower() == "tel:":
        prop.value = prop.value[4:]
        prop.drop("VALUE")
    elif prop.name in DATED and prop.param("VALUE") != ["text"]:
        _tidy_date(prop)
    elif prop.name == "GEO":
        found = _GEO_URI.fullmatch(prop.value.strip()) or _GEO_21.fullmatch(prop.value.strip())
        prop.value = f"{found.group(1)};{found.group(2)}" if found else prop.value
    elif prop.name == "URL" and "\\:" in prop.value:
        # Google's http\:// (an escaped backslash before a colon stays one)
        marked = prop.value.replace("\\\\", "\x00").replace("\\:", ":")
        prop.value = marked.replace("\x00", "\\\\")
    return prop


def may_be_data_uri(name: str) -> bool:
    """Whether a binary value of this property is written as a data: URI in 4.0 (and read back from one)."""
    return name in BINARY or name.startswith("X-")  # X-MS-CARDPICTURE is a photo too


def _pref_into_type(prop: Property) -> None:
    found = [index for index, (key, values) in enumerate(prop.params) if key == "PREF" and values == ["1"]]
    if not found:
        return
    at = found[0]
    prop.params = [param for index, param in enumerate(prop.params) if index not in found]
    for key, values in prop.params:
        if key == "TYPE":
            values.append("PREF")
            return
    prop.params.insert(at, ("TYPE", ["PREF"]))


def _tidy_types(prop: Property) -> None:
    for index, (key, values) in enumerate(prop.params):
        if key != "TYPE":
            continue
        seen, kept = set(), []
        for value in values:
            value = value.strip()
            upper = value.upper()
            if value and upper not in seen:
                seen.add(upper)
                kept.append(upper if upper in KNOWN_TYPES else value)
        kept.sort(key=lambda value: value == "PREF")
        prop.params[index] = ("TYPE", kept)
    prop.params = [(key, values) for key, values in prop.params if key != "TYPE" or values]


def _tidy_value_type(prop: Property) -> None:
    for index, (key, values) in enumerate(prop.params):
        if key == "VALUE":
            prop.params[index] = ("VALUE", ["uri" if value.lower() == "url" else value.lower() for value in values])
    if prop.name == "TEL" and prop.param("VALUE") == ["text"]:
        prop.drop("VALUE")  # Thunderbird's TEL;VALUE=TEXT says what TEL's value is anyway


def _as_binary(prop: Property) -> None:
    types = prop.param("TYPE")
    token = next((media.token_of(value, prop.name) for value in types if media.token_of(value, prop.name)), None)
    if token is None and types and types[0]:
        token, types = "".join(types[0].split()).upper(), types[1:]
    token = token or media.sniffed_token(prop.data or b"")
    others = [value for value in types if value and media.token_of(value, prop.name) is None and value.upper() != token]
    prop.drop("ENCODING", "TYPE", "VALUE")
    type_param = [("TYPE", [token] + others)] if token else ([("TYPE", others)] if others else [])
    prop.params = [("ENCODING", ["b"])] + type_param + prop.params
    prop.value = base64.b64encode(prop.data or b"").decode("ascii")


def _tidy_date(prop: Property) -> None:
    value = prop.value.strip()
    if found := _NO_YEAR_DATE.fullmatch(value):
        prop.drop("X-APPLE-OMIT-YEAR")
        prop.params.insert(0, ("X-APPLE-OMIT-YEAR", [NO_YEAR]))
        prop.value = f"{NO_YEAR}-{found.group(1)}-{found.group(2)}"
    elif found := _DATE.fullmatch(value):
        prop.value = "-".join(found.groups())
    elif found := _DATE_TIME.fullmatch(value):
        year, month, day, hour, minute, second, zone = found.groups()
        seconds = f":{second}" if second else ""
        prop.value = f"{year}-{month}-{day}T{hour}:{minute}{seconds}{_zone(zone or '', ':')}"
    omit = prop.param("X-APPLE-OMIT-YEAR")
    if omit:
        prop.drop("X-APPLE-OMIT-YEAR")
        prop.params.insert(0, ("X-APPLE-OMIT-YEAR", omit))


def _zone(zone: str, separator: str) -> str:
    digits = zone[1:].replace(":", "")
    return zone if len(digits) != 4 else f"{zone[0]}{digits[:2]}{separator}{digits[2:]}"


def basic_date(value: str) -> str:
    """A 3.0 date or date-time as vCard 4.0 writes it (ISO 8601 basic form, RFC 6350 §4.3)."""
    if found := _DATE.fullmatch(value):
        return "".join(found.groups())
    if found := _DATE_TIME.fullmatch(value):
        year, month, day, hour, minute, second, zone = found.groups()
        return f"{year}{month}{day}T{hour}{minute}{second or ''}{_zone(zone or '', '')}"
    return value
