"""The denylist of secrets that must never reach production, and the one rule for comparing a value to it.

The list itself is the data file `placeholders.txt` beside this module (shipped in the wheel), so the deploy
kit's preflight reads the same entries. A value matches an entry when both are equal after `normalise()`.
"""

import re
from functools import lru_cache
from pathlib import Path

# A trailing number, with or without a separator: `CHANGE-ME-1`, `changeme_2024`, `secret123`.
_TRAILING_NUMBER = re.compile(r"[-_.\s]*[0-9]+$")
_QUOTES = "\"'`"


def normalise(value: str) -> str:
    """The form a value is compared in: no surrounding whitespace or quotes, lower case, no trailing number."""
    value = value.strip()
    while len(value) >= 2 and value[0] == value[-1] and value[0] in _QUOTES:
        value = value[1:-1].strip()
    return _TRAILING_NUMBER.sub("", value.lower())


@lru_cache(maxsize=1)
def entries() -> frozenset[str]:
    """The denylist's entries, normalised (`#` comment lines and blank lines left out)."""
    # Beside this module (not importlib.resources): the deploy kit loads this file by path, without the package.
    text = Path(__file__).with_name("placeholders.txt").read_text(encoding="utf-8")
    lines = (line.strip() for line in text.splitlines())
    return frozenset(normalise(line) for line in lines if line and not line.startswith("#")) - {""}


def is_placeholder(value: str) -> bool:
    """True when *value* is a known placeholder, example or test secret (however quoted or numbered)."""
    return normalise(value) in entries()
