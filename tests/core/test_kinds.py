"""The data-kind registry, in process (no server needed): every kind is bound at start, the intake sends an
upload that names no destination to the registry's default, and the intake gate that plans and feature
retirement will use stops a kind's new data, plain or resumable, before a byte is read."""

from __future__ import annotations

import datetime as dt

import pytest

from phonecloud.accounts.service import Principal
from phonecloud.core.errors import BadRequest, Forbidden
from phonecloud.core.settings import Settings
from phonecloud.server.container import Services
from phonecloud.server.kinds import DEFAULT_DESTINATION, KINDS
from phonecloud.uploads.intake import IntakeMeta


@pytest.fixture
def services(tmp_path):
    started = Services.start(Settings(data_dir=tmp_path / "data", embedded_workers=0))
    yield started
    started.close()


def test_every_registered_kind_is_bound_with_an_export_section_and_its_uploads_destinations(services):
    assert list(services.kinds) == [kind.name for kind in KINDS]
    for kind in services.kinds.values():
        assert kind.export_sections  # everything a user keeps can be taken out
        assert all(services.intake.destination(destination.name) is destination for destination in kind.destinations)
    assert services.intake.destination(None).name == DEFAULT_DESTINATION
    with pytest.raises(BadRequest, match="no upload destination 'nowhere'"):
        services.intake.destination("nowhere")


def test_the_intake_gate_stops_new_data_of_one_kind(services):
    user = services.accounts.create_user("gate@example.org", "correct horse battery")
    principal = Principal(user.id, user.email, is_admin=False)
    meta = IntakeMeta("IMG_1.jpg", dt.datetime(2022, 1, 1, tzinfo=dt.UTC))
    gallery = services.intake.destination("gallery")
    gallery.check(principal, meta)  # open

    def retired(caller: Principal, kind: str) -> None:
        if kind == "gallery":
            raise Forbidden("the gallery takes no new photos in your region")

    services.gate.add_rule(retired)
    with pytest.raises(Forbidden, match="no new photos"):
        gallery.check(principal, meta)
    with pytest.raises(Forbidden, match="no new photos"):
        services.uploads.create(principal, 1000, None)  # a resumable upload, refused before it reserves
    assert services.quota.room(user.id) == user.quota_bytes  # nothing was reserved
    assert services.usage(user.id)["gallery"].items == 0
