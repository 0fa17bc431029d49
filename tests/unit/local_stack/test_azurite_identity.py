"""The test identity's tokens carry exactly the claims Azurite's basic OAuth checks, and the
throwaway certificate verifies for 127.0.0.1 against its CA."""

from __future__ import annotations

import base64
import json
import ssl
import time
from pathlib import Path

from emulators.azurite_identity import (
    ISSUER,
    STORAGE_AUDIENCE,
    AzuriteTokenCredential,
    write_tls_files,
)


def _claims(token: str) -> dict[str, object]:
    header, payload, signature = token.split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "HS256", "typ": "JWT"}
    assert signature
    claims: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=="))
    return claims


def test_tokens_have_the_audience_issuer_and_lifetime_azurite_checks() -> None:
    credential = AzuriteTokenCredential()
    token = credential.get_token("https://storage.azure.com/.default")
    claims = _claims(token.token)
    now = time.time()
    assert claims["aud"] == STORAGE_AUDIENCE
    assert str(claims["iss"]).startswith("https://sts.windows.net/")
    assert claims["iss"] == ISSUER
    assert isinstance(claims["nbf"], int)
    assert isinstance(claims["exp"], int)
    assert claims["iat"] == claims["nbf"]
    assert claims["nbf"] <= now < claims["exp"] == token.expires_on
    assert credential.issued == 1


def test_the_server_certificate_verifies_against_the_ca(tmp_path: Path) -> None:
    files = write_tls_files(tmp_path)
    context = ssl.create_default_context(cafile=str(files.ca))  # strict X.509 checks on 3.13
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(files.cert, files.key)
    client_side, server_side = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = context.wrap_bio(client_side, server_side, server_hostname="127.0.0.1")
    peer = server.wrap_bio(server_side, client_side, server_side=True)
    for _ in range(10):  # drive the handshake in memory until both sides are done
        done = 0
        for end in (client, peer):
            try:
                end.do_handshake()
                done += 1
            except ssl.SSLWantReadError:
                pass
        if done == 2:
            break
    assert client.getpeercert()["subjectAltName"] == (("IP Address", "127.0.0.1"),)
