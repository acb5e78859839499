"""Capture times from the names phone apps give their files."""

import datetime

import pytest

from phonecloud.media.filenames import NameDate, date_from_filename

T = datetime.datetime


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("IMG_20221014_123456.jpg", NameDate(T(2022, 10, 14, 12, 34, 56), None, False)),
        ("VID_20221014_123456.mp4", NameDate(T(2022, 10, 14, 12, 34, 56), None, False)),
        ("IMG_20221014_123456_1.jpg", NameDate(T(2022, 10, 14, 12, 34, 56), None, False)),
        ("IMG_20221014_123456~2.jpg", NameDate(T(2022, 10, 14, 12, 34, 56), None, False)),
        ("MVIMG_20190101_000001.jpg", NameDate(T(2019, 1, 1, 0, 0, 1), None, False)),
        ("img_20221014_123456.JPG", NameDate(T(2022, 10, 14, 12, 34, 56), None, False)),
        # Pixel names files by UTC, with milliseconds.
        ("PXL_20231006_063000139.jpg", NameDate(T(2023, 10, 6, 6, 30, 0, 139_000), 0, False)),
        ("PXL_20231006_063000139.MP.jpg", NameDate(T(2023, 10, 6, 6, 30, 0, 139_000), 0, False)),
        ("Screenshot_2022-10-14-12-34-56-789_com.app.jpg", NameDate(T(2022, 10, 14, 12, 34, 56, 789_000), None, False)),
        ("Screenshot_2022-10-14-12-34-56_com.app.png", NameDate(T(2022, 10, 14, 12, 34, 56), None, False)),
        ("Screenshot_20221014-123456.png", NameDate(T(2022, 10, 14, 12, 34, 56), None, False)),
        ("Screenshot_20221014-123456_Chrome.jpg", NameDate(T(2022, 10, 14, 12, 34, 56), None, False)),
        ("IMG-20221014-WA0001.jpg", NameDate(T(2022, 10, 14), None, True)),
        ("VID-20221014-WA0012.mp4", NameDate(T(2022, 10, 14), None, True)),
        ("20221014_123456.jpg", NameDate(T(2022, 10, 14, 12, 34, 56), None, False)),
        ("20221014_123456(0).jpg", NameDate(T(2022, 10, 14, 12, 34, 56), None, False)),
        # A path from the phone: only the last part is the name.
        ("DCIM/Camera/IMG_20221014_123456.jpg", NameDate(T(2022, 10, 14, 12, 34, 56), None, False)),
    ],
)
def test_phone_file_names_give_their_capture_time(filename, expected):
    assert date_from_filename(filename) == expected


@pytest.mark.parametrize(
    "filename",
    [
        "DSC_0001.JPG",
        "IMG_1234.JPG",  # iPhone: a counter, not a date
        "photo.jpg",
        "",
        "holiday 2022-10-14.jpg",  # a person's name for a file, not an app's pattern
        "IMG_20221014_1234567.jpg",  # seven digits of time: not this pattern
        "IMG_20221014.jpg",
        "X_IMG_20221014_123456.jpg",  # the pattern must start the name
        "202210141234567.jpg",
        "Screenshot_2022-10-14.png",
    ],
)
def test_other_names_give_nothing(filename):
    assert date_from_filename(filename) is None


@pytest.mark.parametrize(
    "filename",
    [
        "IMG_20221399_999999.jpg",  # month 13
        "IMG_20220230_120000.jpg",  # 30 February
        "IMG_20221014_246000.jpg",  # hour 24
        "PXL_20231006_996000139.jpg",
        "Screenshot_2022-10-14-25-00-00-000_com.app.jpg",
        "IMG-20221332-WA0001.jpg",
        "00000000_000000.jpg",
    ],
)
def test_impossible_dates_in_names_give_nothing(filename):
    assert date_from_filename(filename) is None
