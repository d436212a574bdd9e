"""GB 11643 resident ID and GB 32100 USCC check characters."""

from __future__ import annotations

import datetime as dt

from synthguard.identity import (
    is_mobile,
    is_resident_id,
    is_uscc,
    mask_identity_number,
    resident_id_check_char,
    uscc_check_char,
)


def test_resident_id_check_digit_matches_the_published_example() -> None:
    # GB 11643-1999 worked example: 11010519491231002 -> X.
    assert resident_id_check_char("11010519491231002") == "X"
    assert is_resident_id("11010519491231002X")
    assert is_resident_id("11010519491231002x")


def test_resident_id_with_wrong_check_or_impossible_birthday_is_refused() -> None:
    assert not is_resident_id("110105194912310021")
    first17 = "11010519490230002"  # 30 February
    assert not is_resident_id(first17 + resident_id_check_char(first17))
    future = "11010520990101002"
    assert not is_resident_id(future + resident_id_check_char(future), today=dt.date(2026, 1, 1))


def test_uscc_of_real_provider_codes_verify() -> None:
    assert is_uscc("91110102MACQD9K640")
    assert is_uscc("91330106MA2CFLDG4R")
    body = "91330106MA2CFLDG4"
    assert uscc_check_char(body) == "R"
    assert not is_uscc("91330106MA2CFLDG4Q")
    assert not is_uscc("91330106MA2CFLDG4")


def test_mobile_and_masking() -> None:
    assert is_mobile("13812345678")
    assert not is_mobile("12812345678")
    assert mask_identity_number("11010519491231002X") == "1101**********002X"
