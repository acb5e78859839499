"""Rendering pages: the Jinja2 templates, the context every page shares, and the headers every page gets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from phonecloud.accounts.service import Principal
from phonecloud.core.errors import Forbidden, NotFound, PhonecloudError, Unauthorized
from phonecloud.core.http import services
from phonecloud.core.kinds import Kind, NavEntry
from phonecloud.core.limits import DEFAULT_BODY_LIMIT
from phonecloud.core.sizes import format_size
from phonecloud.web import session

TEMPLATES = Path(__file__).resolve().parent / "templates"
# No inline script or style anywhere: every script and style sheet is a file served from /static.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "private, no-cache",
}

MAX_FORM_BYTES = DEFAULT_BODY_LIMIT  # a page's form is a few fields; refused before it is read

_loader = ChoiceLoader([FileSystemLoader(TEMPLATES)])
_environment = Environment(loader=_loader, autoescape=select_autoescape(["html"]), trim_blocks=True,
                           lstrip_blocks=True)
_environment.filters.update(size=format_size, day=lambda moment: moment.strftime("%-d %b %Y"))
# The pages a phone's bottom bar links to directly (base.html); the others are under its "More".
_environment.globals["BOTTOM_PAGES"] = ("timeline", "albums", "search", "upload")
_nav: list[NavEntry] = []  # the kinds' entries, before the pages every account has
_move_pages: dict[str, str] = {}  # kind → the page that moves its data to another service


def add_kinds(kinds: Sequence[Kind]) -> None:
    """The kinds' templates (beside the shared ones), their filters and their navigation entries."""
    for kind in kinds:
        if kind.templates is not None and all(
                getattr(loader, "searchpath", None) != [str(kind.templates)] for loader in _loader.loaders):
            _loader.loaders.append(FileSystemLoader(kind.templates))
        _environment.filters.update(kind.template_filters())
        _nav.extend(entry for entry in kind.nav if entry not in _nav)
        if kind.move_page is not None:
            _move_pages[kind.name] = kind.move_page


class SignInRequired(Exception):
    """The page needs a signed-in user and the browser has no working session."""


def signed_in(request: Request) -> Principal:
    """The user behind the session cookie (a FastAPI dependency of every signed-in page)."""
    token = request.cookies.get(session.SESSION_COOKIE)
    if not token:
        raise SignInRequired()
    try:
        return services(request).accounts.authenticate(token)
    except (Unauthorized, Forbidden):  # expired, revoked, or the account was disabled
        raise SignInRequired() from None


def _with_cookies(response: Response, cookies: Response) -> Response:
    response.raw_headers.extend(header for header in cookies.raw_headers if header[0] == b"set-cookie")
    return response


def render(request: Request, template: str, me: Principal | None, status: int = 200, **context) -> HTMLResponse:
    """A whole page: the template with the signed-in user, the CSRF token, the notices in force and the
    message left by the previous action."""
    cookies = Response()
    secret = session.csrf_secret(request) if me is not None else session.ensure_presession(cookies, request)
    running = services(request)
    notices = running.notices.in_force(me.user_id if me else None)
    # a notice about a kind of data says what the user keeps of it: {kind: Usage}
    notice_usage = running.usage(me.user_id) if me is not None and any(notice.kind for notice in notices) else {}
    # a retirement's notice says whether an export was taken since: {retirement id: ExportStanding | None}
    notice_exports = running.exports_since_announcements(me.user_id, notices) if me is not None else {}
    html = _environment.get_template(template).render(
        request=request, me=me, csrf=session.csrf_token_for(secret or ""), nav=_nav, notices=notices,
        notice_usage=notice_usage, notice_exports=notice_exports, move_pages=_move_pages,
        flash=session.take_flash(request, cookies), **context)
    return _with_cookies(HTMLResponse(html, status, headers=SECURITY_HEADERS), cookies)


def fragment(template: str, **context) -> HTMLResponse:
    """A piece of a page fetched by its script (the next rows of a grid)."""
    return HTMLResponse(_environment.get_template(template).render(**context), headers=SECURITY_HEADERS)


def redirect(request: Request, to: str, ok: str | None = None, error: str | None = None) -> RedirectResponse:
    """303 to another page (after a form), with a message for it."""
    response = RedirectResponse(to, status_code=303)
    if ok or error:
        session.flash(response, request, "error" if error else "ok", error or ok)
    return response


def act(request: Request, back: str, action: Callable[[], str]) -> RedirectResponse:
    """Run a form's action, then back to the page with its message, or with the error that stopped it.
    An object that is not the user's is no form error: its 404 page answers, as on every other route."""
    try:
        message = action()
    except NotFound:
        raise
    except PhonecloudError as error:
        return redirect(request, back, error=error.message)
    return redirect(request, back, ok=message)


def local_path(target: str | None, default: str = "/") -> str:
    """Where a form may send the browser back to: a path on this site only (never //host or a URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


class WebRoute(APIRoute):
    """Every page's route: CSRF checked on state-changing requests, a sign-in redirect when the session is
    missing, and service errors shown as pages, not JSON."""

    csrf_exempt = False  # only CsrfExemptRoute, for a form whose own field is its secret

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            async def failed(status: int, message: str) -> Response:  # the page reads the database: not on the loop
                return await run_in_threadpool(error_page, request, status, message)

            if request.method not in session.SAFE_METHODS:
                length = request.headers.get("content-length", "")
                if not length.isdigit():  # browsers always declare a form's length
                    return await failed(411, "a form must be sent with its Content-Length")
                if int(length) > MAX_FORM_BYTES:  # a page's form is a few fields
                    return await failed(413, f"a form may send at most {MAX_FORM_BYTES} bytes")
                form = await request.form()  # kept by the request for the endpoint's own Form parameters
                presented = form.get(session.CSRF_FIELD) or request.headers.get(session.CSRF_HEADER)
                if not self.csrf_exempt and not session.csrf_valid(
                        request, presented if isinstance(presented, str) else None):
                    return await failed(403, "This form has expired or did not come from this site. "
                                             "Go back, reload the page and try again.")
            try:
                return await handler(request)
            except SignInRequired:
                response = RedirectResponse(f"/signin?next={quote(request.url.path)}", status_code=303)
                session.clear_session(response)
                return response
            except PhonecloudError as error:
                return await failed(error.status, error.message)
            except RequestValidationError as error:  # a malformed id names nothing; a malformed form is refused
                problems = "; ".join(str(problem["msg"]) for problem in error.errors())
                return await failed(404 if request.method in session.SAFE_METHODS else 422,
                                    f"invalid request: {problems}")

        return page


class CsrfExemptRoute(WebRoute):
    """A state-changing route without the CSRF check, for one kind of request only: a form that comes from
    outside any session (an email's unsubscribe link, RFC 8058's one-click POST from a mail client) and whose
    secret is a token of its own in the request. Everything else of WebRoute (the form's size limit, errors
    as pages) still holds. Use it per route (add_api_route's route_class_override), never for a router."""

    csrf_exempt = True


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    try:
        me = signed_in(request)
    except SignInRequired:
        me = None
    return render(request, "error.html", me, status=status, status_code=status, message=message)
