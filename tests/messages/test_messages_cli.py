"""`phonecloud messages import` and `phonecloud messages export`, run as a person runs them, against a server
process: what each file gave, a file cut short as a failure with its place, and both apps' files written
back for a phone to restore."""

from __future__ import annotations

import io
import json

from cli_runner import client_env  # noqa: F401  (a fixture)
from cli_runner import phonecloud
from messages.backup_files import (CALLS, LARGE_PHOTO, SMALL_PHOTO, ie_calls_json, ie_messages_zip, sbr_calls_xml,
                                   sbr_messages_xml)
from messages.server_helpers import imported
from phonecloud.messages.formats import sms_backup_restore, sms_ie


def _connection(server, user) -> list[str]:
    return ["--server", server.url, "--key", user.key]


def _summaries(run) -> list[dict]:
    return [json.loads(line) for line in run.stdout.strip().splitlines()]


def test_import_says_what_each_file_gave_and_a_second_run_adds_nothing(server, user, client_env, tmp_path):
    files = {"sms-20231114.xml": sbr_messages_xml(), "calls-20231116.xml": sbr_calls_xml()}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    run = phonecloud(client_env, "messages", "import", *(str(tmp_path / name) for name in files), "--json",
                     *_connection(server, user))
    assert run.returncode == 0, run.stderr
    assert _summaries(run) == [
        {"file": "sms-20231114.xml", "imported": 7, "duplicates": 0, "skipped": 0, "attachments": 2,
         "skipped_reasons": {}, "error": None},
        {"file": "calls-20231116.xml", "imported": len(CALLS), "duplicates": 0, "skipped": 0, "attachments": 0,
         "skipped_reasons": {}, "error": None}]
    assert "sms-20231114.xml: imported 7, already there 0, skipped 0, attachments 2" in run.stderr

    (tmp_path / "messages-2023-11-16.zip").write_bytes(ie_messages_zip())
    (tmp_path / "calls-2023-11-16.json").write_bytes(ie_calls_json())
    again = phonecloud(client_env, "messages", "import", str(tmp_path / "messages-2023-11-16.zip"),
                       str(tmp_path / "calls-2023-11-16.json"), *_connection(server, user))
    assert again.returncode == 0, again.stderr
    assert "messages-2023-11-16.zip: imported 0, already there 7" in again.stdout
    assert f"calls-2023-11-16.json: imported 0, already there {len(CALLS)}" in again.stdout
    assert user.http.get("/me").json()["usage"]["messages"] == {"items": 7 + len(CALLS),
                                                                "bytes": len(SMALL_PHOTO) + len(LARGE_PHOTO)}


def test_a_file_cut_short_fails_saying_where_and_keeps_what_came_before(server, user, client_env, tmp_path):
    whole = sbr_messages_xml()
    cut = tmp_path / "sms-cut.xml"
    cut.write_bytes(whole[:whole.index(b"IMG_20231114.jpg") + 5000])
    foreign = tmp_path / "notes.txt"
    foreign.write_bytes(b"just some notes\n" * 100)
    run = phonecloud(client_env, "messages", "import", str(cut), str(foreign), "--json", *_connection(server, user))
    assert run.returncode == 1
    cut_result, foreign_result = _summaries(run)
    assert (cut_result["imported"], cut_result["attachments"]) == (6, 1)
    assert "cut short" in cut_result["error"] and "record 7" in cut_result["error"]
    assert foreign_result["imported"] == 0 and "not a messages backup" in foreign_result["error"]
    assert "not read to its end" in run.stderr


def test_export_writes_each_apps_files_to_restore_from(server, user, client_env, tmp_path):
    imported(user, sbr_messages_xml())
    source = tmp_path / "calls.xml"
    source.write_bytes(sbr_calls_xml())
    assert phonecloud(client_env, "messages", "import", str(source), *_connection(server, user)).returncode == 0

    out = tmp_path / "sbr"
    run = phonecloud(client_env, "messages", "export", "--format", "sms-backup-restore", "--out", str(out), "--json",
                     *_connection(server, user))
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    names = sorted(path.name for path in out.iterdir())
    assert [file["file"] for file in summary["files"]] == [name for name in names if name.startswith("sms")] + [
        name for name in names if name.startswith("calls")]
    messages_file = next(out.glob("sms-*.xml"))
    assert list(sms_backup_restore.read_messages(messages_file)) == list(
        sms_backup_restore.read_messages(io.BytesIO(sbr_messages_xml())))
    assert len(list(sms_backup_restore.read_calls(next(out.glob("calls-*.xml"))))) == len(CALLS)

    out = tmp_path / "sms-ie"
    run = phonecloud(client_env, "messages", "export", "--format", "sms-ie", "--out", str(out), *_connection(server, user))
    assert run.returncode == 0, run.stderr
    assert len(list(sms_ie.read_messages(next(out.glob("messages-*.zip"))))) == 7
    assert len(list(sms_ie.read_calls(next(out.glob("calls-*.json"))))) == len(CALLS)
    assert not list(out.glob("*.partial"))
