"""Units, currencies and the symbols that stand for them."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: Canonical unit name -> its spellings. A spelling belongs to one unit only (checked by the tests).
UNIT_SPELLINGS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    # length
    "millimetre": ("mm", "millimeter", "millimetre"),
    "centimetre": ("cm", "centimeter", "centimetre"),
    "metre": ("meter", "metre", "mtr"),
    "kilometre": ("km", "kms", "kilometer", "kilometre", "klick"),
    "inch": ("inch", "inches"),
    "foot": ("ft", "foot", "feet"),
    "yard": ("yd", "yard", "yards"),
    "mile": ("mi", "mile", "miles"),
    # mass
    "milligram": ("mg", "milligram", "milligramme"),
    "gram": ("gram", "gramme", "gm", "gms"),
    "kilogram": ("kg", "kgs", "kilogram", "kilogramme", "kilo"),
    "tonne": ("tonne", "ton"),
    "ounce": ("oz", "ounce"),
    "pound-mass": ("lb", "lbs"),
    "stone": ("stone",),
    # volume
    "millilitre": ("ml", "millilitre", "milliliter"),
    "litre": ("litre", "liter", "ltr"),
    "gallon": ("gal", "gallon"),
    "cup": ("cup",),
    "teaspoon": ("tsp", "teaspoon"),
    "tablespoon": ("tbsp", "tablespoon"),
    # temperature
    "celsius": ("celsius", "centigrade", "°c", "℃"),
    "fahrenheit": ("fahrenheit", "°f", "℉"),
    "kelvin": ("kelvin",),
    "degree": ("degree", "deg", "°"),
    # time spans
    "millisecond": ("ms", "millisecond", "msec"),
    "second": ("sec", "secs", "seconds"),
    "minute": ("minute", "mins"),
    "hour": ("hour", "hr", "hrs"),
    "day": ("day",),
    "week": ("week", "wk", "wks"),
    "fortnight": ("fortnight",),
    "month": ("month", "mo"),
    "year": ("year", "yr", "yrs"),
    "decade": ("decade",),
    "century": ("century", "centuries"),
    # data, frequency, power, speed
    "bit": ("bit",),
    "byte": ("byte",),
    "kilobyte": ("kb", "kilobyte"),
    "megabyte": ("mb", "megabyte", "mbs"),
    "gigabyte": ("gb", "gigabyte", "gigs", "gbs", "gig"),
    "terabyte": ("tb", "terabyte"),
    "megabit": ("mbps", "megabit"),
    "gigabit": ("gbps", "gigabit"),
    "hertz": ("hz", "hertz"),
    "megahertz": ("mhz", "megahertz"),
    "gigahertz": ("ghz", "gigahertz"),
    "watt": ("watt", "watts"),
    "kilowatt": ("kw", "kilowatt"),
    "kilowatt-hour": ("kwh",),
    "volt": ("volt", "volts"),
    "ampere": ("amp", "amps", "ampere", "mah"),
    "mph": ("mph",),
    "km/h": ("kmh", "kph", "kmph"),
    "pixel": ("px", "pixel", "megapixel", "mp"),
    "dpi": ("dpi",),
    "percent": ("percent", "per cent", "percentage", "pct", "%"),
    # money
    "dollar": ("$", "usd", "dollar", "buck"),
    "euro": ("€", "eur", "euro"),
    "pound-sterling": ("£", "gbp", "sterling", "quid"),
    "rupee": ("₹", "inr", "rs", "rupee"),
    "yen": ("¥", "jpy", "yen"),
    "yuan": ("cny", "yuan", "rmb", "renminbi"),
    "cent": ("cent", "¢"),
    "bitcoin": ("btc", "bitcoin"),
    "won": ("krw",),
})

#: "pound" is a weight or a currency: either way it differs from the other units, so it gets its own name.
POUND = "pound"
#: Spelling -> canonical unit.
UNITS: Mapping[str, str] = MappingProxyType(
    {spelling: unit for unit, spellings in UNIT_SPELLINGS.items() for spelling in spellings} | {POUND: POUND}
)
#: Spellings that are units only right after a number ("5 m", "3 g", "10 s"); elsewhere they are letters.
UNITS_AFTER_NUMBER: Mapping[str, str] = MappingProxyType({
    "m": "metre", "g": "gram", "h": "hour", "l": "litre", "w": "watt", "v": "volt", "c": "celsius",
    "f": "fahrenheit", "min": "minute", "yo": "year", "x": "times",
})  # fmt: skip
#: Unit spellings that look like common words: units only right after a number ("10 mi", "3 sec").
UNITS_NEEDING_NUMBER = frozenset({
    "mo", "mi", "rs", "gig", "cup", "stone", "ton", "deg", "sec", "kilo", "buck", "gal", "amp", "bit", "mp",
    "cent",
})  # fmt: skip
