"""What the scale-out run leaves to the embedded one (tests/scaleout.py) names tests that exist: a module
renamed or moved must not silently come back into, or drop out of, the PostgreSQL and S3 run."""

from pathlib import Path

from scaleout import KEPT_ON_EVERY_BACKEND, LEFT_TO_THE_WHOLE_RUN, SAME_ON_EVERY_BACKEND

TESTS = Path(__file__).resolve().parent.parent


def test_every_path_left_out_of_the_scaleout_run_names_test_modules():
    modules = [path.relative_to(TESTS).as_posix() for path in TESTS.rglob("test_*.py")]
    for prefix in SAME_ON_EVERY_BACKEND + KEPT_ON_EVERY_BACKEND + LEFT_TO_THE_WHOLE_RUN:
        assert any(module.startswith(prefix) for module in modules), prefix


def test_the_pages_kept_on_the_scaleout_run_are_among_those_left_out_otherwise():
    for kept in KEPT_ON_EVERY_BACKEND:
        assert kept.startswith(SAME_ON_EVERY_BACKEND) and (TESTS / kept).is_file(), kept
