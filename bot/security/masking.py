"""How personal data is shown on screen and in chat: never in full."""

from __future__ import annotations


def mask_id_card(number: str | None) -> str:
    """110101199003074518 -> 1101**********4518"""
    if not number:
        return ""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_phone(phone: str | None) -> str:
    """13812345678 -> 138****5678"""
    if not phone:
        return ""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_tail(value: str | None, keep: int = 4) -> str:
    """A hospital record number keeps only its last ``keep`` characters: P202600012 ->
    ******0012; one no longer than that is masked whole."""
    if not value:
        return ""
    if len(value) <= keep:
        return "*" * len(value)
    return "*" * (len(value) - keep) + value[-keep:]


def mask_name(name: str | None) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧**娜, Li Lei -> L****"""
    if not name:
        return ""
    if len(name) == 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    if name.isascii():
        return name[0] + "*" * (len(name) - 1)
    return name[0] + "*" * (len(name) - 2) + name[-1]


def initials(name: str | None) -> str:
    """What a printed QR card shows: the surname and a mask, e.g. 张**."""
    if not name:
        return ""
    return name[0] + "*" * min(2, max(1, len(name) - 1))
