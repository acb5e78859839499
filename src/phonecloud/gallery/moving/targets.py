"""Where a move started from the web app may go, and the destination (client/migrate) it becomes.

- Another phonecloud or an Immich server: its URL and an API key of the user's account there.
- A WebDAV server or an S3 bucket, written through rclone. The server never runs rclone with a remote or
  option a user wrote (rclone options can name local files or run commands): the job builds the remote
  itself, as rclone's environment variables, over an empty config, with the password obscured as rclone
  wants it.
- Google Photos: the user's consent on Google's page (the operator's OAuth client, PHONECLOUD_GOOGLE_CLIENT)
  gives a refresh token, which the job uses and never asks for again.
- A target must resolve to public addresses only, unless the operator allows the server's own networks
  (PHONECLOUD_MOVES_TO_PRIVATE_ADDRESSES): a move must not become a way into them.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import secrets
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from phonecloud.client.config import Connection
from phonecloud.client.errors import NO_STATUS, ServerError
from phonecloud.client.migrate.google_auth import OAuthClient, save_sign_in
from phonecloud.client.migrate.to_google import GooglePhotosDestination
from phonecloud.client.migrate.to_immich import ImmichDestination
from phonecloud.client.migrate.to_phonecloud import PhonecloudDestination
from phonecloud.client.migrate.to_rclone import RcloneDestination, rclone_binary
from phonecloud.core.errors import BadRequest

TARGETS = ("phonecloud", "immich", "webdav", "s3")  # and google-photos, signed in through Google's consent
GOOGLE_PHOTOS = "google-photos"
SECRETS = ("password", "secret_key", "refresh_token")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
TRANSFERS = 4
# rclone's WebDAV vendors: which ones keep modification times (and so dates are checked on arrival).
WEBDAV_VENDORS = ("other", "nextcloud", "owncloud", "sharepoint", "fastmail", "rclone")


@dataclass(frozen=True)
class Target:
    kind: str
    label: str  # for people: no secret in it
    credentials: dict = field(repr=False)  # what the job needs to reach it: kept only while the move may run

    @property
    def digest(self) -> str:
        """The same for every move to the same place as the same account there. Of no password or secret
        key (a hash kept for ever must not let anyone try guesses): the account is the user name or access
        key; an API key (random, unguessable) names its account by itself."""
        kept = {name: value for name, value in self.credentials.items() if name not in SECRETS}
        return hashlib.sha256(json.dumps([self.kind, kept], sort_keys=True).encode()).hexdigest()


def target_of(kind: str, fields: dict, private_allowed: bool) -> Target:
    """The target a user asked for, checked: a BadRequest naming the field that is wrong."""
    if kind not in TARGETS:
        raise BadRequest(f"target: give one of {', '.join(TARGETS)}", field="target")
    url = _url(fields.get("url"), private_allowed)
    if kind in ("phonecloud", "immich"):
        key = _text(fields, "key", "an API key of your account there")
        title = "phonecloud" if kind == "phonecloud" else "Immich"
        return Target(kind, f"{title} at {url}", {"url": url, "key": key})
    path = _text(fields, "path", "the folder there (WebDAV) or bucket/folder (S3)").strip("/")
    if not path:
        raise BadRequest("path: give the folder there (WebDAV) or bucket/folder (S3)", field="path")
    if kind == "webdav":
        vendor = fields.get("vendor") or "other"
        if vendor not in WEBDAV_VENDORS:
            raise BadRequest(f"vendor: give one of {', '.join(WEBDAV_VENDORS)}", field="vendor")
        credentials = {"url": url, "user": _text(fields, "user", "the user name", optional=True),
                       "password": _text(fields, "password", "the password", optional=True), "vendor": vendor,
                       "path": path}
        return Target(kind, f"WebDAV at {url}/{path}", credentials)
    if not path.split("/")[0]:
        raise BadRequest("path: give the bucket, and a folder in it if you like: bucket/folder", field="path")
    credentials = {"url": url, "access_key": _text(fields, "access_key", "the access key ID"),
                   "secret_key": _text(fields, "secret_key", "the secret access key"),
                   "region": _text(fields, "region", "the region", optional=True), "path": path}
    return Target(kind, f"S3 at {url} {path}", credentials)


def google_photos(answer: dict) -> Target:
    """Google Photos, as the user's consent allowed it (the token endpoint's answer)."""
    return Target(GOOGLE_PHOTOS, "Google Photos", {"refresh_token": answer["refresh_token"],
                                                   "scope": answer["scope"], "sign_in": secrets.token_hex(8)})


def destination_for(target: Target, source, reporter, workdir: Path, google_client: Path | None):
    credentials = target.credentials
    if target.kind == GOOGLE_PHOTOS:
        if google_client is None:
            raise ServerError(NO_STATUS, "not_configured", "this server no longer moves libraries to Google Photos")
        token_file = workdir / "google-sign-in.json"
        save_sign_in(token_file, credentials, credentials["sign_in"])
        return GooglePhotosDestination(source, OAuthClient.from_file(google_client), TRANSFERS, reporter, token_file)
    if target.kind == "phonecloud":
        return PhonecloudDestination(source, Connection(credentials["url"], credentials["key"]), TRANSFERS, reporter,
                                     workdir)
    if target.kind == "immich":
        return ImmichDestination(source, credentials["url"], credentials["key"], TRANSFERS, reporter)
    environment, remote = _rclone_remote(target, workdir)
    return RcloneDestination(source, remote, TRANSFERS, reporter, workdir, environment)


def _rclone_remote(target: Target, workdir: Path) -> tuple[dict[str, str], str]:
    """rclone's environment (an empty config, the remote's options) and the remote: an on-the-fly `:webdav:`
    or `:s3:` configured by those variables alone."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "rclone.conf"
    config.write_text("")
    credentials = target.credentials
    environment = {"RCLONE_CONFIG": str(config), "HOME": str(workdir), "PATH": "/usr/bin:/bin"}
    if target.kind == "webdav":
        environment |= {"RCLONE_WEBDAV_URL": credentials["url"], "RCLONE_WEBDAV_VENDOR": credentials["vendor"],
                        "RCLONE_WEBDAV_USER": credentials["user"],
                        "RCLONE_WEBDAV_PASS": _obscured(credentials["password"]) if credentials["password"] else ""}
    else:
        environment |= {"RCLONE_S3_PROVIDER": "Other", "RCLONE_S3_ENDPOINT": credentials["url"],
                        "RCLONE_S3_ACCESS_KEY_ID": credentials["access_key"],
                        "RCLONE_S3_SECRET_ACCESS_KEY": credentials["secret_key"],
                        "RCLONE_S3_REGION": credentials["region"], "RCLONE_S3_ENV_AUTH": "false"}
    return environment, f":{target.kind}:{credentials['path']}"


def _obscured(password: str) -> str:
    done = subprocess.run([rclone_binary(), "obscure", "-"], input=password, capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin"}, check=True)
    return done.stdout.strip()


def _text(fields: dict, name: str, what: str, optional: bool = False) -> str:
    """A field's text: given unless optional, at most 4,096 characters, and no control characters (it goes
    into an environment variable or a header)."""
    value = fields.get(name) or ""
    if not isinstance(value, str) or (not optional and not value.strip()) or len(value) > 4096 or any(
            ord(char) < 32 or char == "\x7f" for char in value):
        raise BadRequest(f"{name}: give {what}, on one line", field=name)
    return value.strip() if name != "password" else value


def _url(value, private_allowed: bool) -> str:
    """The address as it will be used (normalised: an ASCII host, a valid port), checked to be public."""
    wrong = BadRequest("url: give an http:// or https:// address, such as https://photos.example.org, with no user "
                       "name or password in it", field="url")
    if not isinstance(value, str) or len(value) > 2048 or any(ord(char) < 33 or char == "\x7f" for char in value):
        raise wrong
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise wrong from None
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        raise wrong
    if not host.isascii():  # resolvers and HTTP clients spell such names differently: say which is meant
        raise BadRequest(f"url: write the host name {host} in its ASCII form (xn--…)", field="url")
    netloc = (f"[{host}]" if ":" in host else host) + (f":{port}" if port is not None else "")
    address = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    if not private_allowed:
        check_public(address)
    return address


def check_public(url: str) -> None:
    """BadRequest unless every address the URL's host has is a public one (also those inside IPv6 ways of
    writing an IPv4 address: mapped, 6to4, Teredo, NAT64)."""
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, port)}
    except (OSError, UnicodeError):
        raise BadRequest(f"url: {host} is not a name this server can find", field="url") from None
    if not found or not all(_public(ipaddress.ip_address(address.split("%")[0])) for address in found):
        raise BadRequest(f"url: {host} is on a private network; this server sends moves to public addresses only",
                         field="url")


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if inner is None and address in NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None and not _public(inner):
            return False
    return address.is_global
