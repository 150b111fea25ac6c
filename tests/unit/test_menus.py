from bot.channels import menus
from bot.config import ROOT

MENU = menus.load(ROOT / "cards" / "menus.json")


def test_shipped_menus_respect_wechat_limits():
    for app in ("mp", "work"):
        menus.check(MENU[app])  # raises on a violation


def test_p1_2_vascular_access_entry_is_at_most_two_taps_from_the_patient_menu():
    for key in ("my_catheter", "show_qr", "upload_report", "nearby_institutions", "history"):
        assert menus.taps_to(MENU["mp"], key) in (1, 2), key


def test_clinician_menu_scans_with_scancode_waitmsg():
    scan = MENU["work"]["button"][0]
    assert scan["type"] == "scancode_waitmsg" and menus.taps_to(MENU["work"], scan["key"]) == 1


def test_menu_with_too_many_buttons_is_refused():
    import pytest

    with pytest.raises(menus.MenuError):
        menus.check({"button": [{"type": "click", "name": str(n), "key": "k"} for n in range(4)]})
