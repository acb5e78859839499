"""Canonical vCard 3.0 properties written as vCard 4.0 (RFC 6350 §6 and appendix A list what changed); the
way back is tidy.tidy, which reads 4.0 as it reads every dialect, so 3.0 -> 4.0 -> 3.0 is lossless.

What 4.0 has no property for (LABEL, AGENT, CLASS, MAILER, NAME, PROFILE, SORT-STRING) is written as it is:
RFC 6350's grammar takes any property name, and readers keep or ignore names they do not know.
"""

from __future__ import annotations

import re

from phonecloud.contacts.vcard import media
from phonecloud.contacts.vcard.properties import Property
from phonecloud.contacts.vcard.tidy import DATED, KNOWN_TYPES, basic_date, may_be_data_uri

_GEO_30 = re.compile(r"(-?\d+(?:\.\d+)?);(-?\d+(?:\.\d+)?)")
_APPLE_NO_YEAR = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def to_40(props: list[Property]) -> list[Property]:
    return [_property_40(prop) for prop in props]


def _property_40(prop: Property) -> Property:
    out = Property(prop.name, prop.value, [(key, list(values)) for key, values in prop.params], prop.group,
                   prop.line, prop.data)
    if out.data is not None and out.param("ENCODING") and may_be_data_uri(out.name):
        types = out.param("TYPE")
        out.drop("ENCODING", "TYPE")
        if types[1:]:
            out.params.insert(0, ("TYPE", types[1:]))
        out.value = media.data_uri(media.media_of(types[0] if types else None, out.name), out.data)
    _pref_out_of_type(out)
    if out.name in DATED and out.param("VALUE") != ["text"]:
        omitted = out.param("X-APPLE-OMIT-YEAR")
        found = _APPLE_NO_YEAR.fullmatch(out.value)
        if omitted and found and found.group(1) == omitted[0]:
            out.drop("X-APPLE-OMIT-YEAR")
            out.value = f"--{found.group(2)}{found.group(3)}"
        else:
            out.value = basic_date(out.value)
    elif out.name == "GEO" and (found := _GEO_30.fullmatch(out.value)):
        out.value = f"geo:{found.group(1)},{found.group(2)}"
    return out


def _pref_out_of_type(prop: Property) -> None:
    """TYPE=PREF is 4.0's PREF=1 (RFC 6350 §5.3); known TYPE values are written in lower case there."""
    for index, (key, values) in enumerate(prop.params):
        if key != "TYPE":
            continue
        rest = [value.lower() if value.upper() in KNOWN_TYPES else value for value in values if value != "PREF"]
        if len(rest) == len(values):
            prop.params[index] = ("TYPE", rest)
        elif rest:
            prop.params[index:index + 1] = [("TYPE", rest), ("PREF", ["1"])]
        else:
            prop.params[index] = ("PREF", ["1"])
        return
