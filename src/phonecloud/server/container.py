"""The services of one running server, built once from settings and shared by the API, CLI and jobs. The
data kinds (server/kinds.py) are built here too: nothing below names one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

from phonecloud.accounts.quota import QuotaLedger
from phonecloud.accounts.service import AccountService
from phonecloud.accounts.throttle import ThrottlePolicy
from phonecloud.core.blobstore import BlobStore, open_blob_store
from phonecloud.core.db import Database
from phonecloud.core.errors import NotFound
from phonecloud.core.kinds import DataKind, IntakeGate
from phonecloud.core.settings import Settings
from phonecloud.core.sizes import format_size
from phonecloud.jobs.queue import JobQueue
from phonecloud.jobs.worker import WorkerPool
from phonecloud.maintenance.jobs import SWEEP_JOB
from phonecloud.core.countries import country_code
from phonecloud.core.mailer import open_mailer
from phonecloud.notices.email import EmailSettings, NoticeMail
from phonecloud.notices.service import EMAIL_JOB, NoticeService
from phonecloud.plans.ledger import Ledger
from phonecloud.plans.service import APPLY_JOB, PlanService
from phonecloud.regions.service import RegionService
from phonecloud.retirement.service import STEP_JOB, RetirementService
from phonecloud.server.kinds import DEFAULT_DESTINATION, KINDS
from phonecloud.uploads.intake import Intake


def kind_migrations() -> list:
    return [kind.migrations for kind in KINDS if kind.migrations is not None]


@dataclass
class Services:
    settings: Settings
    db: Database
    blobs: BlobStore
    accounts: AccountService
    quota: QuotaLedger
    jobs: JobQueue
    notices: NoticeService
    gate: IntakeGate
    intake: Intake
    plans: PlanService
    ledger: Ledger
    regions: RegionService
    notice_mail: NoticeMail
    retirements: RetirementService
    kinds: dict[str, DataKind] = field(default_factory=dict)  # by name, in the registry's order

    @classmethod
    def start(cls, settings: Settings | None = None) -> Services:
        """Open the database (migrating it to the latest schema) and the blob store, and bind every kind."""
        settings = settings or Settings()
        settings.resolved_data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.resolved_database_url)
        db.migrate(kind_migrations())
        blobs = open_blob_store(settings.resolved_blob_url)
        jobs = JobQueue(db, lease=dt.timedelta(seconds=settings.job_lease_seconds))
        titles = lambda: {name: kind.title for name, kind in services.kinds.items()}  # noqa: E731 (bound below)
        services = cls(
            settings=settings, db=db, blobs=blobs,
            accounts=AccountService(db, settings.default_quota_bytes, settings.session_days,
                                    ThrottlePolicy.from_settings(settings), country_code(settings.default_region)),
            quota=QuotaLedger(db), jobs=jobs,
            notices=NoticeService(db, jobs, titles, lambda session, user_id, kind: services._holds(
                session, user_id, kind), email_configured=bool(settings.smtp_url)),
            gate=IntakeGate(), intake=Intake(DEFAULT_DESTINATION),
            plans=PlanService(db, jobs, settings.default_quota_bytes, titles), ledger=Ledger(db),
            regions=RegionService(db, titles), retirements=RetirementService(db, jobs, lambda: services.kinds),
            notice_mail=NoticeMail(db, open_mailer(settings.smtp_url), EmailSettings(
                settings.mail_from, settings.public_url, settings.email_per_minute, settings.email_templates),
                lambda session, kind: services._kind_holders(session, kind),
                lambda notice, user_id: services.notice_facts(notice, user_id)),
        )
        services.plans.ensure_default()
        services.accounts.on_created.append(services.plans.apply_in)
        services.gate.add_rule(services.regions.check_intake)
        services.gate.add_rule(services.plans.check_intake)
        services.gate.add_rule(services.retirements.check_intake)
        for declared in KINDS:
            kind = services.kinds[declared.name] = declared.build(services)
            services.intake.add(kind.destinations)
            services.quota.add_source(lambda session, kind=kind: {
                owner: used.bytes for owner, used in kind.usage_by_owner(session).items()})
        services.quota.add_source(lambda session: services.uploads.reserved_bytes_by_user(session))
        services.accounts.kinds = list(services.kinds.values())
        return services

    def _kind_holders(self, session, kind: str) -> set[int]:
        """The users who keep data of this kind (notices about it are for them only)."""
        return {owner for owner, used in self.kind(kind).usage_by_owner(session).items() if used.items}

    def _holds(self, session, user_id: int, kind: str) -> bool:
        return self.kind(kind).usage(session, user_id).items > 0

    def kind(self, name: str) -> DataKind:
        try:
            return self.kinds[name]
        except KeyError:
            raise NotFound(f"no kind of data {name!r} on this server") from None

    def usage(self, user_id: int) -> dict:
        """What the user keeps of each kind: {kind: Usage}."""
        with self.db.read() as session:
            return {name: kind.usage(session, user_id) for name, kind in self.kinds.items()}

    def exports_since_announcements(self, user_id: int, notices) -> dict:
        """For each retirement whose notices are in force for the user: {retirement id: their newest export
        prepared since it was announced (portability.service.ExportStanding), or None}."""
        retirements = {notice.retirement_id for notice in notices if notice.retirement_id and notice.kind}
        return {plan_id: self.portability.standing(user_id, self.retirements.get(plan_id).announce_at)
                for plan_id in retirements}

    def notice_facts(self, notice, user_id: int) -> list[str]:
        """What a notice means for one user, as lines of their email: a deletion receipt's numbers, or what
        they keep of a retiring kind and whether they took an export of it since the announcement."""
        if notice.receipts_of:
            return self.retirements.receipt_lines(notice.receipts_of, user_id)
        if not (notice.retirement_id and notice.kind):
            return []
        with self.db.read() as session:
            kept = self.kind(notice.kind).usage(session, user_id)
        lines = [f"You keep {kept.items} items ({format_size(kept.bytes)}) of it."]
        taken = self.exports_since_announcements(user_id, [notice])[notice.retirement_id]
        if taken is None:
            lines.append("You have not downloaded an export of everything since this was announced.")
        elif taken.verified_at is not None:
            lines.append(f"Your export of everything as of {taken.snapshot_at:%-d %B %Y} was downloaded and "
                         f"verified on {taken.verified_at:%-d %B %Y}.")
        else:
            lines.append(f"Your export of everything as of {taken.snapshot_at:%-d %B %Y}: {taken.parts_downloaded} "
                         f"of {taken.parts} parts downloaded, not verified.")
        return lines

    def recovery(self):
        """Startup recovery (see maintenance.recovery), as `phonecloud serve` and `admin recover` run it."""
        from phonecloud.maintenance.recovery import RecoveryService

        return RecoveryService(self.db, self.blobs, list(self.kinds.values()), self.quota,
                               self.settings.staging_max_age_seconds, self.settings.orphan_min_age_seconds)

    @cached_property
    def uploads(self):
        """Resumable uploads (tus), finished into the intake's destinations; built once."""
        from phonecloud.uploads.service import UploadService

        settings = self.settings
        return UploadService(self.db, self.blobs, self.intake, self.quota, settings.max_upload_bytes,
                             dt.timedelta(seconds=settings.tus_expiry_seconds), settings.tus_checkpoint_bytes)

    @cached_property
    def portability(self):
        """Exports of whole libraries (see portability.service), made of every kind's sections."""
        from phonecloud.portability.service import PortabilityService

        sections = tuple(section for kind in self.kinds.values() for section in kind.export_sections)
        return PortabilityService(self.db, self.blobs, self.settings.export_part_size_bytes,
                                  self.settings.export_zip64_from_bytes, sections, self.jobs)

    @cached_property
    def deletions(self):
        """Account deletion (see accounts.deletion), over every kind and the server's own per-user data."""
        from phonecloud.accounts.deletion import DeletionService

        return DeletionService(self.db, self.blobs, self.jobs, self._holders(),
                               dt.timedelta(seconds=self.settings.job_lease_seconds))

    def _holders(self) -> list:
        from phonecloud.accounts.deletion import Holder

        return [Holder(kind.name, kind.purge_user, kind.rows_left) for kind in self.kinds.values()] + [
            Holder("uploads", self.uploads.purge_user, self.uploads.rows_left),
            Holder("exports", self.portability.purge_user, self.portability.rows_left),
        ]

    @cached_property
    def retirement_steps(self):
        """The scheduled steps of feature retirements (see retirement.steps)."""
        from phonecloud.retirement.steps import RetirementSteps

        def purge_beyond_the_kind(user_id: int, record, kind: DataKind) -> None:
            self.uploads.purge_user(user_id, record, {destination.name for destination in kind.destinations})
            self.portability.purge_user(user_id, record)  # every export holds the kind's data

        return RetirementSteps(self.db, self.blobs, self.retirements, self.notices, self.plans, self.ledger,
                               purge_beyond_the_kind, lambda: self.kinds)

    @cached_property
    def heartbeats(self):
        """Job worker processes' heartbeats (see jobs.heartbeat): written by their pools, read by the admin page."""
        from phonecloud.jobs.heartbeat import Heartbeats

        return Heartbeats(self.db, dt.timedelta(seconds=self.settings.worker_heartbeat_seconds))

    def workers(self, threads: int) -> WorkerPool:
        """Job workers for every kind of job this server knows; enqueueing in this process wakes them."""
        from phonecloud.accounts.deletion import DELETION_JOB
        from phonecloud.portability.jobs import EXPORT_JOB

        handlers = {EXPORT_JOB: lambda subject: self.portability.prepare(subject), SWEEP_JOB: self._sweep,
                    DELETION_JOB: lambda subject: self.deletions.run(subject), APPLY_JOB: self.plans.apply,
                    EMAIL_JOB: self.notice_mail.run, STEP_JOB: self.retirement_steps.run}
        for kind in self.kinds.values():
            handlers.update(kind.jobs)
        pool = WorkerPool(self.jobs, handlers, threads, heartbeats=self.heartbeats)
        self.jobs.wake = pool.wake
        for kind in self.kinds.values():
            kind.on_workers_start()
        self.jobs.schedule_every(SWEEP_JOB, self._sweep_interval)  # the sweeps' chain
        return pool

    @property
    def _sweep_interval(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.settings.sweep_interval_seconds)

    def _sweep(self, _subject: str) -> None:
        """The `maintenance.sweep` job: what a crashed process left goes now, then the next sweep is due."""
        self.recovery().sweep()
        self.jobs.schedule_every(SWEEP_JOB, self._sweep_interval)

    def close(self) -> None:
        for kind in self.kinds.values():
            for close in kind.closers:
                close()
        self.db.dispose()
