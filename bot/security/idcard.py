"""Resident identity card numbers (GB 11643-1999): normalisation and the check digit."""

from __future__ import annotations

import re
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")


class IdCardError(ValueError):
    """Why the number is not a valid ID card number (Chinese, for the user)."""


def normalize(raw: str) -> str:
    return raw.strip().replace(" ", "").upper()


def check_digit(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def validate(raw: str) -> str:
    """Return the normalised number, or raise IdCardError saying what is wrong."""
    number = normalize(raw)
    if not _SHAPE.match(number):
        raise IdCardError("身份证号应为18位，前17位为数字，最后一位为数字或X")
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdCardError("身份证号中的出生日期无效") from None
    if check_digit(number[:17]) != number[17]:
        raise IdCardError("身份证号校验位不正确，请核对后重新输入")
    return number


def birth_date(number: str) -> date:
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def sex(number: str) -> str:
    """'M' or 'F' from the 17th digit."""
    return "M" if int(number[16]) % 2 else "F"
