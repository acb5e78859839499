"""Albums shared with other users of the server (gallery/sharing): a viewer sees the album and opens its items;
a contributor also adds their own items and takes those out; neither changes the album or the owner's items.
The narrow path in the gallery's access checks: a member reads the items an album shared with them shows
(outside the trash), nothing else of the owner's; everything that changes an item stays its owner's. A
stranger gets 404 everywhere, as before."""

from __future__ import annotations

import uuid

import pytest

from gallery.test_sharing_links import album_of, photos

pytestmark = pytest.mark.in_process  # domain rules: the app in this process (tests/inprocess.py)

FILES = ("thumbnail", "preview", "original")


def share(owner, album: str, member, role: str) -> dict:
    answer = owner.http.put(f"/albums/{album}/members", json={"email": member.email, "role": role})
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def listed(user, album: str) -> set[str]:
    answer = user.http.get(f"/albums/{album}/assets")
    assert answer.status_code == 200, answer.text
    return {item["id"] for item in answer.json()["items"]}


def results(answer) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [item["result"] for item in answer.json()["results"]]


@pytest.fixture
def trio(accounts):
    owner, viewer, contributor = (accounts.create(name=name) for name in ("owner", "viewer", "contributor"))
    first, second, private = photos(owner, range(7501, 7504), settle=True)
    album = album_of(owner, [first, second], title="Family")
    assert share(owner, album, viewer, "viewer")["role"] == "viewer"
    share(owner, album, contributor, "contributor")
    return owner, viewer, contributor, album, (first, second, private)


def test_a_viewer_sees_the_album_and_its_items_and_changes_nothing(trio):
    owner, viewer, _, album, (first, second, private) = trio
    shared = viewer.http.get("/shared-albums").json()
    assert [(item["id"], item["title"], item["role"], item["owner"], item["asset_count"]) for item in shared] == [
        (album, "Family", "viewer", owner.email, 2)]
    assert viewer.http.get("/albums").json() == []  # not theirs: their own albums stay their own
    assert viewer.http.get(f"/albums/{album}").json()["title"] == "Family"
    assert listed(viewer, album) == {first, second}
    for asset_id in (first, second):
        for name in FILES:
            assert viewer.http.get(f"/assets/{asset_id}/{name}").status_code == 200, name
    for name in FILES:  # the owner's item that is in no shared album
        assert viewer.http.get(f"/assets/{private}/{name}").status_code == 404
    mine = photos(viewer, range(7504, 7505))[0]
    assert viewer.http.put(f"/albums/{album}/assets", json={"asset_ids": [mine]}).status_code == 403
    assert viewer.http.request("DELETE", f"/albums/{album}/assets", json={"asset_ids": [first]}).status_code == 403
    for method, path, body in [("PATCH", f"/albums/{album}", {"title": "Mine"}), ("DELETE", f"/albums/{album}", None),
                               ("GET", f"/albums/{album}/members", None),
                               ("PUT", f"/albums/{album}/members", {"email": viewer.email, "role": "contributor"}),
                               ("POST", f"/assets/{first}/trash", None), ("PUT", f"/assets/{first}/favorite", None),
                               ("PATCH", f"/assets/{first}", {"description": "mine"}),
                               ("DELETE", f"/assets/{first}", None),
                               ("GET", f"/assets/{first}", None), ("POST", "/shares", {"album_id": album})]:
        answer = viewer.http.request(method, path, json=body)
        assert answer.status_code == 404, (method, path, answer.text)
    assert listed(owner, album) == {first, second}
    assert owner.http.get(f"/assets/{first}").json()["trashed"] is False
    assert owner.http.get(f"/albums/{album}").json()["title"] == "Family"


def test_a_contributor_adds_and_takes_out_their_own_items_only(trio):
    owner, viewer, contributor, album, (first, second, private) = trio
    theirs, kept_out = photos(contributor, range(7511, 7513), settle=True)
    answer = contributor.http.put(f"/albums/{album}/assets", json={"asset_ids": [theirs, private, first]})
    assert results(answer) == ["added", "not_found", "not_found"]  # only their own goes in
    for member in (owner, viewer, contributor):
        assert listed(member, album) == {first, second, theirs}
        assert member.http.get(f"/assets/{theirs}/thumbnail").status_code == 200
    assert owner.http.get(f"/assets/{kept_out}/original").status_code == 404
    assert owner.http.get(f"/albums/{album}").json()["asset_count"] == 3
    # Theirs stays theirs: the owner sees it, cannot change it; the contributor cannot take the owner's out.
    assert owner.http.post(f"/assets/{theirs}/trash").status_code == 404
    removal = contributor.http.request("DELETE", f"/albums/{album}/assets", json={"asset_ids": [first, theirs]})
    assert results(removal) == ["not_found", "removed"]
    assert listed(owner, album) == {first, second}
    for method, path in [("DELETE", f"/albums/{album}"), ("PATCH", f"/albums/{album}"),
                         ("POST", f"/assets/{first}/trash")]:
        assert contributor.http.request(method, path, json={"title": "x"} if method == "PATCH" else None
                                        ).status_code == 404, (method, path)
    # The owner may take anybody's item out of their album.
    contributor.http.put(f"/albums/{album}/assets", json={"asset_ids": [theirs]})
    assert results(owner.http.request("DELETE", f"/albums/{album}/assets", json={"asset_ids": [theirs]})) == ["removed"]
    assert listed(contributor, album) == {first, second}
    assert contributor.http.get(f"/assets/{theirs}").status_code == 200  # still in their library


def test_items_in_the_trash_are_hidden_from_members(trio):
    owner, viewer, contributor, album, (first, second, _) = trio
    theirs = photos(contributor, range(7521, 7522))[0]
    contributor.http.put(f"/albums/{album}/assets", json={"asset_ids": [theirs]})
    owner.http.post(f"/assets/{first}/trash")
    contributor.http.post(f"/assets/{theirs}/trash")
    for member in (owner, viewer, contributor):
        assert listed(member, album) == {second}
    assert viewer.http.get(f"/assets/{first}/original").status_code == 404
    assert owner.http.get(f"/assets/{theirs}/original").status_code == 404
    assert owner.http.get(f"/assets/{first}/original").status_code == 200  # the owner's own, in their trash
    owner.http.post(f"/assets/{first}/restore")
    assert viewer.http.get(f"/assets/{first}/original").status_code == 200


def test_a_stranger_gets_404_everywhere(trio, accounts):
    owner, _, contributor, album, (first, _, _) = trio
    theirs = photos(contributor, range(7531, 7532))[0]
    contributor.http.put(f"/albums/{album}/assets", json={"asset_ids": [theirs]})
    stranger = accounts.create(name="stranger")
    for method, path in [("GET", f"/albums/{album}"), ("GET", f"/albums/{album}/assets"),
                         ("GET", f"/albums/{album}/members"), ("DELETE", f"/shared-albums/{album}"),
                         *[("GET", f"/assets/{asset}/{name}") for asset in (first, theirs) for name in FILES]]:
        answer = stranger.http.request(method, path)
        assert answer.status_code == 404, (method, path, answer.text)
    assert stranger.http.put(f"/albums/{album}/assets", json={"asset_ids": [first]}).status_code == 404
    assert stranger.http.put(f"/albums/{album}/members", json={"email": stranger.email, "role": "viewer"}
                             ).status_code == 404
    assert stranger.http.request("DELETE", f"/albums/{album}/members", json={"email": contributor.email}
                                 ).status_code == 404
    assert stranger.http.get("/shared-albums").json() == []
    assert {member["email"] for member in owner.http.get(f"/albums/{album}/members").json()} == {
        member.email for member in trio[1:3]}


def test_the_owner_changes_roles_and_stops_sharing_and_a_member_may_leave(trio):
    owner, viewer, contributor, album, (first, second, _) = trio
    assert [(m["email"], m["role"]) for m in owner.http.get(f"/albums/{album}/members").json()] == [
        (viewer.email, "viewer"), (contributor.email, "contributor")]
    mine = photos(viewer, range(7541, 7542))[0]
    promoted = owner.http.put(f"/albums/{album}/members", json={"email": viewer.email, "role": "contributor"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "contributor"
    assert results(viewer.http.put(f"/albums/{album}/assets", json={"asset_ids": [mine]})) == ["added"]
    theirs = photos(contributor, range(7542, 7543))[0]
    contributor.http.put(f"/albums/{album}/assets", json={"asset_ids": [theirs]})
    assert listed(owner, album) == {first, second, mine, theirs}
    # Stopping: the member loses the album at once, and what they added leaves it.
    assert owner.http.request("DELETE", f"/albums/{album}/members", json={"email": viewer.email}).status_code == 204
    assert viewer.http.get(f"/albums/{album}").status_code == 404
    assert viewer.http.get(f"/assets/{first}/original").status_code == 404
    assert viewer.http.get("/shared-albums").json() == []
    assert listed(owner, album) == {first, second, theirs}
    assert viewer.http.get(f"/assets/{mine}").status_code == 200  # in their library still
    # Leaving: the same, by the member.
    assert contributor.http.delete(f"/shared-albums/{album}").status_code == 204
    assert contributor.http.get(f"/albums/{album}/assets").status_code == 404
    assert listed(owner, album) == {first, second}
    assert owner.http.get(f"/albums/{album}/members").json() == []
    assert owner.http.delete(f"/shared-albums/{album}").status_code == 404  # an owner does not leave their album


def test_sharing_names_a_user_of_the_server_and_never_the_owner(trio, accounts):
    owner, _, _, album, _ = trio
    refusals = [({"email": "nobody@example.org", "role": "viewer"}, 400, "no user with email"),
                ({"email": owner.email, "role": "viewer"}, 400, "your own album"),
                ({"email": "not an email", "role": "viewer"}, 400, "not an email address"),
                ({"email": accounts.create().email, "role": "editor"}, 422, "body.role")]
    for body, status, words in refusals:
        answer = owner.http.put(f"/albums/{album}/members", json=body)
        assert answer.status_code == status, (body, answer.text)
        assert words in answer.json()["message"]
    gone = owner.http.request("DELETE", f"/albums/{album}/members", json={"email": "nobody@example.org"})
    assert gone.status_code == 400 and "not shared with" in gone.json()["message"]
    assert owner.http.put(f"/albums/{uuid.UUID(int=9)}/members", json=refusals[3][0] | {"role": "viewer"}
                          ).status_code == 404


def test_deleting_a_shared_album_ends_its_sharing_and_its_links(trio, server):
    owner, viewer, contributor, album, (first, _, _) = trio
    from gallery.test_sharing_links import anonymous, link

    _, path = link(owner, album_id=album)
    assert owner.http.delete(f"/albums/{album}").status_code == 204
    assert viewer.http.get("/shared-albums").json() == []
    assert contributor.http.get(f"/albums/{album}").status_code == 404
    assert viewer.http.get(f"/assets/{first}/original").status_code == 404
    assert anonymous(server).get(path).status_code == 404
    assert owner.http.get("/shares").json() == []


def test_an_owners_export_keeps_only_their_own_items_in_a_shared_album(trio, accounts):
    from sqlalchemy import select

    from phonecloud.accounts.models import User
    from phonecloud.gallery.export import albums_of

    owner, _, contributor, album, (first, second, _) = trio
    theirs = photos(contributor, range(7551, 7552))[0]
    contributor.http.put(f"/albums/{album}/assets", json={"asset_ids": [theirs]})
    with accounts.services.db.read() as session:
        _, members = albums_of(session, session.scalar(select(User.id).where(User.email == owner.email)))
    assert set(members[album]) == {first, second}  # theirs is in their own export, not in the owner's album
