"""The local stack's service-account JSON: a throwaway RSA key, ``token_uri`` pointing at this server.

The file looks like one downloaded from the Firebase console, so firebase-admin and google-auth load it
unchanged. It is generated on demand and never committed.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DEFAULT_PROJECT_ID = "local-notifications"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL, not a secret


def token_uri(base_url: str) -> str:
    """The token endpoint of the server at ``base_url``."""
    return f"{base_url.rstrip('/')}/token"


def generate_service_account(base_url: str, project_id: str = DEFAULT_PROJECT_ID) -> dict[str, Any]:
    """A new service account of ``project_id`` with its own RSA key, authenticating at ``base_url``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    email = f"firebase-adminsdk-local@{project_id}.iam.gserviceaccount.com"
    base = base_url.rstrip("/")
    return {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": email,
        "client_id": str(secrets.randbelow(10**21)),
        "auth_uri": f"{base}/o/oauth2/auth",
        "token_uri": token_uri(base),
        "auth_provider_x509_cert_url": f"{base}/oauth2/v1/certs",
        "client_x509_cert_url": f"{base}/robot/v1/metadata/x509/{email}",
        "universe_domain": "googleapis.com",
    }


def write_service_account(path: Path, base_url: str, project_id: str = DEFAULT_PROJECT_ID) -> bool:
    """Make sure ``path`` holds a service account of ``project_id`` for the server at ``base_url``: an
    existing matching file is kept, anything else is replaced by a new key. True when a file was written.
    The file is readable by its owner only."""
    if path.exists():
        try:
            current = json.loads(path.read_text())
        except ValueError:
            current = {}
        if current.get("token_uri") == token_uri(base_url) and current.get("project_id") == project_id:
            return False
    path.parent.mkdir(parents=True, exist_ok=True)
    content = json.dumps(generate_service_account(base_url, project_id), indent=2) + "\n"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(content)
    return True


@dataclass(frozen=True)
class TrustedKey:
    """The public half of a service account's key: what the token endpoint checks assertions against."""

    key_id: str
    client_email: str
    project_id: str
    public_key: rsa.RSAPublicKey


def load_trusted_key(path: Path) -> TrustedKey:
    """The public key, id, email and project of the service-account file at ``path``."""
    account = json.loads(path.read_text())
    private_key = serialization.load_pem_private_key(account["private_key"].encode(), password=None)
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise ValueError(f"{path}: the service account's key is not an RSA key")
    return TrustedKey(
        key_id=account["private_key_id"],
        client_email=account["client_email"],
        project_id=account["project_id"],
        public_key=private_key.public_key(),
    )
