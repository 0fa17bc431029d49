"""Tests mirror modules: every module of the app's code (`shared/`), the producer and the
emulators has its unit test module `tests/unit/<folder>/test_<module>.py`, pure and fast (what
needs Azurite, the emulator or a server lives under tests/integration/ and tests/e2e/), and every
unit test module there names a module."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "tests" / "unit"

# package folder → the folder of its unit tests. `__init__` is no module to test; a `__main__`
# may have a test module of its own (the host stand-in's parses its command line) or none (the
# producer's only calls `cli.main`; the emulator's command line is tested with its config).
PACKAGES = {
    "shared": "shared",
    "producer": "producer",
    "emulators/twilio_api": "twilio_api",
    "emulators/functions_host": "functions_host",
    "emulators": "local_stack",
}


def modules(package: str) -> set[str]:
    """The modules of `package` (a folder of the repository), by name."""
    return {path.stem for path in (REPO / package).glob("*.py")} - {"__init__", "__main__"}


def test_the_layout_sees_every_package() -> None:
    # A wrong path would find no module and let the checks below pass on nothing.
    assert {"settings", "contracts"} <= modules("shared")
    assert {"cli", "queues"} <= modules("producer")
    assert {"messages", "calls"} <= modules("emulators/twilio_api")
    assert {"ncrontab", "queue_listener"} <= modules("emulators/functions_host")
    assert {"local_stack", "azurite"} <= modules("emulators")


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_every_module_has_its_unit_test_module(package: str) -> None:
    tests = UNIT / PACKAGES[package]
    missing = sorted(m for m in modules(package) if not (tests / f"test_{m}.py").is_file())
    assert missing == [], (
        f"{package} modules without tests/unit/{PACKAGES[package]}/test_<module>.py: "
        f"{', '.join(missing)}"
    )


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_every_unit_test_module_names_a_module(package: str) -> None:
    """A test module left behind by a renamed or deleted module is found too."""
    tests = UNIT / PACKAGES[package]
    orphans = sorted(
        path.name
        for path in tests.glob("test_*.py")
        if path.stem.removeprefix("test_") not in modules(package) | _main_of(package)
    )
    assert orphans == [], f"tests/unit/{PACKAGES[package]}/ test modules of no module: {orphans}"


def _main_of(package: str) -> set[str]:
    """`{"__main__"}` when `package` has one."""
    return {"__main__"} if (REPO / package / "__main__.py").is_file() else set()
