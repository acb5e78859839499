"""Notices by email, against a real SMTP server on loopback (aiosmtpd, started here): exactly the audience
gets one message each, from the templates of their language, with their name, the links and (unless the
notice is legally required) the unsubscribe headers; every delivery is recorded with the server's answer; a
server that refuses or is down for a while is retried and recorded, and nobody is ever sent a notice twice.

In process, the `notices.email` job is run by calling it (`notice_mail.run`), as a worker would; the last
test leaves it to a server process's own workers."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from cli_runner import phonecloud, phonecloud_in_process
from conftest import SHARED_SERVER_ENV, free_port, serving, upload
from media_fixtures import jpeg
from sqlalchemy import select, update

from notices.support import (
    Mailbox,
    html_of,
    members_of_new_plan,
    person,
    smtp_server,
    text_of,
    unique,
    wait_for,
)
from phonecloud.core.clock import write_offset
from phonecloud.core.db import utcnow
from phonecloud.core.mailer import SmtpMailer
from phonecloud.jobs.models import Job
from phonecloud.notices.email import EmailSettings, MailLater, NoticeMail
from phonecloud.notices.models import NoticeDelivery
from phonecloud.notices.service import EMAIL_JOB, Audience

PUBLIC_URL = "https://cloud.example.test"
SENDER = "Example Cloud <cloud@example.test>"
GERMAN = {
    "notice.subject.txt": "Hinweis: {{ subject }}\n",
    "notice.txt": "Hallo {{ name }},\n\n{{ message }}\n\nIhr Konto: {{ app_url }}\n"
                  "{% if unsubscribe_url %}Abbestellen: {{ unsubscribe_url }}{% endif %}\n",
    "notice.html": "<p>Hallo {{ name }},</p><p>{{ message }}</p><p><a href=\"{{ app_url }}\">Ihr Konto</a></p>\n",
}


@pytest.fixture(scope="module")
def mailbox():
    box = Mailbox()
    with smtp_server(box) as port:
        box.port = port
        yield box


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    """The operator's templates: German only (English is shipped)."""
    folder = tmp_path_factory.mktemp("email-templates")
    (folder / "de").mkdir()
    for name, text in GERMAN.items():
        (folder / "de" / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def mail_app(tmp_path_factory, mailbox, templates):
    """The app in this process, sending through the module's aiosmtpd; no workers: the tests run the job."""
    env = {**SHARED_SERVER_ENV, "PHONECLOUD_SMTP_URL": f"smtp://127.0.0.1:{mailbox.port}",
           "PHONECLOUD_EMBEDDED_WORKERS": "0", "PHONECLOUD_EMAIL_PER_MINUTE": "600000",
           "PHONECLOUD_PUBLIC_URL": PUBLIC_URL, "PHONECLOUD_MAIL_FROM": SENDER,
           "PHONECLOUD_EMAIL_TEMPLATES": str(templates)}
    with serving(tmp_path_factory.mktemp("notice-mail") / "data", env, in_process=True) as running:
        yield running


@pytest.fixture
def server(mail_app):
    return mail_app[0]


@pytest.fixture
def accounts(mail_app):
    return mail_app[1]


@pytest.fixture
def services(accounts):
    return accounts.services


def emailed(services, message: str, plan: str, **options):
    """A notice by email to the members of plan (an audience of the test's own)."""
    return services.notices.post(message, audience=Audience(plan=plan), email=True, **options)


def deliveries(services, notice_id: int) -> dict:
    return {row.email: row for row in services.notice_mail.deliveries(notice_id)}


def other_mail(services, mailer: SmtpMailer | None = None, **settings) -> NoticeMail:
    """The app's NoticeMail with another mailer or other settings."""
    current = services.notice_mail
    sleep = settings.pop("sleep", None)
    return NoticeMail(services.db, mailer or current.mailer,
                      EmailSettings(**{**current.settings.__dict__, **settings}), current.holders,
                      **({"sleep": sleep} if sleep else {}))


def test_a_group_and_kind_audience_gets_one_email_each_recorded_and_answered_by_the_cli(server, accounts,
                                                                                      services, mailbox):
    admin = person(accounts, "mail-admin", is_admin=True)
    group = unique("DACH")
    services.regions.add_group(group, ["DE", "AT"])
    anna = person(accounts, "anna", region="DE", display_name="Anna Beispiel")
    bert = person(accounts, "bert", region="AT")
    no_photos = person(accounts, "nophotos", region="DE")
    far_away = person(accounts, "faraway", region="US")
    for number, user in enumerate((anna, bert, far_away)):
        assert upload(user, jpeg(7300 + number)).status_code in (200, 201)

    response = admin.http.post("/admin/notices", json={
        "message": "The gallery moves to a new home.\n\nNothing is lost.", "group": group, "kind": "gallery",
        "email": True, "subject": "Your gallery is moving",
        "ends_at": "2031-02-03T04:05:00Z"})
    assert response.status_code == 201, response.text
    notice = response.json()
    assert notice["email"] is True and notice["required"] is False
    services.notice_mail.run(str(notice["id"]))

    assert mailbox.to(no_photos.email) == [] and mailbox.to(far_away.email) == []
    for user, greeting in ((anna, "Hello Anna Beispiel,"), (bert, f"Hello {bert.email.split('@')[0]},")):
        [message] = mailbox.to(user.email)
        assert message["To"] == user.email and message["From"] == SENDER
        assert message["Subject"] == "Your gallery is moving"
        assert message["Auto-Submitted"] == "auto-generated"
        text, html = text_of(message), html_of(message)
        assert greeting in text and "The gallery moves to a new home." in text and "Nothing is lost." in text
        assert "3 February 2031" in text and f"{PUBLIC_URL}/" in text
        assert greeting.rstrip(",") in html and "<p>Nothing is lost.</p>" in html and f'href="{PUBLIC_URL}/' in html
        unsubscribe = message["List-Unsubscribe"]
        assert unsubscribe.startswith(f"<{PUBLIC_URL}/unsubscribe?token=") and unsubscribe.endswith(">")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert unsubscribe.strip("<>") in text

    rows = admin.http.get("/admin/notices/deliveries", params={"id": notice["id"]}).json()
    assert sorted(row["email"] for row in rows) == sorted([anna.email, bert.email])
    for row in rows:
        assert row["state"] == "sent" and row["attempts"] == 1 and row["sent_at"]
        assert row["answer"].startswith("250 2.0.0 Ok: queued as M")
    [only_anna] = admin.http.get("/admin/notices/deliveries", params={"id": notice["id"], "email": anna.email}).json()
    assert only_anna["email"] == anna.email

    told = phonecloud_in_process(server.env, "admin", "notice", "deliveries", str(notice["id"]), "--email", anna.email)
    assert told.returncode == 0, told.stderr
    [line] = told.stdout.strip().splitlines()
    address, state, when, attempts, answer = line.split("\t")
    assert (address, state, attempts) == (anna.email, "sent", "1 attempts") and answer.startswith("250 ")
    assert dt.datetime.fromisoformat(when) == dt.datetime.fromisoformat(only_anna["sent_at"])
    as_json = phonecloud_in_process(server.env, "admin", "notice", "deliveries", str(notice["id"]), "--json")
    assert {json.loads(line)["email"]: json.loads(line)["state"] for line in as_json.stdout.splitlines()} == {
        anna.email: "sent", bert.email: "sent"}
    nobody = phonecloud_in_process(server.env, "admin", "notice", "deliveries", str(notice["id"]), "--email",
                                   no_photos.email)
    assert nobody.returncode == 0 and "no emails for this notice" in nobody.stdout

    services.notice_mail.run(str(notice["id"]))  # the job again (a retry, a second worker): nothing resent
    assert len(mailbox.to(anna.email)) == 1 and len(mailbox.to(bert.email)) == 1


def test_a_refusing_server_fails_for_good_on_5xx_and_retries_4xx_until_sent_once(accounts, services, mailbox):
    refused, later, fine = (person(accounts, name) for name in ("refused", "later", "fine"))
    notice = emailed(services, "Refusals", members_of_new_plan(services, refused, later, fine))
    mailbox.refuse[refused.email] = "550 5.1.1 mailbox unavailable"
    mailbox.refuse[later.email] = "451 4.3.0 try later"
    with pytest.raises(MailLater):
        services.notice_mail.run(str(notice.id))
    rows = deliveries(services, notice.id)
    assert (rows[refused.email].state, rows[refused.email].answer) == ("failed", "550 5.1.1 mailbox unavailable")
    assert (rows[later.email].state, rows[later.email].answer) == ("queued", "451 4.3.0 try later")
    assert rows[fine.email].state == "sent"
    assert rows[later.email].sent_at is None and rows[refused.email].sent_at is None

    with pytest.raises(MailLater):  # still refusing: retried again, still queued
        services.notice_mail.run(str(notice.id))
    assert deliveries(services, notice.id)[later.email].attempts == 2

    del mailbox.refuse[refused.email], mailbox.refuse[later.email]  # both would be accepted now
    services.notice_mail.run(str(notice.id))
    rows = deliveries(services, notice.id)
    assert (rows[later.email].state, rows[later.email].attempts) == ("sent", 3)
    assert rows[later.email].answer.startswith("250 ")
    assert (rows[refused.email].state, rows[refused.email].attempts) == ("failed", 1)  # never tried again
    assert mailbox.to(refused.email) == []
    assert len(mailbox.to(later.email)) == 1 and len(mailbox.to(fine.email)) == 1


def test_a_server_down_for_a_while_is_retried_and_sends_once(accounts, services):
    user = person(accounts, "down")
    port = free_port()  # nothing listens there yet
    mail = other_mail(services, SmtpMailer.from_url(f"smtp://127.0.0.1:{port}"))
    notice = emailed(services, "While the server was down", members_of_new_plan(services, user))
    with pytest.raises(MailLater):
        mail.run(str(notice.id))
    row = deliveries(services, notice.id)[user.email]
    assert row.state == "queued" and row.sent_at is None
    assert row.answer.startswith(f"cannot reach smtp://127.0.0.1:{port}")

    box = Mailbox()
    with smtp_server(box, port):
        mail.run(str(notice.id))
        assert len(box.to(user.email)) == 1
        row = deliveries(services, notice.id)[user.email]
        assert row.state == "sent" and row.answer.startswith("250 ") and row.sent_at is not None
        mail.run(str(notice.id))  # a third run: nothing is sent twice
        assert len(box.received) == 1
    assert deliveries(services, notice.id)[user.email].attempts == 1


def test_a_delivery_cut_off_while_sending_becomes_uncertain_and_is_never_resent(accounts, services, mailbox):
    cut_off, other = person(accounts, "cutoff"), person(accounts, "notcut")
    notice = emailed(services, "The crash window", members_of_new_plan(services, cut_off, other))
    down = other_mail(services, SmtpMailer.from_url(f"smtp://127.0.0.1:{free_port()}"))
    with pytest.raises(MailLater):  # addresses the deliveries, sends none
        down.run(str(notice.id))
    with services.db.write() as session:  # as a worker that died between `sending` and the server's answer
        session.execute(update(NoticeDelivery).where(NoticeDelivery.notice_id == notice.id,
                                                     NoticeDelivery.email == cut_off.email)
                        .values(state="sending", attempts=NoticeDelivery.attempts + 1))
    services.notice_mail.run(str(notice.id))
    rows = deliveries(services, notice.id)
    assert rows[cut_off.email].state == "uncertain" and "not sent again" in rows[cut_off.email].answer
    assert rows[other.email].state == "sent"
    assert mailbox.to(cut_off.email) == [] and len(mailbox.to(other.email)) == 1
    services.notice_mail.run(str(notice.id))
    assert deliveries(services, notice.id)[cut_off.email].state == "uncertain" and mailbox.to(cut_off.email) == []


class HangUpAfterData(Mailbox):
    """Takes the message, then drops the connection instead of answering: the sender cannot know whether
    it was delivered."""

    async def handle_DATA(self, server, session, envelope):
        await super().handle_DATA(server, session, envelope)
        server.transport.close()
        return "250 never heard"


def test_a_connection_lost_after_the_message_went_out_is_uncertain_and_never_resent(accounts, services):
    user = person(accounts, "hangup")
    notice = emailed(services, "Lost in the wire", members_of_new_plan(services, user))
    box = HangUpAfterData()
    with smtp_server(box) as port:
        hanging = other_mail(services, SmtpMailer.from_url(f"smtp://127.0.0.1:{port}"))
        with pytest.raises(MailLater, match="connection lost while sending"):
            hanging.run(str(notice.id))
        hanging.run(str(notice.id))  # nothing left to retry: the one delivery is uncertain
    row = deliveries(services, notice.id)[user.email]
    assert row.state == "uncertain" and row.answer.startswith("connection lost while sending"), row
    assert len(box.to(user.email)) == 1  # it had arrived, and it went once


def test_a_notice_that_ended_before_its_emails_could_go_sends_no_more(accounts, services, mailbox, clock):
    user = person(accounts, "ended")
    now = utcnow()
    notice = emailed(services, "Short-lived", members_of_new_plan(services, user),
                     ends_at=now + dt.timedelta(hours=1))
    with pytest.raises(MailLater):
        other_mail(services, SmtpMailer.from_url(f"smtp://127.0.0.1:{free_port()}")).run(str(notice.id))
    clock(dt.timedelta(hours=2))
    services.notice_mail.run(str(notice.id))
    row = deliveries(services, notice.id)[user.email]
    assert row.state == "skipped" and "ended before" in row.answer and mailbox.to(user.email) == []


def test_unsubscribed_users_get_no_marketing_notice_but_required_ones_without_the_unsubscribe_header(
        accounts, services, mailbox):
    patched, linked, subscribed = person(accounts, "patched"), person(accounts, "linked"), person(accounts, "stays")
    plan = members_of_new_plan(services, patched, linked, subscribed)
    me = patched.http.patch("/me", json={"notice_emails": False})
    assert me.status_code == 200 and me.json()["notice_emails"] is False

    first = emailed(services, "Our new plans", plan)
    services.notice_mail.run(str(first.id))
    rows = deliveries(services, first.id)
    assert rows[patched.email].state == "skipped" and "unsubscribed" in rows[patched.email].answer
    assert mailbox.to(patched.email) == []
    [message] = mailbox.to(linked.email)
    token = message["List-Unsubscribe"].strip("<>").split("token=", 1)[1]
    assert services.notice_mail.unsubscribe(token) == linked.email
    assert linked.http.get("/me").json()["notice_emails"] is False

    second = emailed(services, "Even newer plans", plan)
    services.notice_mail.run(str(second.id))
    rows = deliveries(services, second.id)
    assert rows[patched.email].state == rows[linked.email].state == "skipped"
    assert rows[subscribed.email].state == "sent"
    assert len(mailbox.to(linked.email)) == 1 and len(mailbox.to(subscribed.email)) == 2

    required = emailed(services, "Our terms change on 1 March.", plan, required=True)
    services.notice_mail.run(str(required.id))
    assert {row.state for row in deliveries(services, required.id).values()} == {"sent"}
    for user, count in ((patched, 1), (linked, 2), (subscribed, 3)):
        received = mailbox.to(user.email)
        assert len(received) == count
        last = received[-1]
        assert "Our terms change on 1 March." in text_of(last)
        assert last["List-Unsubscribe"] is None and last["List-Unsubscribe-Post"] is None
        assert "cannot be unsubscribed from" in text_of(last) and "unsubscribe?token" not in text_of(last)
    with pytest.raises(Exception, match="not valid"):
        services.notice_mail.unsubscribe("no-such-token")


def test_a_user_who_unsubscribes_while_their_email_waits_for_a_retry_is_not_sent_it(accounts, services, mailbox):
    waiting = person(accounts, "waiting")
    notice = emailed(services, "Waiting for a retry", members_of_new_plan(services, waiting))
    mailbox.refuse[waiting.email] = "451 4.3.0 try later"
    with pytest.raises(MailLater):
        services.notice_mail.run(str(notice.id))
    assert waiting.http.patch("/me", json={"notice_emails": False}).status_code == 200
    del mailbox.refuse[waiting.email]
    services.notice_mail.run(str(notice.id))
    row = deliveries(services, notice.id)[waiting.email]
    assert row.state == "skipped" and "unsubscribed" in row.answer and mailbox.to(waiting.email) == []


def test_a_withdrawn_notice_sends_no_more_emails(accounts, services, mailbox):
    user = person(accounts, "withdrawn")
    notice = emailed(services, "Soon withdrawn", members_of_new_plan(services, user))
    with pytest.raises(MailLater):
        other_mail(services, SmtpMailer.from_url(f"smtp://127.0.0.1:{free_port()}")).run(str(notice.id))
    services.notices.withdraw(notice.id)
    services.notice_mail.run(str(notice.id))  # done: nothing left to retry
    row = deliveries(services, notice.id)[user.email]
    assert row.state == "skipped" and "withdrawn" in row.answer and mailbox.to(user.email) == []


def test_the_unsubscribe_link_of_an_email_works_in_one_click(server, accounts, services, mailbox):
    """RFC 8058: a mail client POSTs `List-Unsubscribe=One-Click` to the List-Unsubscribe address; a person
    opens it in a browser."""
    user = person(accounts, "oneclick")
    notice = emailed(services, "Unsubscribe me", members_of_new_plan(services, user))
    services.notice_mail.run(str(notice.id))
    [message] = mailbox.to(user.email)
    link = message["List-Unsubscribe"].strip("<>")
    assert link.startswith(PUBLIC_URL)
    with server.client(base="") as web:
        opened = web.get(link.removeprefix(PUBLIC_URL))
        assert opened.status_code == 200, opened.status_code
        # Opening the link (as link scanners and previews do) unsubscribes nobody; the button's POST does.
        assert user.http.get("/me").json()["notice_emails"] is True
        clicked = web.post(link.removeprefix(PUBLIC_URL), content=b"List-Unsubscribe=One-Click",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert clicked.status_code in (200, 204), clicked.status_code
    assert user.http.get("/me").json()["notice_emails"] is False


def test_the_users_language_chooses_the_templates_with_english_where_there_are_none(accounts, services, mailbox):
    german = person(accounts, "german", locale="de", display_name="Grete")
    french = person(accounts, "french", locale="fr", display_name="Françoise")
    notice = emailed(services, "Wartung am Sonntag", members_of_new_plan(services, german, french),
                     subject="Wartung")
    services.notice_mail.run(str(notice.id))
    [to_german] = mailbox.to(german.email)
    assert to_german["Subject"] == "Hinweis: Wartung"
    assert text_of(to_german).startswith("Hallo Grete,") and "Wartung am Sonntag" in text_of(to_german)
    assert "<p>Hallo Grete,</p>" in html_of(to_german)
    assert "Abbestellen: " + PUBLIC_URL + "/unsubscribe?token=" in text_of(to_german)
    [to_french] = mailbox.to(french.email)
    assert to_french["Subject"] == "Wartung"
    assert text_of(to_french).startswith("Hello Françoise,") and "Hello Françoise," in html_of(to_french)
    # Names and templates beyond ASCII travel 7-bit clean: the mailer does not ask for 8BITMIME.
    assert all(got.raw.isascii() for got in mailbox.received if french.email in got.recipients)


def test_the_rate_limit_waits_between_messages(accounts, services, mailbox):
    people = [person(accounts, f"rate{number}") for number in range(3)]
    notice = emailed(services, "Slowly", members_of_new_plan(services, *people))
    waits: list[float] = []
    mail = other_mail(services, per_minute=6, sleep=waits.append)  # one every 10 s
    mail.run(str(notice.id))
    assert all(len(mailbox.to(user.email)) == 1 for user in people)
    assert len(waits) >= len(people) - 1
    assert all(5 < wait <= 10 for wait in waits), waits  # 10 s less the time the send itself took
    assert services.notice_mail.settings.per_minute == 600000  # PHONECLOUD_EMAIL_PER_MINUTE


def test_a_server_process_sends_by_itself_when_the_notice_starts_and_retries_a_refusal(tmp_path):
    """End to end: post with the CLI, the server's own workers send when the (moved) clock reaches the
    notice's start, and retry a 451 after their backoff."""
    box = Mailbox()
    clock = tmp_path / "clock"
    with smtp_server(box) as port:
        env = {**SHARED_SERVER_ENV, "PHONECLOUD_SMTP_URL": f"smtp://127.0.0.1:{port}",
               "PHONECLOUD_CLOCK_FILE": str(clock), "PHONECLOUD_PUBLIC_URL": PUBLIC_URL}
        with serving(tmp_path / "data", env) as (server, accounts):
            soon, later = person(accounts, "soon"), person(accounts, "retried")
            plan = members_of_new_plan(accounts.services, soon, later)
            box.refuse[later.email] = "451 4.7.1 greylisted, try again later"
            starts = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
            # The notice group's real processes, following the clock file as the server does.
            posted = phonecloud(server.env, "admin", "notice", "post", "Scheduled by email", "--plan", plan,
                                "--email", "--subject", "Coming up", "--starts", starts)
            assert posted.returncode == 0, posted.stderr
            notice_id = int(posted.stdout.strip().splitlines()[-1])
            assert "by email too" in posted.stdout
            with accounts.services.db.read() as session:
                job = session.scalar(select(Job).where(Job.kind == EMAIL_JOB, Job.subject == str(notice_id)))
                assert job.run_after > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=59)

            write_offset(clock, dt.timedelta(hours=1, minutes=1))  # the notice starts
            [message] = wait_for(lambda: box.to(soon.email), "the server's workers to send the email")
            assert message["Subject"] == "Coming up"

            def answered_451():
                rows = accounts.services.notice_mail.deliveries(notice_id, later.email)
                return rows and rows[0].answer.startswith("451") and rows[0].state == "queued"

            wait_for(answered_451, "the greylisting answer to be recorded")
            del box.refuse[later.email]
            write_offset(clock, dt.timedelta(hours=2, minutes=2))  # past the job's backoff
            wait_for(lambda: box.to(later.email), "the retry to send the email")

            def recorded():  # the server's answer is recorded a moment after the message arrives
                rows = {row.email: row for row in accounts.services.notice_mail.deliveries(notice_id)}
                return rows if {row.state for row in rows.values()} == {"sent"} else None

            rows = wait_for(recorded, "both deliveries to be recorded as sent")
            assert rows[later.email].attempts == 2
            told = phonecloud(server.env, "admin", "notice", "deliveries", str(notice_id), "--email", later.email)
            assert told.returncode == 0 and f"{later.email}\tsent\t" in told.stdout
    assert len(box.to(soon.email)) == 1 and len(box.to(later.email)) == 1
