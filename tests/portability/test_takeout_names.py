"""Which Takeout sidecar describes which file, with Google's naming quirks (portability.takeout_names):
`.supplemental-metadata` whole and clipped, names clipped to 51 characters, `(n)` counters that move, edited
copies in several languages, localised album metadata, and what is not a sidecar at all."""

from __future__ import annotations

import pytest

from phonecloud.portability.takeout_names import (describes_another, edited_original, is_album_metadata,
                                                  looks_like_sidecar, match_sidecars, sidecar_key)

LONG = "Holiday_at_the_seaside_with_the_whole_family_and_friends.jpg"


def clipped(name: str, supplemental: bool = True) -> str:
    """The sidecar name Google writes: 51 characters at most, `.json` included."""
    return (name + (".supplemental-metadata" if supplemental else ""))[:46] + ".json"


@pytest.mark.parametrize("json_name,key", [
    ("IMG_0001.jpg.json", ("IMG_0001.jpg", None)),
    ("IMG_0001.jpg.supplemental-metadata.json", ("IMG_0001.jpg", None)),
    ("IMG_0001.jpg.supplemental-metad.json", ("IMG_0001.jpg", None)),
    ("IMG_0001.jpg.suppl.json", ("IMG_0001.jpg", None)),
    ("IMG_0001.jpg.s.json", ("IMG_0001.jpg", None)),
    ("IMG_0001.jpg..json", ("IMG_0001.jpg", None)),
    ("IMG_0001.jpg(2).json", ("IMG_0001.jpg", "2")),
    ("IMG_0001.jpg.supplemental-metadata(12).json", ("IMG_0001.jpg", "12")),
    ("metadata.json", ("metadata", None)),
    ("1530000000123.supplemental-metadata.json", ("1530000000123", None)),  # an original with no extension
])
def test_a_sidecars_name_gives_the_file_it_points_at_and_its_counter(json_name, key):
    assert sidecar_key(json_name) == key


def test_every_quirk_is_matched_in_one_folder():
    media = ["IMG_0001.jpg", "IMG_0001(1).jpg", "IMG_0002.jpg", "IMG_0002-edited.jpg", "IMG_0003.HEIC",
             "IMG_0003(1).HEIC", "IMG_0004.jpg", "IMG_0004-bearbeitet.jpg", "IMG_0005-modifié.jpg", "IMG_0005.jpg",
             LONG, "PXL_20230514_101010123.MP.jpg", "no_sidecar.jpg", "IMG(1).jpg"]
    sidecars = ["IMG_0001.jpg.json", "IMG_0001.jpg(1).json", "IMG_0002.jpg.supplemental-metadata.json",
                "IMG_0003.HEIC.supplemental-metadata.json", "IMG_0003.HEIC.supplemental-metadata(1).json",
                "IMG_0004.jpg.suppl.json", "IMG_0005.jpg.supplemental-metad.json", clipped(LONG),
                "PXL_20230514_101010123.MP.jpg.supplemental-me.json", "IMG(1).jpg.json", "orphan.jpg.json",
                "métadonnées.json"]
    assert len(clipped(LONG)) == 51
    assert match_sidecars(media, sidecars) == {
        "IMG_0001.jpg": "IMG_0001.jpg.json", "IMG_0001(1).jpg": "IMG_0001.jpg(1).json",
        "IMG_0002.jpg": "IMG_0002.jpg.supplemental-metadata.json",
        "IMG_0002-edited.jpg": "IMG_0002.jpg.supplemental-metadata.json",
        "IMG_0003.HEIC": "IMG_0003.HEIC.supplemental-metadata.json",
        "IMG_0003(1).HEIC": "IMG_0003.HEIC.supplemental-metadata(1).json",
        "IMG_0004.jpg": "IMG_0004.jpg.suppl.json", "IMG_0004-bearbeitet.jpg": "IMG_0004.jpg.suppl.json",
        "IMG_0005.jpg": "IMG_0005.jpg.supplemental-metad.json",
        "IMG_0005-modifié.jpg": "IMG_0005.jpg.supplemental-metad.json",
        LONG: clipped(LONG), "PXL_20230514_101010123.MP.jpg": "PXL_20230514_101010123.MP.jpg.supplemental-me.json",
        "IMG(1).jpg": "IMG(1).jpg.json",
    }


def test_the_old_clipping_without_supplemental_metadata_matches_too():
    assert match_sidecars([LONG, "short.jpg"], [clipped(LONG, supplemental=False)]) == {
        LONG: clipped(LONG, supplemental=False)}


def test_two_long_names_sharing_the_clipped_part_are_told_apart_by_their_counters():
    first, second = LONG, LONG.replace(".jpg", "(1).jpg")
    sidecars = [clipped(LONG), clipped(LONG)[:-5] + "(1).json"]
    assert match_sidecars([first, second], sidecars) == {first: sidecars[0], second: sidecars[1]}


def test_a_sidecar_describes_one_file_and_a_short_name_is_never_taken_for_a_clipped_one():
    assert match_sidecars(["a.jpg", "a.jpg.jpg"], ["a.jpg.json"]) == {"a.jpg": "a.jpg.json"}
    assert match_sidecars(["IMG_0001.jpg"], ["IMG_0.json"]) == {}


def test_edited_copies_in_several_languages_and_not_other_names():
    assert edited_original("IMG_0001-edited.jpg") == "IMG_0001.jpg"
    assert edited_original("IMG_0001-bearbeitet.JPG") == "IMG_0001.JPG"
    assert edited_original("IMG_0001-editado.jpg") == "IMG_0001.jpg"
    assert edited_original("IMG_0001-edited") == "IMG_0001"
    assert edited_original("IMG_0001.jpg") is None and edited_original("-edited.jpg") is None


def test_album_metadata_in_the_accounts_language_and_what_is_no_sidecar():
    for name in ("metadata.json", "Metadaten.json", "métadonnées.json", "metadatos.json", "METADATA.JSON"):
        assert is_album_metadata(name), name
    for name in ("metadata.json", "Metadaten.json", "manifest.json", "print-subscriptions.json",
                 "shared_album_comments.json"):
        assert not looks_like_sidecar(name), name
    assert looks_like_sidecar("IMG_0001.jpg.json") and looks_like_sidecar("IMG_0001.jpg.suppl.json")
    assert looks_like_sidecar(clipped(LONG)) and looks_like_sidecar(clipped(LONG, supplemental=False))


def test_a_name_of_emoji_is_clipped_by_its_utf16_length():
    """Google counts in UTF-16 units (Java strings): 23 emoji fill the 46 units a clipped name keeps."""
    faces = "".join(chr(0x1F600 + n) for n in range(30))
    media = f"{faces}.jpg"
    sidecar = faces[:23] + ".json"
    assert match_sidecars([media], [sidecar]) == {media: sidecar}
    assert match_sidecars([f"{faces[:5]}.jpg"], [faces[:5] + ".json"]) == {}  # short: not a clipped name


def test_an_edited_copy_alone_in_its_folder_finds_its_originals_sidecar():
    """An album may hold only the edited copy, beside the sidecar of its original (here by every form)."""
    long_stem = "Screenshot_20240101_120000_com.example.messenger"
    cases = {"IMG_0100-edited.jpg": "IMG_0100.jpg.supplemental-metadata.json",
             "IMG_0101-modifié.jpg": "IMG_0101.jpg.json",
             "IMG_0102~2-bearbeitet.jpg": "IMG_0102~2.jpg.supplemental-meta.json",
             "1530000000123-edited.jpg": "1530000000123.supplemental-metadata.json",
             f"{long_stem}-edited.jpg": clipped(f"{long_stem}.jpg")}
    for media, sidecar in cases.items():
        assert match_sidecars([media], [sidecar]) == {media: sidecar}, media
    assert match_sidecars(["IMG_0103-edited.jpg"], ["IMG_0104.jpg.json"]) == {}


def test_duplicates_share_a_clipped_sidecar_that_had_no_room_for_their_counter():
    stem = "PXL_20240101_101010101.NIGHT_landscape_of_the_old_town"
    first, second = f"{stem}.jpg", f"{stem}(1).jpg"
    sidecar = clipped(first)
    assert match_sidecars([first, second], [sidecar]) == {first: sidecar, second: sidecar}
    counted = clipped(first)[:-5] + "(3).json"  # a clipped sidecar that kept its counter goes to that file only
    assert match_sidecars([second], [counted]) == {}


def test_a_live_photos_video_shares_its_stills_sidecar_under_its_own_name():
    media = ["IMG_0004.HEIC", "IMG_0004.MOV", "IMG_0005.MOV", "IMG_0006.MOV"]
    sidecars = ["IMG_0004.HEIC.supplemental-metadata.json", "IMG_0005.MOV.json"]
    assert match_sidecars(media, sidecars) == {"IMG_0004.HEIC": sidecars[0], "IMG_0004.MOV": sidecars[0],
                                               "IMG_0005.MOV": sidecars[1]}  # IMG_0006.MOV: a video alone
    assert describes_another("IMG_0004.MOV", "IMG_0004.HEIC") and describes_another("IMG-edited.jpg", "IMG.jpg")
    assert not describes_another("IMG_0004.HEIC", "IMG_0004.HEIC")
    assert not describes_another("PXL_0001.mp4", "TST_0001.mp4")  # its own sidecar, under another title
