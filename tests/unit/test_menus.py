import pytest

from bot.channels import menus
from bot.config import ROOT

MENU = menus.load(ROOT / "cards" / "menus.json")


def test_shipped_menus_respect_wechat_limits():
    for app in ("mp", "work"):
        menus.check(MENU[app])  # raises on a violation


@pytest.mark.req("P1.2")
def test_p1_2_vascular_access_entry_is_at_most_two_taps_from_the_patient_menu():
    for key in ("my_catheter", "show_qr", "upload_report", "history", "education"):
        assert menus.taps_to(MENU["mp"], key) in (1, 2), key
    # the pages of issue 16 open straight from the menu (P5.1, P8.1)
    for page in ("/h5/nearby", "/h5/appointments"):
        assert menus.taps_to(MENU["mp"], page) == 2, page


@pytest.mark.req("P1.1", "P1.2")
def test_p1_1_binding_opens_the_internet_hospital_page_in_two_taps():
    menu = menus.load(ROOT / "cards" / "menus.json", "https://vam.example-hospital.cn")
    assert menus.taps_to(menu["mp"], "/h5/bind") == 2
    bind = next(
        b
        for top in menu["mp"]["button"]
        for b in top.get("sub_button") or []
        if b["name"] == "绑定就诊人"
    )
    assert bind == {
        "type": "view",
        "name": "绑定就诊人",
        "url": "https://vam.example-hospital.cn/h5/bind",
    }


@pytest.mark.req("C2.1", "C3.1")
def test_clinician_menu_scans_with_scancode_waitmsg():
    scan = MENU["work"]["button"][0]
    assert scan["type"] == "scancode_waitmsg" and menus.taps_to(MENU["work"], scan["key"]) == 1


def test_menu_with_too_many_buttons_is_refused():
    import pytest

    with pytest.raises(menus.MenuError):
        menus.check({"button": [{"type": "click", "name": str(n), "key": "k"} for n in range(4)]})
