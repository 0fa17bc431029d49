"""Start Azurite (pinned in package.json) from the repo's node_modules on loopback ports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from emulators.launcher import Service, ServiceStartError, start_service

REPO_ROOT = Path(__file__).resolve().parent.parent
AZURITE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite"
# Azurite's well-known development account; it only ever works against a local emulator.
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def connection_string(
    host: str, blob_port: int, queue_port: int, table_port: int, scheme: str = "http"
) -> str:
    """The storage connection string for an Azurite listening on the given ports."""
    base = f"{scheme}://{host}:{{}}/{DEV_ACCOUNT}"
    return (
        f"DefaultEndpointsProtocol={scheme};AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
        f"BlobEndpoint={base.format(blob_port)};QueueEndpoint={base.format(queue_port)};"
        f"TableEndpoint={base.format(table_port)};"
    )


@dataclass
class Azurite:
    """A running Azurite and how to reach it."""

    service: Service
    host: str
    blob_port: int
    queue_port: int
    table_port: int
    scheme: str = "http"

    @property
    def connection_string(self) -> str:
        """Connection string for the Azure SDKs and `AzureWebJobsStorage`."""
        return connection_string(
            self.host, self.blob_port, self.queue_port, self.table_port, self.scheme
        )

    @property
    def blob_url(self) -> str:
        """The blob service endpoint (`AzureWebJobsStorage__blobServiceUri`: the host's)."""
        return f"{self.scheme}://{self.host}:{self.blob_port}/{DEV_ACCOUNT}"

    @property
    def queue_url(self) -> str:
        """The queue service endpoint (`AzureWebJobsStorage__queueServiceUri`)."""
        return f"{self.scheme}://{self.host}:{self.queue_port}/{DEV_ACCOUNT}"

    @property
    def table_url(self) -> str:
        """The table service endpoint (`AzureWebJobsStorage__tableServiceUri`)."""
        return f"{self.scheme}://{self.host}:{self.table_port}/{DEV_ACCOUNT}"

    def stop(self) -> None:
        """Stop Azurite."""
        self.service.stop()


def start_azurite(
    *,
    host: str = "127.0.0.1",
    ports: tuple[int, int, int] = (0, 0, 0),
    location: Path | None = None,
    echo: bool = False,
    tls: tuple[Path, Path] | None = None,
    oauth: bool = False,
) -> Azurite:
    """Start Azurite; ports 0 take free ports. In memory unless `location` is given.

    `tls` (certificate chain, key; PEM) serves https; `oauth` also accepts bearer tokens
    (Azurite's `--oauth basic`, which needs https), as Entra ID-authenticated clients send."""
    if oauth and tls is None:
        raise ValueError("Azurite accepts OAuth tokens only over https: give `tls` too")
    if not AZURITE_BIN.exists():
        raise ServiceStartError(
            f"Azurite is not installed at {AZURITE_BIN}: run `make setup` (npm ci) first"
        )
    blob, queue, table = ports
    argv = [
        str(AZURITE_BIN),
        "--silent",
        "--disableTelemetry",
        "--skipApiVersionCheck",
        *("--blobHost", host, "--blobPort", str(blob)),
        *("--queueHost", host, "--queuePort", str(queue)),
        *("--tableHost", host, "--tablePort", str(table)),
    ]
    argv += ["--location", str(location)] if location else ["--inMemoryPersistence"]
    if tls is not None:
        argv += ["--cert", str(tls[0]), "--key", str(tls[1])]
    if oauth:
        argv += ["--oauth", "basic"]
    scheme = "https" if tls else "http"
    service = start_service(
        "azurite",
        argv,
        [
            rf"Blob service is successfully listening at {scheme}://{host}:(\d+)",
            rf"Queue service is successfully listening at {scheme}://{host}:(\d+)",
            rf"Table service is successfully listening at {scheme}://{host}:(\d+)",
        ],
        echo=echo,
    )
    found = {m.re.pattern.split()[0]: int(m.group(1)) for m in service.matches}
    return Azurite(service, host, found["Blob"], found["Queue"], found["Table"], scheme)
