"""ID card and phone numbers are encrypted at rest and masked on screen."""

import os

import pytest

from bot.security import idcard
from bot.security.crypto import DecryptionError, PiiCipher
from bot.security.masking import initials, mask_id_card, mask_name, mask_phone, mask_tail

VALID_ID = "11010519491231002X"


@pytest.fixture
def cipher():
    return PiiCipher(b"k" * 32)


@pytest.mark.req("X.1")
def test_encryption_round_trips_and_hides_the_plaintext(cipher):
    blob = cipher.encrypt(VALID_ID, context="patient.id_card")
    assert VALID_ID.encode() not in blob
    assert cipher.decrypt(blob, context="patient.id_card") == VALID_ID


@pytest.mark.req("X.1")
def test_same_value_encrypts_differently_each_time(cipher):
    assert cipher.encrypt("13812345678") != cipher.encrypt("13812345678")


@pytest.mark.req("X.1")
def test_ciphertext_moved_to_another_column_does_not_decrypt(cipher):
    blob = cipher.encrypt("13812345678", context="patient.phone")
    with pytest.raises(DecryptionError):
        cipher.decrypt(blob, context="staff.phone")


@pytest.mark.req("X.1")
def test_tampered_ciphertext_is_detected(cipher):
    blob = bytearray(cipher.encrypt("13812345678"))
    blob[-1] ^= 1
    with pytest.raises(DecryptionError):
        cipher.decrypt(bytes(blob))


@pytest.mark.req("X.1")
def test_another_key_cannot_decrypt(cipher):
    blob = cipher.encrypt("13812345678")
    with pytest.raises(DecryptionError):
        PiiCipher(os.urandom(32)).decrypt(blob)


@pytest.mark.req("P1.3", "X.1")
def test_blind_index_matches_the_same_number_only_under_the_same_key(cipher):
    a = cipher.blind_index(VALID_ID, kind="id_card")
    assert a == cipher.blind_index(VALID_ID, kind="id_card")
    assert a != cipher.blind_index("110105194912310021", kind="id_card")
    assert a != cipher.blind_index(VALID_ID, kind="phone")
    assert a != PiiCipher(os.urandom(32)).blind_index(VALID_ID, kind="id_card")
    assert VALID_ID not in a


@pytest.mark.req("X.1")
def test_empty_values_stay_empty(cipher):
    assert cipher.encrypt("") is None and cipher.decrypt(None) is None
    assert cipher.blind_index("", kind="phone") is None


@pytest.mark.req("X.1")
def test_masks():
    assert mask_id_card(VALID_ID) == "1101**********002X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧**娜"
    assert mask_name("王小明") == "王*明"
    assert initials("王小明") == "王**"
    assert mask_id_card("") == "" and mask_phone(None) == ""


@pytest.mark.req("X.1")
def test_a_record_number_keeps_only_its_last_four():
    assert mask_tail("P202600012") == "******0012"
    assert mask_tail("H00012345") == "*****2345"
    assert mask_tail("12345") == "*2345"
    assert mask_tail("1234") == "****" and mask_tail("12") == "**"  # too short: all masked
    assert mask_tail("") == "" and mask_tail(None) == ""


@pytest.mark.req("P1.3")
def test_valid_id_card_is_normalised():
    assert idcard.validate(" 11010519491231002x ") == VALID_ID
    assert idcard.sex(VALID_ID) == "F"
    assert str(idcard.birth_date(VALID_ID)) == "1949-12-31"


@pytest.mark.req("P1.3")
@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("110105194912310021", "校验位"),
        ("11010519491331002X", "出生日期"),
        ("1101051949123100", "18位"),
        ("A1010519491231002X", "18位"),
    ],
)
def test_invalid_id_card_is_refused_with_the_reason(number, reason):
    with pytest.raises(idcard.IdCardError, match=reason):
        idcard.validate(number)
