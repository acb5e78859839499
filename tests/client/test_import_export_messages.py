"""`phonecloud import-export` and the export's `Takeout/Messages/`: a Download all of someone who imported
their messages and calls brings the same messages and calls back into an empty account, from the zip parts
or the unzipped folder, uploading one app's files (SMS Backup & Restore's, else SMS Import / Export's);
running it again adds nothing; a backup the server refuses or cannot import counts as failed, with why."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from conftest import User, upload
from media_fixtures import jpeg
from messages.backup_files import CALLS, MESSAGES, sbr_calls_xml, sbr_messages_xml
from messages.server_helpers import every, imported
from phonecloud.client.import_messages import APP_FILES, MESSAGES_FOLDER, split_messages, upload_source
from phonecloud.messages import export as messages_export
from phonecloud.messages.exporter import FILES, Snapshot
from phonecloud.portability.archive import SourceFile, open_sources
from portability.test_export import unzip

from .test_export_cli import export_cli
from .test_import_export import fresh_server, import_cli, library_view  # noqa: F401  (fresh_server: a fixture)

APPS = list(APP_FILES)  # SMS Backup & Restore, SMS Import Export
NOTHING_NEW = {"messages": 0, "message_duplicates": len(MESSAGES), "calls": 0, "call_duplicates": len(CALLS)}


def messages_view(user: User) -> tuple[list, list]:
    """What must come back: every message (its conversation, time, direction, text and parts' contents) and
    every call (number, time, type, duration)."""
    messages = sorted((conversation["title"], message["date_ms"], message["direction"], message["text"],
                       sorted(part["sha256"] or part["content_type"] for part in message["parts"]))
                      for conversation in every(user, "/messages/conversations")
                      for message in every(user, f"/messages/conversations/{conversation['id']}/messages"))
    calls = sorted((call["number"], call["date_ms"], call["type"], call["duration_s"])
                   for call in every(user, "/messages/calls"))
    return messages, calls


def import_formats(user: User) -> list[str]:
    """The format of every backup the server was given, oldest first."""
    return [item["format"] for item in reversed(every(user, "/messages/imports"))]


@pytest.fixture
def exported(server, user, client_env, tmp_path) -> tuple[User, Path]:
    """A user with a photo, messages and calls (imported from SMS Backup & Restore files), and their Download
    all as zip parts."""
    assert upload(user, jpeg(7100), filename="IMG_7100.jpg").status_code == 201
    assert imported(user, sbr_messages_xml())["imported"] == len(MESSAGES)
    assert imported(user, sbr_calls_xml(), "calls.xml")["imported"] == len(CALLS)
    out = tmp_path / "out"
    done = export_cli(client_env, server.url, user, out)
    assert done.returncode == 0, done.stderr
    return user, out


def test_zip_parts_bring_back_the_messages_and_calls_and_a_second_run_adds_nothing(exported, fresh_server,
                                                                                   client_env):
    source, out = exported
    target_server, target_accounts = fresh_server
    target = target_accounts.create()
    first = import_cli(client_env, target_server.url, target, out)
    assert first.returncode == 0, first.stderr
    assert first.summary | {"bytes": 0} == {
        "uploaded": 1, "duplicates": 0, "bytes": 0, "albums": 0, "favorites": 0, "described": 0, "trashed": 0,
        "skipped": 0,
        "matched": 1,
        "failed": 0, "messages": len(MESSAGES), "message_duplicates": 0, "calls": len(CALLS), "call_duplicates": 0,
        "contacts": 0, "contact_duplicates": 0}
    assert f"messages {len(MESSAGES)} (already there 0), calls {len(CALLS)} (already there 0)" in first.stderr
    assert messages_view(target) == messages_view(source)
    assert library_view(target) == library_view(source)  # no album made of the Messages folders
    assert import_formats(target) == ["sms-backup-restore/messages", "sms-backup-restore/calls"]

    again = import_cli(client_env, target_server.url, target, out)
    assert again.returncode == 0, again.stderr
    assert {key: again.summary[key] for key in NOTHING_NEW} == NOTHING_NEW
    assert messages_view(target) == messages_view(source)
    assert target.http.get("/me").json()["usage"]["messages"] == source.http.get("/me").json()["usage"]["messages"]


def test_an_unzipped_export_brings_back_the_same(exported, fresh_server, client_env, tmp_path):
    source, out = exported
    folder = unzip(sorted(out.glob("*.zip")), tmp_path / "unzipped")
    target_server, target_accounts = fresh_server
    target = target_accounts.create()
    first = import_cli(client_env, target_server.url, target, folder / "Takeout")
    assert first.returncode == 0, first.stderr
    assert (first.summary["messages"], first.summary["calls"], first.summary["failed"]) == (len(MESSAGES), len(CALLS), 0)
    assert messages_view(target) == messages_view(source)
    again = import_cli(client_env, target_server.url, target, folder)
    assert again.returncode == 0 and {key: again.summary[key] for key in NOTHING_NEW} == NOTHING_NEW


def test_without_sms_backup_restore_files_the_sms_import_export_ones_are_imported(exported, fresh_server, client_env,
                                                                                    tmp_path):
    source, out = exported
    folder = unzip(sorted(out.glob("*.zip")), tmp_path / "unzipped")
    shutil.rmtree(folder / "Takeout" / MESSAGES_FOLDER / APPS[0])
    target_server, target_accounts = fresh_server
    target = target_accounts.create()
    run = import_cli(client_env, target_server.url, target, folder)
    assert run.returncode == 0, run.stderr
    assert (run.summary["messages"], run.summary["calls"]) == (len(MESSAGES), len(CALLS))
    assert import_formats(target) == ["sms-ie/messages", "sms-ie/calls"]
    assert messages_view(target) == messages_view(source)


def test_a_backup_the_server_refuses_or_cannot_import_counts_as_failed_with_its_reason(fresh_server, client_env,
                                                                                       tmp_path):
    target_server, target_accounts = fresh_server
    target = target_accounts.create()
    whole = sbr_messages_xml()
    app_folder = tmp_path / "Takeout" / MESSAGES_FOLDER / APPS[0]
    app_folder.mkdir(parents=True)
    (app_folder / "sms-20231114.xml").write_bytes(whole[:whole.index(b"IMG_20231114.jpg") + 5000])
    (app_folder / "calls-20231116.xml").write_bytes(b"just some notes\n" * 100)
    photos = tmp_path / "Takeout" / "Google Photos" / "Photos from 2022"
    photos.mkdir(parents=True)
    (photos / "IMG_7200.jpg").write_bytes(jpeg(7200))
    run = import_cli(client_env, target_server.url, target, tmp_path / "Takeout")
    assert run.returncode == 1
    assert (run.summary["uploaded"], run.summary["failed"], run.summary["messages"]) == (1, 2, 6)
    assert "sms-20231114.xml" in run.stderr and "cut short" in run.stderr and "record 7" in run.stderr
    assert "calls-20231116.xml" in run.stderr and "not a messages backup" in run.stderr


# -- which files are taken ---------------------------------------------------------------------------------


def source_files(*paths: str) -> list[SourceFile]:
    return [SourceFile(path, 1, None, lambda: None) for path in paths]


def test_one_apps_file_is_taken_for_messages_and_for_calls_and_nothing_of_messages_goes_to_the_gallery():
    sbr, ie = (f"Takeout/{MESSAGES_FOLDER}/{app}" for app in APPS)
    files = source_files(f"{sbr}/sms-20231114233000.xml", f"{ie}/messages-2023-11-14.zip",
                         f"{ie}/calls-2023-11-16.json", f"Takeout/{MESSAGES_FOLDER}/messages.html",
                         "Takeout/Google Photos/Messages/IMG_1.jpg", "Takeout/index.html")
    backups, rest = split_messages(files)
    assert [source.path for source in backups] == [f"{sbr}/sms-20231114233000.xml", f"{ie}/calls-2023-11-16.json"]
    assert [source.path for source in rest] == ["Takeout/Google Photos/Messages/IMG_1.jpg", "Takeout/index.html"]
    given_takeout, _ = split_messages(source_files(f"{MESSAGES_FOLDER}/{APPS[0]}/calls-1.xml"))
    assert len(given_takeout) == 1


def test_a_backup_in_a_zip_part_is_streamed_from_any_offset_a_resumed_upload_asks_for(tmp_path):
    data = sbr_calls_xml()
    with zipfile.ZipFile(tmp_path / "part.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"Takeout/{MESSAGES_FOLDER}/{APPS[0]}/calls-20231116.xml", data)
    sent = []
    with open_sources([tmp_path / "part.zip"], 1 << 30) as sources:
        (backup,), _ = split_messages(sources.files)
        source = upload_source(backup, sent.append)
        assert (source.filename, source.size) == ("calls-20231116.xml", len(data))
        assert b"".join(source.chunks(1000)) == data[1000:] and sum(sent) == len(data) - 1000


def test_the_client_knows_the_folders_and_names_the_server_exports():
    """The client cannot import the server's modules (the base install has none), so it names them again."""
    assert messages_export.FOLDER == f"Takeout/{MESSAGES_FOLDER}"
    assert list(APP_FILES) == list(messages_export.APP_FOLDERS.values())
    snapshot = Snapshot(owner_id=1, messages=1, calls=1, changed_ms=1700000000123)
    for (app, holds), file in FILES.items():
        assert APP_FILES[messages_export.APP_FOLDERS[app]][holds].fullmatch(file.filename(snapshot)), (app, holds)
