"""Templates: the list, the editor with a live preview (htmx posts the variables as you type, debounced, and
the API's render route answers), the versions with a diff between any two (difflib), and activating one."""

from __future__ import annotations

import contextlib
import difflib
import json
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from gateway.console.client import ApiClient, ApiReply, segment
from gateway.console.web import ApiDep, SessionDep, failure, field, form, page, redirect, require, templates

router = APIRouter()

EDITABLE = {"email": ("subject", "body", "html_body"), "push": ("title", "body")}
"""The parts of a template the editor shows, by channel."""


@router.get("/templates", response_class=HTMLResponse)
async def template_list(request: Request, session: SessionDep, api: ApiDep, cursor: str = "") -> Response:
    require(session, "templates:read")
    reply = await api.get("/v1/templates", limit=100, cursor=cursor)
    return page(request, "templates.html", session, active="templates", reply=reply, items=reply.body.get("items", []))


async def _versions(api: ApiClient, slug: str, channel: str, locale: str) -> ApiReply:
    return await api.get(f"/v1/templates/{segment(slug)}/versions", channel=channel, locale=locale)


@router.get("/templates/{slug}", response_class=HTMLResponse)
async def editor(
    request: Request, slug: str, session: SessionDep, api: ApiDep, channel: str = "email", locale: str = "en"
) -> Response:
    require(session, "templates:read")
    found = await api.get(f"/v1/templates/{segment(slug)}", channel=channel, locale=locale)
    if not found.ok:
        return failure(request, session, found, "Template")
    versions = await _versions(api, slug, channel, locale)
    return page(
        request,
        "template.html",
        session,
        active="templates",
        t=found.body,
        parts=EDITABLE.get(channel, ("body",)),
        versions=versions.body.get("items", []) if versions.ok else [],
        editable=session.can("templates:write"),
        variables=request.query_params.get("variables", "{}"),
    )


@router.post("/templates/{slug}/preview", response_class=HTMLResponse)
async def preview(request: Request, slug: str, session: SessionDep, api: ApiDep) -> Response:
    """The rendered template as a fragment (htmx swaps it in; without JavaScript it is a page of its own)."""
    fields = await form(request, session)
    require(session, "templates:read")
    channel = field(fields, "channel", "email")
    body: dict[str, object] = {"channel": channel, "locale": field(fields, "locale", "en")}
    if version := field(fields, "version"):
        body["version"] = int(version) if version.isdigit() else version
    elif draft := _draft(fields, channel):  # htmx sent the editor's parts along: render them as typed
        body["draft"] = draft
    error = ""
    try:
        variables = json.loads(field(fields, "variables") or "{}")
        if not isinstance(variables, dict):
            raise ValueError("the variables must be a JSON object")
        body["variables"] = variables
    except ValueError as problem:
        error = f"Variables: {problem}"
    reply = None if error else await api.read("POST", f"/v1/templates/{segment(slug)}/render", json=body)
    if reply is not None and not reply.ok:
        error = reply.problem
    rendered = reply.body if reply is not None and reply.ok else None
    if request.headers.get("hx-request"):
        return templates.TemplateResponse(request, "_preview.html", {"rendered": rendered, "error": error})
    return page(
        request, "preview.html", session, active="templates", slug=slug, channel=body["channel"], locale=body["locale"],
        rendered=rendered, error=error,
    )  # fmt: skip


@router.post("/templates/{slug}")
async def save(request: Request, slug: str, session: SessionDep, api: ApiDep) -> Response:
    """A new version from the edited parts (``PUT /v1/templates/{slug}``), which becomes the active one."""
    fields = await form(request, session)
    require(session, "templates:write")
    channel, locale = field(fields, "channel", "email"), field(fields, "locale", "en")
    editor_path = _editor_path(slug, channel, locale)
    body: dict[str, object] = {"channel": channel, "locale": locale}
    for part in EDITABLE.get(channel, ("body",)):
        value = (fields.get(part) or [""])[0].replace("\r\n", "\n")
        if value or part != "html_body":
            body[part] = value
    if channel == "push" and (data := field(fields, "data")):
        try:
            body["data"] = json.loads(data)
        except ValueError:
            return redirect(editor_path, "Not saved: data is not JSON.")
    reply = await api.write(
        "PUT",
        f"/v1/templates/{segment(slug)}",
        action="template.update",
        target=f"{slug} {channel} {locale}",
        json=body,
    )
    message = f"Saved as version {reply.body.get('version')}." if reply.ok else f"Not saved: {reply.problem}"
    return redirect(editor_path, message)


@router.post("/templates/{slug}/versions/{version}/activate")
async def activate(request: Request, slug: str, version: int, session: SessionDep, api: ApiDep) -> Response:
    fields = await form(request, session)
    require(session, "templates:write")
    channel, locale = field(fields, "channel", "email"), field(fields, "locale", "en")
    reply = await api.write(
        "POST",
        f"/v1/templates/{segment(slug)}/versions/{version}/activate",
        action="template.activate",
        target=f"{slug} {channel} {locale} v{version}",
        params={"channel": channel, "locale": locale},
    )
    message = f"Version {version} is active." if reply.ok else f"Not activated: {reply.problem}"
    return redirect(_editor_path(slug, channel, locale), message)


@router.get("/templates/{slug}/diff", response_class=HTMLResponse)
async def diff(
    request: Request,
    slug: str,
    session: SessionDep,
    api: ApiDep,
    channel: str = "email",
    locale: str = "en",
    old: int = 1,
    new: int = 1,
) -> Response:
    """A unified diff of every part between versions ``old`` and ``new``."""
    require(session, "templates:read")
    path = f"/v1/templates/{segment(slug)}"
    before = await api.get(path, channel=channel, locale=locale, version=old)
    after = await api.get(path, channel=channel, locale=locale, version=new)
    if not (before.ok and after.ok):
        problem = before.problem if not before.ok else after.problem
        return page(request, "error.html", session, status_code=404, title="Versions", message=problem)
    lines: list[str] = []
    for part in ("subject", "title", "body", "html_body", "data"):
        a, b = _text(before.body.get(part)), _text(after.body.get(part))
        lines.extend(difflib.unified_diff(a, b, f"{part} v{old}", f"{part} v{new}", lineterm=""))
    return page(
        request, "diff.html", session, active="templates", slug=slug, channel=channel, locale=locale, old=old, new=new,
        lines=lines,
    )  # fmt: skip


def _draft(fields: dict[str, list[str]], channel: str) -> dict[str, object] | None:
    """The editor's unsaved parts from a preview's form (None when it carries none: the form without JavaScript)."""
    parts = EDITABLE.get(channel, ("body",))
    if "body" not in fields:
        return None
    draft: dict[str, object] = {part: fields[part][0].replace("\r\n", "\n") for part in parts if fields.get(part)}
    draft.setdefault("body", "")
    if channel == "push" and (data := field(fields, "data")):
        with contextlib.suppress(ValueError):
            draft["data"] = json.loads(data)
    return draft


def _editor_path(slug: str, channel: str, locale: str) -> str:
    return f"/console/templates/{quote(slug, safe='')}?" + urlencode({"channel": channel, "locale": locale})


def _text(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, str):
        value = json.dumps(value, indent=2, sort_keys=True)
    return value.splitlines()
