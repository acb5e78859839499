"""Amounts of money as integers of the currency's minor unit (cents), never floats.

Currencies are ISO 4217 codes (checked against pycountry's copy of the list); most have two decimals, the
ones below have none or three (ISO 4217's minor-unit column).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import cache

from phonecloud.core.errors import BadRequest

_NO_DECIMALS = frozenset("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split())
_THREE_DECIMALS = frozenset("BHD IQD JOD KWD LYD OMR TND".split())
MAX_MINOR = 10**15  # far beyond any real payment; keeps every sum inside a 64-bit column


@cache
def _currencies() -> frozenset[str]:
    import pycountry

    return frozenset(currency.alpha_3 for currency in pycountry.currencies)


def currency_code(text: str) -> str:
    code = (text or "").strip().upper()
    if code not in _currencies():
        raise BadRequest(f"not an ISO 4217 currency code: {text!r} (examples: EUR, USD, JPY)")
    return code


def decimals(currency: str) -> int:
    return 0 if currency in _NO_DECIMALS else 3 if currency in _THREE_DECIMALS else 2


def to_minor(amount: str | Decimal, currency: str) -> int:
    """"1.99" EUR -> 199; BadRequest for anything that is not a non-negative amount in that currency's units."""
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        raise BadRequest(f"not an amount: {amount!r} (write it like 1.99)") from None
    if not value.is_finite() or value < 0:
        raise BadRequest(f"an amount must be a positive number or zero: {amount!r}")
    minor = value.scaleb(decimals(currency))
    if minor != minor.to_integral_value():
        raise BadRequest(f"{currency} has {decimals(currency)} decimals; {amount!r} has more")
    if minor > MAX_MINOR:
        raise BadRequest(f"amount too large: {amount!r}")
    return int(minor)


def from_minor(minor: int, currency: str) -> str:
    """199 EUR -> "1.99"."""
    places = decimals(currency)
    return f"{Decimal(minor).scaleb(-places):.{places}f}"
