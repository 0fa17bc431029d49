"""Stand-ins for Entra ID in front of an Azurite started with `--oauth basic`, so the app's
identity-based storage path (token credentials, https) runs locally and in tests.

Azurite's basic OAuth (node_modules/azurite/dist/src/{queue,table}/authentication/*Token
Authenticator.js) decodes the bearer JWT without checking its signature, then requires `iat`,
`nbf` and `exp` (now within nbf..exp), an `iss` starting with `https://sts.windows.net/` (or
another Entra authority) and an `aud` of `https://storage.azure.com` (or the account's service
URL); and it accepts bearer tokens only over https. So:
- `AzuriteTokenCredential` mints such tokens for in-process clients;
- `ManagedIdentityEndpoint` serves them the way App Service's managed identity endpoint does
  (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`), so `azure.identity.ManagedIdentityCredential` and
  `DefaultAzureCredential` get them in any process, unchanged;
- `write_tls_files` makes a throwaway CA and a server certificate for 127.0.0.1.
Nothing here is deployed or used against Azure.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from azure.core.credentials import AccessToken
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

STORAGE_AUDIENCE = "https://storage.azure.com"
TENANT_ID = "00000000-0000-0000-0000-00000000a2e1"
ISSUER = f"https://sts.windows.net/{TENANT_ID}/"
TOKEN_LIFETIME_SECONDS = 3600


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint_token(
    audience: str = STORAGE_AUDIENCE,
    *,
    issuer: str = ISSUER,
    lifetime: int = TOKEN_LIFETIME_SECONDS,
    object_id: str = "",
) -> AccessToken:
    """An unsigned-in-effect JWT with the claims Azurite's basic OAuth checks."""
    now = int(time.time())
    claims = {
        "aud": audience,
        "iss": issuer,
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + lifetime,
        "tid": TENANT_ID,
        "oid": object_id or str(uuid.uuid4()),
    }
    header = {"alg": "HS256", "typ": "JWT"}
    body = ".".join(_b64url(json.dumps(part).encode()) for part in (header, claims))
    # Azurite does not check the signature; a random one keeps the token well-formed.
    return AccessToken(f"{body}.{_b64url(secrets.token_bytes(32))}", now + lifetime)


def _audience(scopes: tuple[str, ...]) -> str:
    """`https://storage.azure.com/.default` → `https://storage.azure.com`, as Entra ID does."""
    scope = scopes[0] if scopes else STORAGE_AUDIENCE
    return scope.removesuffix("/.default")


@dataclass
class AzuriteTokenCredential:
    """A `TokenCredential` whose tokens an Azurite with `--oauth basic` accepts; counts them."""

    issued: int = 0

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """A fresh token for the first scope's resource."""
        self.issued += 1
        return mint_token(_audience(scopes))

    def close(self) -> None:
        """Nothing to release (azure-core calls it when a client closes)."""


@dataclass
class ManagedIdentityEndpoint:
    """App Service's managed identity endpoint on 127.0.0.1, minting Azurite-accepted tokens.

    Point `IDENTITY_ENDPOINT` at `url` and `IDENTITY_HEADER` at `secret`; `requests` records the
    (resource, client_id) of every token request, so a test can see which identity was asked for.
    """

    secret: str = field(default_factory=lambda: secrets.token_hex(16))
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """The endpoint's URL (after `start`)."""
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/msi/token"

    def environment(self) -> dict[str, str]:
        """The environment variables that make azure-identity use this endpoint."""
        return {"IDENTITY_ENDPOINT": self.url, "IDENTITY_HEADER": self.secret}

    def start(self) -> ManagedIdentityEndpoint:
        """Serve on a free loopback port in a daemon thread."""
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                if self.headers.get("X-IDENTITY-HEADER") != endpoint.secret:
                    self._answer(401, {"error": "missing or wrong X-IDENTITY-HEADER"})
                    return
                resource = query.get("resource", [""])[0]
                endpoint.requests.append((resource, query.get("client_id", [None])[0]))
                token = mint_token(resource.rstrip("/") or STORAGE_AUDIENCE)
                body = {
                    "access_token": token.token,
                    "expires_on": str(token.expires_on),
                    "resource": resource,
                    "token_type": "Bearer",
                }
                self._answer(200, body)

            def _answer(self, status: int, body: dict[str, str]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests read `requests` instead."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: the CA to trust (`ca`), and the server's certificate chain and key."""

    ca: Path
    cert: Path
    key: Path


def write_tls_files(directory: Path, host: str = "127.0.0.1") -> TlsFiles:
    """A throwaway CA and a server certificate for `host` (an IP address), valid for a day."""
    now = datetime.datetime.now(datetime.UTC)

    def build(
        subject: str, issuer: x509.Name | None, key: ec.EllipticCurvePrivateKey
    ) -> x509.CertificateBuilder:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer or name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        build("twilio-azure-functions test CA", None, ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        build(host, ca_cert.subject, key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files
