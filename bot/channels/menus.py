"""The menus of both apps: checked against WeChat's limits, pushed with ``menu/create``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MAX_TOP = 3
MAX_SUB = 5
KEYED_TYPES = {
    "click",
    "scancode_push",
    "scancode_waitmsg",
    "location_select",
    "pic_photo_or_album",
}


class MenuError(ValueError):
    pass


def load(path: Path, public_base_url: str = "https://example.invalid") -> dict[str, Any]:
    """The menus with ``{public_base_url}`` in view URLs replaced, checked."""
    text = path.read_text(encoding="utf-8").replace("{public_base_url}", public_base_url)
    data = json.loads(text)
    for app in ("mp", "work"):
        check(data[app])
    return data


def check(menu: dict[str, Any]) -> None:
    """WeChat's rules: ≤3 top buttons, ≤5 under each, names ≤ 16 bytes (top) / 60 (sub)."""
    top = menu.get("button", [])
    if not 1 <= len(top) <= MAX_TOP:
        raise MenuError(f"a menu has 1–{MAX_TOP} top-level buttons, got {len(top)}")
    for button in top:
        if len(button["name"].encode()) > 16:
            raise MenuError(f"top-level name too long: {button['name']}")
        subs = button.get("sub_button")
        if subs is not None:
            if not 1 <= len(subs) <= MAX_SUB:
                raise MenuError(f"{button['name']}: 1–{MAX_SUB} sub buttons, got {len(subs)}")
            for sub in subs:
                _check_leaf(sub, 60)
        else:
            _check_leaf(button, 16)


def _check_leaf(button: dict[str, Any], max_bytes: int) -> None:
    if len(button["name"].encode()) > max_bytes:
        raise MenuError(f"button name too long: {button['name']}")
    if button.get("type") in KEYED_TYPES and not button.get("key"):
        raise MenuError(f"{button['name']}: a {button['type']} button needs a key")
    if button.get("type") == "view" and not button.get("url"):
        raise MenuError(f"{button['name']}: a view button needs a url")


def taps_to(menu: dict[str, Any], key: str) -> int | None:
    """How many taps from the chat screen reach the button with this key, or the view button
    whose URL ends with this path (P1.2)."""

    def hit(button: dict[str, Any]) -> bool:
        return button.get("key") == key or str(button.get("url", "")).endswith(key)

    for button in menu.get("button", []):
        if hit(button):
            return 1
        for sub in button.get("sub_button") or []:
            if hit(sub):
                return 2
    return None
