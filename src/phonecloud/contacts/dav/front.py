"""The CardDAV endpoint as an ASGI application mounted at /dav: phonecloud's sign-in in front, Radicale behind.

Sign-in happens here rather than in a Radicale auth plugin so that a throttled client gets 429 with
Retry-After (a plugin can only say yes or no). Radicale then takes the signed-in user from the X-Remote-User
header through its own `http_x_remote_user` auth (the reverse-proxy setup its documentation describes);
whatever a client sends under that name, in any spelling, is removed first.

Bodies are read and checked here too, before Radicale sees them: XML ones (small: a PROPFIND, a REPORT)
must be accepted by defusedxml without a DTD, vCards must be UTF-8, and each kind has its size limit (413).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Iterable
from xml.etree.ElementTree import ParseError

from a2wsgi import WSGIMiddleware
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as defused
from radicale import Application, config
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

from phonecloud.accounts.addresses import client_address
from phonecloud.accounts.basic import BasicSignIn
from phonecloud.accounts.throttle import LoginThrottled
from phonecloud.contacts.dav import caller
from phonecloud.contacts.dav.rights import OwnCollectionsOnly
from phonecloud.contacts.dav.storage import Storage
from phonecloud.contacts.service import MAX_VCARD_BYTES, ContactsService
from phonecloud.core.errors import BadRequest, PhonecloudError, TooLarge, Unauthorized

MOUNT = "/dav"
REALM = 'Basic realm="phonecloud CardDAV", charset="UTF-8"'
_USER_HEADER = b"x-remote-user"
_SCOPE_KEY = "phonecloud.dav_principal"
MAX_XML_BYTES = 1 << 20  # a multiget of thousands of hrefs fits well
MAX_PUT_BYTES = 4 * MAX_VCARD_BYTES


def radicale_configuration(contacts: ContactsService) -> config.Configuration:
    configuration = config.load()
    started = dt.datetime.now(dt.timezone.utc)
    configuration.update({
        "auth": {"type": "http_x_remote_user", "delay": "0"},
        "rights": {"type": OwnCollectionsOnly},
        "storage": {"type": lambda conf: Storage(conf, contacts, started)},
        "web": {"type": "none"},
        "server": {"max_content_length": str(MAX_PUT_BYTES), "max_resource_size": str(MAX_VCARD_BYTES)},
        "logging": {"level": "warning", "mask_passwords": "True"},
    }, "phonecloud", privileged=True)
    return configuration


class CardDav:
    """Radicale over the contacts service, with phonecloud's sign-in in front."""

    def __init__(self, contacts: ContactsService, sign_in: BasicSignIn, trusted_proxies: int):
        self.sign_in = sign_in
        self.trusted_proxies = trusted_proxies
        radicale = Application(radicale_configuration(contacts))

        def as_caller(environ, start_response) -> Iterable[bytes]:
            # Radicale handles a request whole in this thread and returns its body as a list.
            with caller.serving(environ["asgi.scope"][_SCOPE_KEY]):
                return radicale(environ, start_response)

        self.wsgi = WSGIMiddleware(as_caller, workers=8)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(name, value) for name, value in scope["headers"]
                   if name.replace(b"_", b"-").lower() != _USER_HEADER]
        try:
            email, secret = _basic_credentials(headers)
            address = client_address(scope["client"][0] if scope.get("client") else None,
                                     [value.decode("latin-1") for name, value in headers
                                      if name == b"x-forwarded-for"], self.trusted_proxies)
            principal = await run_in_threadpool(self.sign_in.verify, email, secret, address)
        except PhonecloudError as refused:
            return await _refusal(refused)(scope, receive, send)
        check = _BODY_CHECKS.get(scope["method"])
        if check is not None:
            try:
                receive = await _checked_body(receive, *check(scope["path"]))
            except PhonecloudError as refused:
                return await _refusal(refused)(scope, receive, send)
        headers.append((_USER_HEADER, principal.email.encode("utf-8")))
        await self.wsgi({**scope, "headers": headers, _SCOPE_KEY: principal}, receive, send)


async def _checked_body(receive: Receive, limit: int, what: str, check) -> Receive:
    """The body, read whole (Radicale reads it whole too) up to `limit` and checked; a receive that hands it
    on unchanged."""
    body = bytearray()
    while True:
        message = await receive()
        body += message.get("body", b"")
        if len(body) > limit:
            raise TooLarge(f"{what} over {limit} bytes", limit=limit)
        if not message.get("more_body", False):
            break
    check(bytes(body))
    handed = False

    async def replay() -> Message:
        nonlocal handed
        if handed:
            return await receive()
        handed = True
        return {"type": "http.request", "body": bytes(body), "more_body": False}

    return replay


def _plain_xml(body: bytes) -> None:
    if body.strip():
        try:
            defused.fromstring(body, forbid_dtd=True)
        except (DefusedXmlException, ParseError) as error:
            raise BadRequest(f"the request body is not plain XML: {error}") from None


def _utf8(body: bytes) -> None:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequest(f"vCards are sent in UTF-8; byte {error.start} of this one is not") from None


def _xml_body(_path: str):
    return MAX_XML_BYTES, "a WebDAV request body", _plain_xml


def _put_body(path: str):
    # one contact at a time (the usual PUT), or a whole address book put at the book's path
    one_contact = path.rstrip("/").count("/") >= 4  # /dav/{email}/{book}/{contact}
    return (MAX_VCARD_BYTES, "a contact", _utf8) if one_contact else (MAX_PUT_BYTES, "an address book", _utf8)


_BODY_CHECKS = {**{method: _xml_body for method in ("PROPFIND", "PROPPATCH", "REPORT", "MKCOL", "MKCALENDAR")},
                "PUT": _put_body}


def _basic_credentials(headers: list[tuple[bytes, bytes]]) -> tuple[str, str]:
    value = next((value for name, value in headers if name == b"authorization"), b"")
    scheme, _, encoded = value.partition(b" ")
    if scheme.lower() != b"basic":
        raise Unauthorized("sign in with your email and an app password (an API key) or your password")
    try:
        email, colon, secret = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("the Authorization header is not valid Basic credentials") from None
    if not colon or not email or not secret:
        raise Unauthorized("the Authorization header is not valid Basic credentials")
    return email, secret


def _refusal(error: PhonecloudError) -> Response:
    headers = {}
    if error.status == 401:
        headers["WWW-Authenticate"] = REALM
    if isinstance(error, LoginThrottled):
        headers["Retry-After"] = str(error.details.get("retry_after", 60))
    return JSONResponse(error.to_json(), status_code=error.status, headers=headers)
