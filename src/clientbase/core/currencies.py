"""ISO 4217 currencies and their minor units (the number of decimals a price has)."""

from decimal import ROUND_HALF_UP, Decimal

# Active ISO 4217 codes with their minor-unit exponent. Most currencies have
# two decimals; the exceptions are listed explicitly below.
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"
_TWO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP "
    "BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD "
    "FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD "
    "KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD "
    "NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP "
    "SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED "
    "VES WST XCD XCG YER ZAR ZMW ZWG"
)

EXPONENTS: dict[str, int] = {
    **{code: 2 for code in _TWO.split()},
    **{code: 0 for code in _ZERO.split()},
    **{code: 3 for code in _THREE.split()},
    **{code: 4 for code in _FOUR.split()},
}

# Each currency's minor unit, made once: quantizing every price of a batch
# made it anew each time.
_MINOR_UNITS: dict[str, Decimal] = {code: Decimal(1).scaleb(-exponent) for code, exponent in EXPONENTS.items()}


def is_currency(code: str) -> bool:
    return code in EXPONENTS


def minor_unit(code: str) -> Decimal:
    """The smallest amount of the currency: Decimal('0.01') for EUR, Decimal('1') for JPY."""
    return _MINOR_UNITS[code]


def quantize(amount: Decimal, code: str) -> Decimal:
    """Round once, half up, to the currency's minor unit."""
    return Decimal(amount).quantize(_MINOR_UNITS[code], rounding=ROUND_HALF_UP)


def has_precision(amount: Decimal, code: str) -> bool:
    """True when `amount` has no more decimals than the currency allows."""
    return quantize(amount, code) == amount
