"""`phonecloud import takeout`: a hand-built two-part Google Takeout with Google's naming quirks imports each
file once with the capture time of its own sidecar (matched through clipped, counted and edited names), the
albums of the other part (localised metadata, a title other than the folder's), favourites and the trash;
what cannot be used is skipped with its reason; a second import adds nothing."""

from __future__ import annotations

import zipfile
from pathlib import Path

from cli_runner import Run, phonecloud
from takeout_fixtures import SKIPS, build_takeout, by_sha1, check_library


def import_takeout(env: dict[str, str], url: str, user, parts: list[Path]) -> Run:
    return phonecloud(env, "import", "takeout", *map(str, parts), "--server", url, "--key", user.key, "--json")


def test_a_two_part_takeout_with_googles_quirks_imports_once_with_its_dates_albums_and_flags(server, accounts,
                                                                                          client_env, tmp_path):
    takeout = build_takeout(tmp_path)
    user = accounts.create(name="takeout")
    run = import_takeout(client_env, server.url, user, takeout["parts"])
    assert run.returncode == 0, run.stderr
    summary = run.summary
    bodies = takeout["bodies"]
    assert summary["uploaded"] == len(bodies) and summary["failed"] == 0, summary
    assert summary["skipped"] == 2 and summary["matched"] == len(bodies) - 2, summary  # all but no_sidecar, bad
    assert summary["described"] == 4, summary  # description and people; archived; a place, and its edited copy
    assert all(skip in run.stderr for skip in SKIPS), run.stderr

    kept = check_library(user, takeout)

    again = import_takeout(client_env, server.url, user, takeout["parts"])
    assert again.returncode == 0, again.stderr
    assert (again.summary["uploaded"], again.summary["duplicates"]) == (0, len(bodies)), again.summary
    assert by_sha1(user).keys() == kept.keys()
    assert [album["title"] for album in user.http.get("/albums").json()] == ["Summer holiday 2019"]

    unzipped = takeout["parts"][0].parent / "unzipped"  # the same photos, saved off as a folder tree
    for part in takeout["parts"]:
        with zipfile.ZipFile(part) as archive:
            archive.extractall(unzipped)
    synced = phonecloud(client_env, "sync", str(unzipped), "--server", server.url, "--key", user.key, "--json")
    assert synced.returncode == 0, synced.stderr
    assert synced.summary["uploaded"] == 0 and synced.summary["duplicates"] == len(bodies) + 2, synced.summary
    assert by_sha1(user).keys() == kept.keys()
