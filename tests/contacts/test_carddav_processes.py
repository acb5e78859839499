"""CardDAV served by two API processes on one PostgreSQL database and one S3 bucket, as behind a load
balancer: a phone and a desktop write through different processes at once, and each sees the other's changes
in order, with exact usage and no duplicate UID."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from contacts.dav_helpers import book_path, dav_client, sync_collection, vcard


def test_two_processes_serve_one_address_book_consistently(two_api_processes):
    servers, accounts = two_api_processes
    user = accounts.create()
    path = book_path(user.email)
    with dav_client(servers[0], user.email, user.key) as first, dav_client(servers[1], user.email, user.key) as second:
        token, _ = sync_collection(first, path)
        clients = [first, second]

        def put(number: int) -> int:
            return clients[number % 2].put(f"{path}n{number}.vcf", content=vcard(f"uid-n{number}", f"Name {number}"),
                                           headers={"Content-Type": "text/vcard"}).status_code

        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(put, range(40))) == [201] * 40
        token_first, changed_first = sync_collection(first, path, token)
        token_second, changed_second = sync_collection(second, path, token)
        assert token_first == token_second
        assert sorted(changed_first) == sorted(changed_second) == sorted(f"{path}n{number}.vcf" for number in range(40))
        assert second.delete(f"{path}n7.vcf").status_code in (200, 204)
        _, after_delete = sync_collection(first, path, token_first)
        assert list(after_delete) == [f"{path}n7.vcf"]
    me = user.http.get("/me").json()
    assert me["usage"]["contacts"]["items"] == 39
    assert me["used_bytes"] == me["usage"]["contacts"]["bytes"] > 0


def test_one_uid_put_at_two_names_through_two_processes_at_once_is_kept_once(two_api_processes):
    servers, accounts = two_api_processes
    user = accounts.create()
    path = book_path(user.email)
    with dav_client(servers[0], user.email, user.key) as first, dav_client(servers[1], user.email, user.key) as second:
        def put(attempt: int) -> int:
            client = (first, second)[attempt % 2]
            return client.put(f"{path}same-{attempt}.vcf", content=vcard("uid-same", f"Same {attempt}"),
                              headers={"Content-Type": "text/vcard"}).status_code

        with ThreadPoolExecutor(6) as pool:
            statuses = list(pool.map(put, range(6)))
    assert statuses.count(201) == 1, statuses
    assert all(status in (201, 400, 409) for status in statuses), statuses
    assert user.http.get("/contacts").json()["total"] == 1
