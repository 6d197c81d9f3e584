"""``/v1/sending-domains``: the domains an application's templates send from, each with its DKIM key
(docs/api.md "Sending domains")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from starlette.responses import JSONResponse, Response

from common.dkim_keys import UnusableKey, record_name
from gateway.auth import Caller
from gateway.deps import ResourcesDep, requires
from gateway.errors import ProblemError
from gateway.routes.docs import AUTHENTICATED, WITH_BODY, problems
from gateway.schemas.sending_domains import DOMAIN_PATTERN, SendingDomain, SendingDomainList, SendingDomainPut
from gateway.scopes import Scope
from gateway.sending_domains import SendingDomain as StoredDomain

router = APIRouter(prefix="/v1/sending-domains", tags=["sending domains"])

Reader = Annotated[Caller, requires(Scope.TEMPLATES_READ)]
Writer = Annotated[Caller, requires(Scope.TEMPLATES_WRITE)]
Domain = Annotated[
    str,
    Path(
        max_length=254,  # 253 and a final dot
        pattern=DOMAIN_PATTERN,
        description="The domain, ASCII (an internationalised one as `xn--`); any case, a final dot ignored.",
    ),
]


def canonical_domain(domain: str) -> str:
    """The form domains are kept and compared in: lower-case, no final dot."""
    return domain.lower().rstrip(".")


def domain_body(found: StoredDomain) -> dict[str, Any]:
    return {
        "domain": found.domain,
        "selector": found.selector,
        "dns_record": {"type": "TXT", "name": record_name(found.selector, found.domain), "value": found.dns_record},
        "created_at": found.created_at,
        "updated_at": found.updated_at,
    }


@router.get("", response_model=SendingDomainList, summary="List sending domains", responses=problems(*AUTHENTICATED))
async def list_sending_domains(caller: Reader, resources: ResourcesDep) -> dict[str, Any]:
    """Every domain the application sends from, with the DKIM record to publish for each."""
    return {"items": [domain_body(found) for found in await resources.sending_domains.list(caller.application_id)]}


@router.get(
    "/{domain}", response_model=SendingDomain, summary="Get a sending domain", responses=problems(*AUTHENTICATED, 404)
)
async def get_sending_domain(domain: Domain, caller: Reader, resources: ResourcesDep) -> dict[str, Any]:
    """One sending domain and its DKIM record."""
    found = await resources.sending_domains.get(caller.application_id, canonical_domain(domain))
    if found is None:
        raise ProblemError(404, "this application has no such sending domain")
    return domain_body(found)


@router.put(
    "/{domain}",
    response_model=SendingDomain,
    summary="Add a sending domain, or rotate its DKIM key",
    responses={
        201: {"description": "The domain was added, with a new key.", "model": SendingDomain},
        **problems(
            *AUTHENTICATED, *WITH_BODY, descriptions={422: "A bad domain or selector, or an unusable private key."}
        ),
    },
)
async def put_sending_domain(
    domain: Domain, caller: Writer, resources: ResourcesDep, body: Annotated[SendingDomainPut | None, Body()] = None
) -> Response:
    """Let the application's templates send from `domain`: 201 with a new DKIM key and the TXT record to
    publish; 200 when it was there (unchanged, unless another `selector` or a `private_key` is given)."""
    wanted = body or SendingDomainPut()
    try:
        found, created = await resources.sending_domains.put(
            caller.application_id, canonical_domain(domain), wanted.selector, wanted.private_key
        )
    except UnusableKey as error:
        raise ProblemError.field("private_key", str(error)) from None
    payload = SendingDomain.model_validate(domain_body(found)).model_dump(mode="json")
    return JSONResponse(payload, status_code=201 if created else 200)


@router.delete("/{domain}", status_code=204, summary="Remove a sending domain", responses=problems(*AUTHENTICATED, 404))
async def remove_sending_domain(domain: Domain, caller: Writer, resources: ResourcesDep) -> Response:
    """Forget the domain and its key: new templates cannot use it, and mail from it is no longer signed."""
    if not await resources.sending_domains.remove(caller.application_id, canonical_domain(domain)):
        raise ProblemError(404, "this application has no such sending domain")
    return Response(status_code=204)
