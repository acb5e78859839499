"""The 2022 story, replayed end to end on server processes (so on both configurations) with a clock file:
the gallery is retired for the global users in three region groups with staggered dates, mainland China
exempt. A paid member with photos and messages is refunded their last payment and keeps every message; a
free user exports everything during the window; a free user who never used the gallery is never told; a
Chinese user sees no change. Every notice is shown in the app and emailed (to aiosmtpd on loopback) exactly
once to exactly the affected holders; sync is refused after the stop date with the message, by the API and
by `phonecloud sync`; a worker SIGKILLed in the middle of the deletion step is resumed by the next; the
receipts and the final scan show zero bytes of gallery data left for the affected users (the blob store
agrees), and every byte of everyone else's data is intact (hashes before and after)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import signal
import subprocess
import time
import zipfile
from collections import Counter
from pathlib import Path

from cli_runner import clean_env, phonecloud
from conftest import PHONECLOUD, SHARED_SERVER_ENV, run_worker, serving, upload
from media_fixtures import image_bytes, jpeg
from messages.backup_files import sbr_messages_xml
from messages.server_helpers import every, exported, finished, upload_backup
from notices.support import Mailbox, person, smtp_server, text_of, unique
from plans.helpers import cli, ok

from phonecloud.core.clock import write_offset

DAY = dt.timedelta(days=1)
PHOTOS_OF_THE_MANY = 620  # more than one batch (500) of the gallery's purge: the kill lands between batches
REGIONS = (  # group, countries, the day its announcement comes (the others follow at fixed distances)
    ("Europe", ["DE", "FR", "IT"], 1),
    ("Americas", ["US", "BR", "CA"], 4),
    ("Asia-Pacific", ["JP", "AU", "CN"], 7),
)
STOP, DEADLINE, DELETE = 9, 19, 24  # days after the announcement
SUBJECTS = ("Reminder: 7 days left before the stop of sync", "Reminder: 1 days left before the stop of sync",
            "Reminder: 7 days left before the download deadline", "Reminder: 1 days left before the download deadline")


RECEIPT = "Photos and videos: your deletion receipt"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def originals(user) -> dict[str, str]:
    """SHA-256 of every original the user keeps, by asset id (downloaded)."""
    hashes = {}
    for item in every(user, "/assets"):
        got = user.http.get(f"/assets/{item['id']}/original")
        assert got.status_code == 200, got.text
        hashes[item["id"]] = sha256(got.content)
    return hashes


def messages_digest(user) -> tuple[str, str, int]:
    """What the user keeps of messages: the hashes of their export and the number of messages listed."""
    messages, calls = exported(user, "sms-backup-restore")
    conversations = every(user, "/messages/conversations")
    assert conversations
    return sha256(messages), sha256(calls), sum(conversation["message_count"] for conversation in conversations)


def gallery_blobs(server, user_id: int) -> list[Path]:
    """The gallery's blobs of this user in the store (originals and derivatives), looked at on disk."""
    root = server.blob_root / "users" / str(user_id)
    return [path for folder in ("originals", "derived") if (root / folder).exists()
            for path in (root / folder).rglob("*") if path.is_file()]


def retirement_notices(user) -> list[dict]:
    answer = user.http.get("/notices")
    assert answer.status_code == 200, answer.text
    return [notice for notice in answer.json() if notice["kind"] == "gallery"]


def announcement(user) -> dict:
    """The user's announcement of the retirement (not a reminder)."""
    [told] = [notice for notice in retirement_notices(user) if "Gallery sync ends in" in notice["message"]
              and not notice["message"].startswith("Reminder")]
    return told


def test_the_2022_story(tmp_path):
    box = Mailbox()
    clock = tmp_path / "clock"
    with smtp_server(box) as port:
        env = {**SHARED_SERVER_ENV, "PHONECLOUD_EMBEDDED_WORKERS": "0", "PHONECLOUD_CLOCK_FILE": str(clock),
               "PHONECLOUD_SMTP_URL": f"smtp://127.0.0.1:{port}", "PHONECLOUD_EMAIL_PER_MINUTE": "100000",
               "PHONECLOUD_PUBLIC_URL": "https://cloud.example.test"}
        with serving(tmp_path / "data", env) as (server, accounts):
            services = accounts.services

            def travel(days: float) -> None:
                write_offset(clock, dt.timedelta(days=days))

            def user_id(user) -> int:
                return services.accounts.user_by_email(user.email).id

            # -- the world before: groups, people and what they keep --------------------------------------
            names = {region: unique(region) for region, _, _ in REGIONS}
            for region, countries, _ in REGIONS:
                services.regions.add_group(names[region], countries)
            china = unique("Mainland China")
            services.regions.add_group(china, ["CN"])
            paid, free, never, chinese, many = (person(accounts, tag, region) for tag, region in (
                ("paid", "DE"), ("free", "US"), ("never", "FR"), ("chinese", "CN"), ("many", "JP")))
            affected, unaffected = (paid, free, many), (never, chinese)
            region_of = {paid.email: "Europe", free.email: "Americas", many.email: "Asia-Pacific"}

            for user in (paid, never):  # messages first: a gallery-only plan takes no messages
                answer = upload_backup(user, sbr_messages_xml())
                assert answer.status_code == 201, answer.text
                run_worker(server)
                assert finished(user, answer.json()["id"])["state"] == "done"
            for number, user in enumerate((paid, free, chinese)):
                for n in range(2):
                    assert upload(user, jpeg(9100 + 10 * number + n), filename=f"IMG_{n}.jpg").status_code == 201
            photo = jpeg(9190)
            for n in range(PHOTOS_OF_THE_MANY):  # distinct bytes: each an asset and a blob of its own
                assert upload(many, photo + n.to_bytes(4, "big"), filename=f"IMG_{n}.jpg").status_code == 201
            plan_name = unique("Photos 50")
            services.plans.add(plan_name, 50 * 10**9, "2.99", "EUR", "month", ["gallery"])
            services.plans.start(paid.email, plan_name)
            services.ledger.record("payment", paid.email, "1.99", "EUR", plan_name, unique("inv"))
            services.ledger.record("payment", paid.email, "2.99", "EUR", plan_name, unique("inv"))
            run_worker(server)  # the media pipeline's derivatives

            before_messages = {user.email: messages_digest(user) for user in (paid, never)}
            before_chinese = originals(chinese)
            free_photos = originals(free)
            ids = {user.email: user_id(user) for user in (*affected, *unaffected)}
            assert all(gallery_blobs(server, ids[user.email]) for user in (paid, free, many, chinese))

            # -- the plans, each previewed before anything happens -----------------------------------------
            now = dt.datetime.now(dt.UTC).replace(microsecond=0)
            plans = {}
            for region, _, announce in REGIONS:
                at = {name: (now + (announce + offset) * DAY).isoformat() for name, offset in (
                    ("announce", 0), ("stop", STOP), ("deadline", DEADLINE), ("delete", DELETE))}
                # Every step of the story is a process, as an operator's commands on a real server.
                planned = ok(cli(server, "admin", "retirement", "plan", "gallery", "--groups", names[region],
                                 "--announce", at["announce"], "--stop-sync", at["stop"], "--deadline", at["deadline"],
                                 "--delete", at["delete"], "--refund", "last-payment", "--exempt", china,
                                 "--message", f"Gallery sync ends in {region}.", process=True))
                plans[region] = int(planned.stdout.strip().splitlines()[-1])
                assert "delete\t" in planned.stdout and "\t1 users\t" in planned.stdout, planned.stdout
            shown = json.loads(ok(cli(server, "admin", "retirement", "show", str(plans["Asia-Pacific"]), "--json",
                                      process=True)).stdout)
            assert {step["step"]: step["users"] for step in shown["preview"]}["delete"] == 1  # JP, not CN
            assert [event["action"] for event in shown["audit"]] == ["planned"]

            # -- every announcement and the first reminders: told in the app and by email --------------------
            travel(8)
            run_worker(server)
            for region, _, _ in REGIONS:
                assert services.retirements.get(plans[region]).state == "announced"
            for user in affected:
                told = announcement(user)
                assert f"Gallery sync ends in {region_of[user.email]}." in told["message"]
                assert told["required"] and told["yours"]["items"] >= 2 and told["yours"]["bytes"] > 0
            for user in unaffected:
                assert retirement_notices(user) == []
            assert upload(free, jpeg(9180), filename="IMG_before_stop.jpg").status_code == 201  # sync still works
            free_photos = originals(free)

            # -- all stops of sync: refused with the message; the paid member refunded -----------------------
            travel(17)
            run_worker(server)
            for region, _, _ in REGIONS:
                assert services.retirements.get(plans[region]).state == "sync-stopped"
            refused = upload(free, jpeg(9181), filename="IMG_after_stop.jpg")
            assert refused.status_code == 403 and refused.json()["error"] == "intake_closed", refused.text
            assert "Download everything you keep before" in refused.json()["message"]
            phone = tmp_path / "phone"
            phone.mkdir()
            (phone / "IMG_new.jpg").write_bytes(image_bytes("JPEG", 9182, size=(20, 20)))
            synced = phonecloud(clean_env(PHONECLOUD_CLIENT_DIR=str(tmp_path / "client")), "sync", str(phone),
                                "--server", server.url, "--key", free.key, "--json")
            assert synced.returncode != 0 and "Traceback" not in synced.stderr, synced.stderr
            assert "backup has ended in your region (US)" in synced.stderr, synced.stderr
            assert "Download everything you keep before" in synced.stderr
            assert "not downloaded an export of everything since this was announced" in synced.stderr, synced.stderr
            assert upload(chinese, jpeg(9183), filename="IMG_cn.jpg").status_code == 201  # exempt: nothing changes
            before_chinese = originals(chinese)
            assert paid.http.get("/me").json()["plans"] == ["Free"]
            refunds = [entry for entry in services.ledger.entries(paid.email) if entry.kind == "refund"]
            assert [(entry.amount, entry.currency) for entry in refunds] == [("2.99", "EUR")]
            assert refunds[0].reference.startswith(f"retirement-{plans['Europe']}-payment-")
            assert messages_digest(paid) == before_messages[paid.email]  # reading and messages go on

            # -- the free user downloads everything during the window, and the notice says so ----------------
            told = announcement(free)
            assert told["retirement_id"] == plans["Americas"] and told["export"] is None
            out = tmp_path / "everything"
            exporting = subprocess.Popen([PHONECLOUD, "export", "--out", str(out), "--server", server.url, "--key",
                                          free.key, "--json"], env=clean_env(PHONECLOUD_CLIENT_DIR=str(tmp_path / "c")),
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            deadline = time.monotonic() + 180
            while exporting.poll() is None:  # the export job waits for a worker: this test's, run meanwhile
                assert time.monotonic() < deadline, "the export did not finish"
                run_worker(server)
                time.sleep(0.2)
            assert exporting.returncode == 0, exporting.stderr.read()
            archived = set()
            for part in sorted(out.glob("*.zip")):
                with zipfile.ZipFile(part) as archive:
                    archived |= {sha256(archive.read(name)) for name in archive.namelist()}
            assert set(free_photos.values()) <= archived  # every photo, bit for bit
            standing = announcement(free)["export"]
            assert standing["verified_at"] and standing["downloaded_at"], standing
            assert standing["parts_downloaded"] == standing["parts"] >= 1
            announced = services.retirements.get(plans["Americas"]).announce_at
            assert dt.datetime.fromisoformat(standing["snapshot_at"]) >= announced
            assert announcement(paid)["export"] is None  # the paid member took none

            # -- the last reminders, then Europe's and the Americas' deletions --------------------------------
            travel(21)  # each reminder sent while its people still keep their photos
            run_worker(server)
            travel(26)
            run_worker(server)
            assert services.retirements.get(plans["Europe"]).state == "done"
            travel(30)
            run_worker(server)
            assert services.retirements.get(plans["Europe"]).state == "done"
            assert services.retirements.get(plans["Americas"]).state == "done"
            assert services.retirements.get(plans["Asia-Pacific"]).state == "sync-stopped"

            # -- Asia-Pacific's: the worker is killed in the middle and the next one resumes ----------------
            travel(31.5)
            worker = subprocess.Popen([PHONECLOUD, "worker", "--until-idle"], env=server.env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                def progress() -> int:
                    from sqlalchemy import select

                    from phonecloud.retirement.models import DeletionReceipt
                    with services.db.read() as session:
                        return session.scalar(select(DeletionReceipt.items).where(
                            DeletionReceipt.retirement_id == plans["Asia-Pacific"],
                            DeletionReceipt.user_id == ids[many.email])) or 0

                deadline = time.monotonic() + 120
                while not 0 < progress() < PHOTOS_OF_THE_MANY:
                    assert worker.poll() is None and time.monotonic() < deadline, "the deletion ended before the kill"
                    time.sleep(0.002)
                worker.send_signal(signal.SIGKILL)
                worker.wait(10)
            finally:
                if worker.poll() is None:
                    worker.kill()
            assert services.retirements.get(plans["Asia-Pacific"]).state == "deleting"
            travel(31.5 + 1 / 24)  # past the killed worker's lease
            run_worker(server)
            asia = services.retirements.get(plans["Asia-Pacific"])
            assert asia.state == "done", asia.state

            # -- receipts, the final scan and the blob store: nothing of theirs is left ---------------------
            for user in affected:
                [receipt] = user.http.get("/me/deletion-receipts").json()
                assert receipt["retirement"] == plans[region_of[user.email]]
                assert (receipt["state"], receipt["rows_left"], receipt["bytes_left"]) == ("done", 0, 0), receipt
                assert len(receipt["manifest_sha256"]) == 64 and receipt["bytes"] > 0
                assert user.http.get("/assets").json()["items"] == []
                assert user.http.get("/me").json()["usage"]["gallery"] == {"items": 0, "bytes": 0}
                assert gallery_blobs(server, ids[user.email]) == [], user.email
            [receipt] = many.http.get("/me/deletion-receipts").json()
            assert receipt["items"] == PHOTOS_OF_THE_MANY  # counted with the rows removed: none twice, none lost
            [receipt] = free.http.get("/me/deletion-receipts").json()
            assert receipt["items"] >= len(free_photos)  # its export too
            for region, _, _ in REGIONS:
                report = services.retirements.get(plans[region]).report
                assert json.loads(report) | {"clean": True} == json.loads(report), report
                assert json.loads(report)["users"] == 1 and json.loads(report)["bytes_left"] == 0
            for user in unaffected:
                assert user.http.get("/me/deletion-receipts").json() == []

            # -- everyone else's data: every byte intact ----------------------------------------------------
            assert originals(chinese) == before_chinese
            assert upload(chinese, jpeg(9184), filename="IMG_cn_after.jpg").status_code == 201
            for user in (paid, never):
                assert messages_digest(user) == before_messages[user.email]
            assert gallery_blobs(server, ids[chinese.email])
            for user in unaffected:
                assert retirement_notices(user) == []

            # -- every notice emailed exactly once, to exactly the affected holders -------------------------
            for user in unaffected:
                assert box.to(user.email) == []
            for user in affected:
                mails = box.to(user.email)
                region = region_of[user.email]
                subjects = Counter(str(mail["Subject"]) for mail in mails)
                # the announcement, the reminders that came before what they remind of (the clock jumps here,
                # so some run late, after it: those are skipped and logged), and the receipt's notice
                reminders = {subject for subject in subjects if subject.startswith("Reminder")}
                assert reminders <= set(SUBJECTS) and reminders, subjects
                assert RECEIPT in subjects and len(subjects) == 2 + len(reminders), subjects
                assert all(count == 1 for count in subjects.values()), subjects
                for mail in mails:
                    text = text_of(mail)
                    if mail["Subject"] == RECEIPT:  # the user's own receipt, with its numbers
                        [receipt] = user.http.get("/me/deletion-receipts").json()
                        assert "deletion receipt" in text and receipt["manifest_sha256"] in text, text
                        assert f"Deleted: {receipt['items']} items" in text and "Final check: 0 records" in text
                        continue
                    assert "You keep " in text and "export of everything" in text, text
                    assert f"Gallery sync ends in {region}." in text, text
                    assert not any(f"Gallery sync ends in {other}." in text for other, _, _ in REGIONS if other != region)
            assert all(len(got.recipients) == 1 for got in box.received)
            actions = [event["action"] for event in services.retirements.events(plans["Asia-Pacific"])]
            assert actions[0] == "planned" and {"announced", "reminded", "sync-stopped", "refunded",
                                                "deletion-started", "deleted"} <= set(actions)
            assert "reminder-skipped" in actions  # its 7-day reminder came due only after the clock passed the stop
