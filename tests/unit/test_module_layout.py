"""Tests mirror modules: every module of `shared/` has its unit test module
`tests/unit/shared/test_<module>.py` (pure and fast; what needs Azurite or the emulator lives
under tests/integration/)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / "shared"
UNIT_TESTS = REPO / "tests" / "unit" / "shared"


def shared_modules() -> set[str]:
    """The modules of `shared/`, by name (its `__init__` is not one)."""
    return {path.stem for path in SHARED.glob("*.py") if path.stem != "__init__"}


def has_unit_tests(module: str) -> bool:
    """Whether `module` has its unit test module."""
    return (UNIT_TESTS / f"test_{module}.py").is_file()


def test_the_layout_sees_the_shared_package() -> None:
    # A wrong path would find no module and let the checks below pass on nothing.
    assert {"settings", "contracts", "storage_connection"} <= shared_modules()


def test_every_shared_module_has_its_unit_test_module() -> None:
    missing = sorted(m for m in shared_modules() if not has_unit_tests(m))
    assert missing == [], (
        f"shared modules without tests/unit/shared/test_<module>.py: {', '.join(missing)}"
    )


def test_every_unit_test_module_of_shared_names_a_module() -> None:
    """A test module left behind by a renamed or deleted module is found too."""
    modules = shared_modules()
    orphans = sorted(
        path.name
        for path in UNIT_TESTS.glob("test_*.py")
        if path.stem.removeprefix("test_") not in modules
    )
    assert orphans == [], f"tests/unit/shared/ test modules of no shared module: {orphans}"


# The producer library and CLI mirror their modules the same way under tests/unit/producer/
# (its `__main__` only calls `cli.main`, so it is no module to test, like `__init__`).
PRODUCER = REPO / "producer"
PRODUCER_UNIT_TESTS = REPO / "tests" / "unit" / "producer"


def producer_modules() -> set[str]:
    """The modules of `producer/`, by name (its `__init__` and `__main__` are not ones)."""
    return {path.stem for path in PRODUCER.glob("*.py")} - {"__init__", "__main__"}


def test_the_layout_sees_the_producer_package() -> None:
    assert {"cli", "client", "queues", "settings"} <= producer_modules()


def test_every_producer_module_has_its_unit_test_module() -> None:
    missing = sorted(
        m for m in producer_modules() if not (PRODUCER_UNIT_TESTS / f"test_{m}.py").is_file()
    )
    assert missing == [], (
        f"producer modules without tests/unit/producer/test_<module>.py: {', '.join(missing)}"
    )


def test_every_unit_test_module_of_producer_names_a_module() -> None:
    modules = producer_modules()
    orphans = sorted(
        path.name
        for path in PRODUCER_UNIT_TESTS.glob("test_*.py")
        if path.stem.removeprefix("test_") not in modules
    )
    assert orphans == [], f"tests/unit/producer/ test modules of no producer module: {orphans}"
