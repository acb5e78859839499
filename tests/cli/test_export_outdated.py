"""`phonecloud export` run again into a folder holding an earlier export: when the library changed since,
it says that the export it resumes is older than the library, and how to get a new one (--new)."""

from __future__ import annotations

import json
from pathlib import Path

from cli_runner import Run, phonecloud
from conftest import User, upload
from media_fixtures import jpeg

STATE = ".phonecloud-export.json"


def export(env: dict[str, str], url: str, user: User, out: Path, *args: str) -> Run:
    run = phonecloud(env, "export", "--out", str(out), "--server", url, "--key", user.key, "--json", *args)
    assert run.returncode == 0, run.stderr
    return run


def warnings(run: Run) -> list[str]:
    return [line for line in run.stderr.splitlines() if line.startswith("warning:")]


def test_a_resumed_export_older_than_the_library_is_said_with_how_to_get_a_new_one(server, user, client_env,
                                                                                      tmp_path):
    out = tmp_path / "out"
    upload(user, jpeg(2500), filename="IMG_1.jpg")
    first = export(client_env, server.url, user, out)
    unchanged = export(client_env, server.url, user, out)
    assert warnings(unchanged) == [] and unchanged.summary["outdated"] is False

    upload(user, jpeg(2501), filename="IMG_2.jpg")
    resumed = export(client_env, server.url, user, out)

    made = user.http.get(f"/export/{first.summary['export_id']}").json()["created_at"][:16].replace("T", " ")
    assert warnings(resumed) == [
        f"warning: the export being resumed in {out} (made {made} UTC) is older than your library, which has changed "
        f"since; it is completed and checked as it is. For an export of the library as it is now, add --new: "
        f"phonecloud export --out {out} --new"]
    assert resumed.summary["export_id"] == first.summary["export_id"] and resumed.summary["outdated"] is True
    newer = export(client_env, server.url, user, out, "--new")
    assert newer.summary["export_id"] != first.summary["export_id"]
    assert warnings(newer) == [] and newer.summary["outdated"] is False
    assert warnings(export(client_env, server.url, user, out)) == []


def test_a_folder_of_an_older_client_is_compared_by_its_number_of_photos(server, user, client_env, tmp_path):
    out = tmp_path / "out"
    upload(user, jpeg(2510), filename="IMG_1.jpg")
    export(client_env, server.url, user, out)
    state = json.loads((out / STATE).read_text())
    older = {key: value for key, value in state.items() if key != "usage"}  # what clients before this one wrote
    (out / STATE).write_text(json.dumps(older))
    assert warnings(export(client_env, server.url, user, out)) == []

    (out / STATE).write_text(json.dumps(older))
    upload(user, jpeg(2511), filename="IMG_2.jpg")
    resumed = export(client_env, server.url, user, out)
    assert resumed.summary["outdated"] is True and "--new" in warnings(resumed)[0]
