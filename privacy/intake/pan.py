"""Full card numbers (PANs) in text: 13 to 19 digits, optionally grouped by single spaces or
dashes, that pass the Luhn check. A masked number (`**** **** **** 1111`) is not one."""

import re

# Digits with at most one space or dash between them, not glued to other digits.
CANDIDATE = re.compile(r"(?<![\d])\d(?:[ \-]?\d){12,18}(?![\d])")


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def contains_pan(text: str) -> bool:
    for match in CANDIDATE.finditer(text):
        digits = re.sub(r"[ \-]", "", match.group())
        if 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_valid(digits):
            return True
    return False
