"""The job queue: persisted, idempotent, leased, retried with backoff, never retried forever."""

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import select, update

from phonecloud.core.db import Database
from phonecloud.jobs.models import Job
from phonecloud.jobs.queue import JobQueue
from phonecloud.jobs.worker import DeferJob, PermanentJobError, WorkerPool


@pytest.fixture
def database(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'jobs.sqlite3'}")
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture
def queue(database):
    return JobQueue(database, lease=dt.timedelta(seconds=30), backoff=dt.timedelta(seconds=0))


def make_ready_now(database):
    with database.write() as session:
        session.execute(update(Job).values(run_after=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))


def test_enqueue_is_idempotent_and_claim_leases_one_job(queue):
    queue.enqueue("media.process", "asset:1")
    queue.enqueue("media.process", "asset:1")
    queue.enqueue("media.process", "asset:2")
    first = queue.claim("w1", ["media.process"])
    second = queue.claim("w2", ["media.process"])
    assert {first.subject, second.subject} == {"asset:1", "asset:2"}
    assert queue.claim("w3", ["media.process"]) is None
    assert queue.claim("w3", ["other.kind"]) is None
    queue.complete(first)
    assert queue.counts() == {("media.process", "done"): 1, ("media.process", "running"): 1}


def test_failures_are_retried_then_given_up(queue, database):
    queue.enqueue("k", "s", max_attempts=3)
    for attempt in (1, 2):
        claimed = queue.claim("w", ["k"])
        assert claimed.attempts == attempt
        assert queue.fail(claimed, f"boom {attempt}") is True
        make_ready_now(database)
    last = queue.claim("w", ["k"])
    assert queue.fail(last, "boom 3") is False
    assert queue.claim("w", ["k"]) is None
    [failure] = queue.failures()
    assert (failure.status, failure.attempts, failure.last_error) == ("failed", 3, "boom 3")
    assert queue.retry_failed() == 1
    assert queue.claim("w", ["k"]).attempts == 1


def test_backoff_delays_the_next_attempt(database):
    queue = JobQueue(database, backoff=dt.timedelta(minutes=10))
    queue.enqueue("k", "s")
    queue.fail(queue.claim("w", ["k"]), "transient")
    assert queue.claim("w", ["k"]) is None  # not before its backoff has passed
    assert queue.pending(["k"]) == 1


def test_a_dead_workers_job_is_claimed_again_after_its_lease(database):
    queue = JobQueue(database, lease=dt.timedelta(seconds=-1))  # every lease has already lapsed
    queue.enqueue("k", "s")
    dead = queue.claim("dead worker", ["k"])
    alive = queue.claim("live worker", ["k"])
    assert alive is not None and alive.attempts == 2
    queue.complete(dead)  # the stale worker's word no longer counts
    assert queue.counts() == {("k", "running"): 1}
    queue.complete(alive)
    assert queue.counts() == {("k", "done"): 1}


def test_jobs_survive_a_restart(tmp_path):
    url = f"sqlite:///{tmp_path / 'restart.sqlite3'}"
    before = Database(url)
    before.migrate()
    JobQueue(before).enqueue("k", "survivor")
    before.dispose()
    after = Database(url)
    claimed = JobQueue(after).claim("w", ["k"])
    assert claimed.subject == "survivor"
    after.dispose()


def test_concurrent_claims_never_hand_out_a_job_twice(queue):
    for number in range(200):
        queue.enqueue("k", f"s{number}")
    claimed, lock = [], threading.Lock()

    def claim_all():
        while (job := queue.claim(threading.current_thread().name, ["k"])) is not None:
            with lock:
                claimed.append(job.subject)

    threads = [threading.Thread(target=claim_all) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(f"s{number}" for number in range(200))


def test_worker_pool_runs_handlers_and_records_outcomes(queue):
    seen = []

    def handler(subject):
        seen.append(subject)
        if subject == "broken":
            raise PermanentJobError("cannot ever work")
        if subject == "flaky":
            raise RuntimeError("try again")

    for subject in ("ok", "broken", "flaky"):
        queue.enqueue("k", subject, max_attempts=1 if subject == "flaky" else 5)
    pool = WorkerPool(queue, {"k": handler})
    assert pool.run_until_idle() == 3
    assert sorted(seen) == ["broken", "flaky", "ok"]
    assert queue.counts() == {("k", "done"): 1, ("k", "failed"): 2}
    errors = {job.subject: job.last_error for job in queue.failures()}
    assert errors["broken"] == "cannot ever work" and "try again" in errors["flaky"]


def test_later_jobs_run_only_when_no_other_job_is_ready(queue, database):
    """Work that can wait (a preview) never holds up work someone waits for (a thumbnail), whatever the order
    they were queued in; a lapsed job of priority LATER still waits for the others."""
    from phonecloud.jobs.queue import LATER

    ran = []
    pool = WorkerPool(queue, {"now": ran.append, "later": lambda subject: ran.append(f"later {subject}")})
    queue.enqueue("later", "1", priority=LATER)
    queue.enqueue("now", "a")
    queue.enqueue("later", "2", priority=LATER)
    queue.enqueue("now", "b")
    assert pool.run_one() and pool.run_one() and ran == ["a", "b"]
    abandoned = queue.claim("dead", ["later"])
    assert abandoned.subject == "1"
    with database.write() as session:  # its worker died: the lease lapsed
        session.execute(update(Job).where(Job.id == abandoned.id)
                        .values(lease_until=dt.datetime(2001, 1, 1, tzinfo=dt.UTC)))
    queue.enqueue("now", "c")
    assert pool.run_until_idle() == 3
    assert ran == ["a", "b", "c", "later 1", "later 2"]
    assert queue.pending() == 0
    with database.write() as session:  # a retry keeps its priority
        queue.requeue_in(session, "later", "2", priority=LATER)
        queue.requeue_in(session, "now", "a")
    assert [queue.claim("w", ["later", "now"]).subject for _ in range(2)] == ["a", "2"]


def test_a_job_enqueued_in_this_process_wakes_its_workers(queue):
    done = threading.Event()
    pool = WorkerPool(queue, {"k": lambda subject: done.set()}, threads=2, poll_seconds=3600)
    queue.wake = pool.wake  # as Services.workers wires it
    pool.start()
    try:
        queue.enqueue("k", "now")
        assert done.wait(20)  # not an hour's poll later
    finally:
        pool.stop()
    deadline = time.monotonic() + 10
    while queue.pending(["k"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert queue.counts() == {("k", "done"): 1}


def test_a_job_deferred_by_this_pool_runs_again_when_due_not_at_the_next_poll(queue):
    attempts, done = [], threading.Event()

    def waits_once(subject: str) -> None:
        attempts.append(subject)
        if len(attempts) == 1:
            raise DeferJob("waiting for other work", dt.timedelta(milliseconds=50))
        done.set()

    pool = WorkerPool(queue, {"k": waits_once}, threads=1, poll_seconds=3600)
    pool.start()
    try:
        queue.enqueue("k", "deferred")
        pool.wake()
        assert done.wait(20)  # due 50 ms later: the idle worker looked again then, not an hour later
    finally:
        pool.stop()
    assert attempts == ["deferred", "deferred"]


def claim_owners(queue, count: int) -> list[int]:
    from phonecloud.jobs.models import Job as JobRow

    owners = []
    for _ in range(count):
        claimed = queue.claim("w", ["media.process"])
        with queue.db.read() as session:
            owners.append(session.get(JobRow, claimed.id).owner_id)
        queue.complete(claimed)
    return owners


def test_owners_take_turns_whatever_order_their_jobs_came_in(queue):
    for number in range(5):
        queue.enqueue("media.process", f"asset:a{number}", owner_id=1)
    queue.enqueue("media.process", "asset:b0", owner_id=2)
    for number in range(2):
        queue.enqueue("media.process", f"asset:c{number}", owner_id=3)
    assert claim_owners(queue, 8) == [1, 2, 3, 1, 3, 1, 1, 1]
    assert queue.claim("w", ["media.process"]) is None


def test_within_an_owner_the_oldest_ready_job_goes_first_and_a_dead_workers_job_before_all(queue, database):
    queue.enqueue("media.process", "asset:late", owner_id=1)
    queue.enqueue("media.process", "asset:early", owner_id=1)
    with database.write() as session:
        session.execute(update(Job).where(Job.subject == "asset:early")
                        .values(run_after=dt.datetime(2001, 1, 1, tzinfo=dt.UTC)))
    abandoned = queue.claim("dead", ["media.process"])
    assert abandoned.subject == "asset:early"
    queue.enqueue("media.process", "asset:other", owner_id=2)
    with database.write() as session:  # its worker died: the lease lapsed
        session.execute(update(Job).where(Job.id == abandoned.id)
                        .values(lease_until=dt.datetime(2001, 1, 1, tzinfo=dt.UTC)))
    assert queue.claim("w", ["media.process"]).subject == "asset:early"


def test_a_periodic_job_is_scheduled_once_per_slot(queue, database):
    now = dt.datetime(2026, 12, 6, 5, 10, tzinfo=dt.UTC)
    for _ in range(3):
        queue.schedule_every("maintenance.sweep", dt.timedelta(hours=1), now)
    with database.read() as session:
        rows = session.execute(select(Job.subject, Job.run_after, Job.owner_id)).all()
    assert [(subject, run_after.replace(tzinfo=dt.UTC), owner) for subject, run_after, owner in rows] == [
        ("at:2026-12-06T06:00:00+00:00", dt.datetime(2026, 12, 6, 6, tzinfo=dt.UTC), 0)]
