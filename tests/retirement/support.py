"""What the retirement tests share: the due jobs of a retirement run in this process as a worker would run
them (the `clock` fixture, which moves time for one test, is in tests/conftest.py)."""

from __future__ import annotations

from phonecloud.notices.service import EMAIL_JOB
from phonecloud.plans.service import APPLY_JOB
from phonecloud.retirement.service import STEP_JOB


def run_due_jobs(services) -> list[str]:
    """Run every due job of the retirement's kinds, as a worker would; the subjects run."""
    handlers = {STEP_JOB: services.retirement_steps.run, EMAIL_JOB: services.notice_mail.run,
                APPLY_JOB: services.plans.apply}
    ran = []
    while (claimed := services.jobs.claim("test", list(handlers))) is not None:
        handlers[claimed.kind](claimed.subject)
        services.jobs.complete(claimed)
        ran.append(claimed.subject)
    return ran
