"""`phonecloud sync` accounts for every file it finds: an empty file is skipped with its reason, and
--verbose names each file skipped (failed ones are always named); `pull --verbose` names what it kept or
deleted of earlier pulls, `export --verbose` the parts an earlier run downloaded."""

from __future__ import annotations

from pathlib import Path

from cli_runner import Run, phonecloud
from conftest import User, upload
from media_fixtures import ftyp, jpeg


def sync(env: dict[str, str], url: str, user: User, *args: str) -> Run:
    return phonecloud(env, "sync", *args, "--server", url, "--key", user.key, "--json")


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_a_folder_holding_only_an_empty_file_counts_it_as_skipped(server, user, client_env, tmp_path):
    write(tmp_path / "phone" / "IMG_0001.jpg", b"")

    run = sync(client_env, server.url, user, str(tmp_path / "phone"))

    assert run.returncode == 0, run.stderr
    assert run.summary == {"uploaded": 0, "duplicates": 0, "skipped": 1, "failed": 0, "bytes": 0, "unchanged": 0}
    assert "uploaded 0, duplicates 0, unchanged 0, skipped 1, failed 0, 0 bytes" in run.stderr.splitlines()
    assert "IMG_0001.jpg" not in run.stderr  # named only with --verbose
    again = sync(client_env, server.url, user, str(tmp_path / "phone"))
    assert again.summary["skipped"] == 1


def test_an_empty_file_filled_later_is_backed_up(server, user, client_env, tmp_path):
    empty = write(tmp_path / "phone" / "IMG_0002.jpg", b"")
    assert sync(client_env, server.url, user, str(tmp_path / "phone")).summary["skipped"] == 1
    write(empty, jpeg(2301))
    run = sync(client_env, server.url, user, str(tmp_path / "phone"))
    assert (run.summary["uploaded"], run.summary["skipped"]) == (1, 0), run.stderr


def test_verbose_names_each_file_skipped_and_failed_with_its_reason(server, accounts, client_env, tmp_path):
    phone = tmp_path.resolve() / "phone"
    notes = write(phone / "Documents" / "notes.txt", b"not a photo\n")
    empty = write(phone / "DCIM" / "IMG_0003.jpg", b"")
    video = write(phone / "DCIM" / "VID_0001.mp4", ftyp(b"isom", b"mp42", body=2000))
    user = accounts.create(quota_bytes=len(video.read_bytes()) // 2)

    for attempt in ("first", "second"):  # the second run knows notes.txt from its state, and says it the same
        run = sync(client_env, server.url, user, str(phone), "--verbose")
        assert run.returncode == 1, run.stderr
        assert run.summary == {"uploaded": 0, "duplicates": 0, "skipped": 2, "failed": 1, "bytes": 0, "unchanged": 0}, \
            (attempt, run.stderr)
        lines = run.stderr.splitlines()
        assert f"skipped: {notes}: not a photo or video (by its content)" in lines, (attempt, lines)
        assert f"skipped: {empty}: an empty file (0 bytes)" in lines, (attempt, lines)
        (failed,) = [line for line in lines if line.startswith(f"failed: {video}: ")]
        assert "quota" in failed, failed
    short = sync(client_env, server.url, user, str(phone), "-v")
    assert f"skipped: {empty}: an empty file (0 bytes)" in short.stderr.splitlines()


def test_pull_verbose_names_the_files_of_earlier_pulls_it_kept_or_deleted(server, user, client_env, tmp_path):
    ids = [upload(user, jpeg(2400 + n), filename=f"IMG_{n}.jpg").json()["id"] for n in range(2)]
    mirror = tmp_path / "mirror"
    args = ("--server", server.url, "--key", user.key, "--json")
    assert phonecloud(client_env, "pull", str(mirror), *args).returncode == 0
    user.http.post(f"/assets/{ids[0]}/trash")

    quiet = phonecloud(client_env, "pull", str(mirror), *args)
    kept = phonecloud(client_env, "pull", str(mirror), *args, "--verbose")
    deleted = phonecloud(client_env, "pull", str(mirror), *args, "--delete", "-v")

    assert "IMG_0.jpg" not in quiet.stderr
    said = "kept: Photos from 2022/IMG_0.jpg: no longer in the library (--delete removes it)"
    assert said in kept.stderr.splitlines()
    assert "deleted: Photos from 2022/IMG_0.jpg: no longer in the library" in deleted.stderr.splitlines()
    assert deleted.summary["deleted"] == 1


def test_export_verbose_names_the_parts_an_earlier_run_downloaded(server, user, client_env, tmp_path):
    upload(user, jpeg(2450), filename="IMG_export.jpg")
    args = ("export", "--out", str(tmp_path / "out"), "--server", server.url, "--key", user.key, "--json")
    first = phonecloud(client_env, *args)
    assert first.returncode == 0, first.stderr
    again = phonecloud(client_env, *args, "-v")
    assert again.returncode == 0, again.stderr
    (part,) = [path.name for path in (tmp_path / "out").glob("*.zip")]
    assert f"already here: {part}: downloaded and verified by an earlier run" in again.stderr.splitlines()
