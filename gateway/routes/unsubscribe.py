"""``/u/{token}``: the one-click unsubscribe link of a non-transactional email (RFC 8058, docs/api.md
"Unsubscribe"). No credentials, no cookie: the signed token is the authority. ``POST`` (any body, any content
type, at most 1 KiB) opts out at once and answers 200 without a redirect, as RFC 8058 wants of a link a mail
provider follows; ``GET`` only shows a page whose button POSTs the same URL (a link scanner that GETs every
URL must not unsubscribe anyone)."""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter, Path
from starlette.responses import HTMLResponse

from gateway.deps import ResourcesDep
from gateway.routes.docs import problems
from unsubscribe.tokens import MAX_TOKEN_CHARS

router = APIRouter(prefix="/u", tags=["unsubscribe"])

Token = Annotated[str, Path(max_length=MAX_TOKEN_CHARS, description="The token of the email's List-Unsubscribe URL.")]
HTML_PAGE: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": {}}, "description": "A short page."}}
BAD_LINK = {
    404: "The link is not valid (malformed, forged, or signed by a retired key).",
    422: f"The token is over {MAX_TOKEN_CHARS} characters.",
}
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta name="viewport" content="width=device-width"></head><body><h1>{title}</h1>{body}</body></html>',
        headers=_HEADERS,
    )


@router.get(
    "/{token}",
    response_class=HTMLResponse,
    summary="Confirm unsubscribing",
    responses={**HTML_PAGE, **problems(404, 422, descriptions=BAD_LINK)},
)
async def confirm_unsubscribe(token: Token, resources: ResourcesDep) -> HTMLResponse:
    """A page with a button that POSTs this URL; it changes nothing."""
    found = resources.unsubscriber.read(token)
    category = html.escape(found.category)
    return _page(
        "Unsubscribe",
        f"<p>Stop emails of the category <strong>{category}</strong>?</p>"
        '<form method="post"><button type="submit">Unsubscribe</button></form>',
    )


@router.post(
    "/{token}",
    response_class=HTMLResponse,
    summary="Unsubscribe with one click",
    responses={
        **HTML_PAGE,
        **problems(404, 413, 422, 503, descriptions={**BAD_LINK, 413: "The body is over 1 KiB."}),
    },
)
async def unsubscribe(token: Token, resources: ResourcesDep) -> HTMLResponse:
    """Opt the token's user out of its category's email at once (RFC 8058 one-click); repeating it is harmless.
    Transactional email still flows: this is never a suppression."""
    found = resources.unsubscriber.read(token)
    await resources.unsubscriber.apply(found)
    category = html.escape(found.category)
    return _page("Unsubscribed", f"<p>You will get no more emails of the category <strong>{category}</strong>.</p>")
