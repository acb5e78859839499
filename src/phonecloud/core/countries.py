"""ISO 3166-1 alpha-2 country codes (from pycountry's copy of the ISO tables), and "ZZ" for "not known"."""

from __future__ import annotations

from functools import cache

from phonecloud.core.errors import BadRequest

UNKNOWN = "ZZ"  # user-assigned in ISO 3166-1 and used for "unknown region" by CLDR


@cache
def _codes() -> frozenset[str]:
    import pycountry

    return frozenset(country.alpha_2 for country in pycountry.countries) | {UNKNOWN}


def country_code(text: str) -> str:
    """text as an upper-case alpha-2 code, or BadRequest naming it."""
    code = (text or "").strip().upper()
    if code not in _codes():
        raise BadRequest(f"not an ISO 3166-1 alpha-2 country code: {text!r} (examples: DE, FR, US; ZZ for unknown)")
    return code
