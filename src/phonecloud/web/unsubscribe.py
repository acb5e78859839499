"""The page a notice email's unsubscribe link opens (no sign-in: the link's token is the secret).

GET only shows a button: link scanners and mail previews fetch links, and must unsubscribe nobody. The
button POSTs the token; so does a mail client's RFC 8058 one-click unsubscribe (a POST of
`List-Unsubscribe=One-Click` to the link itself, the token in its query string). Neither comes with a
session, so that one route, and only it, is exempt from the CSRF check (pages.CsrfExemptRoute): a forged
request would need the token, and the token is all it takes anyway.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Query, Request

from phonecloud.core.errors import BadRequest
from phonecloud.core.http import services
from phonecloud.web.pages import CsrfExemptRoute, WebRoute, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
MAX_TOKEN_CHARS = 100  # the tokens are 43 characters (secrets.token_urlsafe(32))


@router.get("/unsubscribe")
def unsubscribe_page(request: Request, token: str = Query(default="", max_length=MAX_TOKEN_CHARS)):
    if not token:
        return render(request, "unsubscribe.html", None, status=400,
                      error="This unsubscribe link is incomplete: open the whole link from the email.")
    return render(request, "unsubscribe.html", None, token=token)


def unsubscribe(request: Request, token: str = Form(default="", max_length=MAX_TOKEN_CHARS),
                query_token: str = Query(default="", alias="token", max_length=MAX_TOKEN_CHARS)):
    """The button's form (field `token`), or RFC 8058's one-click POST (the token in the query string)."""
    try:
        email = services(request).notice_mail.unsubscribe(token or query_token)
    except BadRequest as refused:
        return render(request, "unsubscribe.html", None, status=400, error=refused.message)
    return render(request, "unsubscribe.html", None, unsubscribed=email)


router.add_api_route("/unsubscribe", unsubscribe, methods=["POST"], route_class_override=CsrfExemptRoute)
