"""Finding 6: the gRPC mesh speaks TLS from GRPC_TLS_CERT/KEY/CA. A TLS user_svc answers a client that
trusts its CA and refuses a plaintext one; with a CA of its own it also refuses a client without a certificate
signed by that CA; a client refuses a server its CA did not sign. Certificates come from a throwaway CA."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from common.grpc.client import internal_channel
from common.grpc.tls import GrpcTls
from common.healthcheck import grpc_serving
from devstack.infra import Infra
from notification.v1 import notification_pb2 as pb
from notification.v1 import notification_pb2_grpc as pb_grpc
from tests.support.pki import CertificateAuthority, Issued
from tests.support.user_service import INTERNAL_KEY, RunningUserService, running_user_service, user_service_settings

CALL_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Pki:
    """The mesh's CA with a server and a client certificate, and a stranger CA with a client of its own."""

    ca: CertificateAuthority
    server: Issued
    client: Issued
    stranger_ca: CertificateAuthority
    stranger: Issued


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder: Path = tmp_path_factory.mktemp("pki")
    ca, stranger_ca = CertificateAuthority.create(folder, "mesh-ca"), CertificateAuthority.create(folder, "other-ca")
    return Pki(
        ca=ca,
        server=ca.issue("user_svc", hosts=["user_svc", "localhost", "127.0.0.1"]),
        client=ca.issue("gateway"),
        stranger_ca=stranger_ca,
        stranger=stranger_ca.issue("gateway"),
    )


def with_cert(issued: Issued, ca: Path | None = None) -> GrpcTls:
    return GrpcTls(cert=issued.cert, key=issued.key, ca=ca)


@pytest.fixture
async def tls_user_service(infra: Infra, pki: Pki) -> AsyncIterator[RunningUserService]:
    """user_svc with a certificate and no CA: TLS, any client that trusts its CA may call."""
    settings = user_service_settings(infra, grpc_tls_cert=pki.server.cert, grpc_tls_key=pki.server.key)
    async with running_user_service(settings, client_tls=GrpcTls(ca=pki.ca.cert)) as service:
        yield service


@pytest.fixture
async def mutual_tls_user_service(infra: Infra, pki: Pki) -> AsyncIterator[RunningUserService]:
    """user_svc with a certificate and the mesh's CA: only clients with a certificate that CA signed may call."""
    settings = user_service_settings(
        infra, grpc_tls_cert=pki.server.cert, grpc_tls_key=pki.server.key, grpc_tls_ca=pki.ca.cert
    )
    async with running_user_service(settings) as service:
        yield service


async def get_user(target: str, tls: GrpcTls) -> grpc.StatusCode:
    """The status of GetUser for a user that does not exist, called with the internal key over ``tls``."""
    async with internal_channel(target, INTERNAL_KEY, tls) as channel:
        try:
            await pb_grpc.UserServiceStub(channel).GetUser(
                pb.GetUserRequest(user_id=str(uuid.uuid4())), timeout=CALL_TIMEOUT_SECONDS
            )
        except grpc.aio.AioRpcError as error:
            return error.code()
    return grpc.StatusCode.OK


async def test_a_tls_user_svc_answers_a_client_that_trusts_its_ca(
    tls_user_service: RunningUserService, pki: Pki
) -> None:
    assert await get_user(tls_user_service.target, GrpcTls(ca=pki.ca.cert)) == grpc.StatusCode.NOT_FOUND


async def test_a_tls_user_svc_refuses_a_plaintext_client(tls_user_service: RunningUserService) -> None:
    async with grpc.aio.insecure_channel(tls_user_service.target) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=CALL_TIMEOUT_SECONDS
            )
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert await get_user(tls_user_service.target, GrpcTls()) == grpc.StatusCode.UNAVAILABLE


async def test_a_client_refuses_a_server_its_ca_did_not_sign(tls_user_service: RunningUserService, pki: Pki) -> None:
    assert await get_user(tls_user_service.target, GrpcTls(ca=pki.stranger_ca.cert)) == grpc.StatusCode.UNAVAILABLE


async def test_with_a_ca_user_svc_answers_only_clients_that_ca_certified(
    mutual_tls_user_service: RunningUserService, pki: Pki
) -> None:
    target, ca = mutual_tls_user_service.target, pki.ca.cert
    assert await get_user(target, with_cert(pki.client, ca)) == grpc.StatusCode.NOT_FOUND
    assert await get_user(target, GrpcTls(ca=ca)) == grpc.StatusCode.UNAVAILABLE, "no client certificate"
    assert await get_user(target, with_cert(pki.stranger, ca)) == grpc.StatusCode.UNAVAILABLE, "another CA's"
    assert await get_user(target, GrpcTls()) == grpc.StatusCode.UNAVAILABLE, "plaintext"


async def test_the_container_health_check_speaks_tls(mutual_tls_user_service: RunningUserService, pki: Pki) -> None:
    target, tls = mutual_tls_user_service.target, with_cert(pki.client, pki.ca.cert)
    assert await asyncio.to_thread(grpc_serving, target, tls)
    assert await asyncio.to_thread(grpc_serving, target, tls, "user_svc"), "the name in the service's certificate"
    with pytest.raises(grpc.RpcError):
        await asyncio.to_thread(grpc_serving, target, tls, "template_svc")
