"""SETTING_NAMES is exactly the set of settings `load_settings` reads."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

from shared.settings import SETTING_NAMES, load_settings


class _RecordingEnv(Mapping[str, str]):
    """An environment that remembers every name looked up in it."""

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        return self._values[name]

    def get(self, name: str, default: object = None) -> object:  # type: ignore[override]
        self.read.add(name)
        return self._values.get(name, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


APP = {
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "token",
    "PUBLIC_BASE_URL": "https://example.test",
}


@pytest.mark.parametrize(
    "storage",
    [
        {"AzureWebJobsStorage": "UseDevelopmentStorage=true"},
        {
            "AzureWebJobsStorage__queueServiceUri": "https://a.queue.core.windows.net",
            "AzureWebJobsStorage__tableServiceUri": "https://a.table.core.windows.net",
            "AzureWebJobsStorage__credential": "managedidentity",
        },
    ],
    ids=["connection-string", "identity"],
)
def test_setting_names_are_exactly_what_load_settings_reads(storage: dict[str, str]) -> None:
    env = _RecordingEnv({**APP, **storage})
    load_settings(env)
    assert env.read == SETTING_NAMES
