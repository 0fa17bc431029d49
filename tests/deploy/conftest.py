"""Fixtures of the deployment checks: the repository's infra/ and the app's facts."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.bicep_check import load_types
from tests.deploy.deploy_rules import AppFacts, app_facts

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"


@pytest.fixture(scope="session")
def bicep_types() -> dict[str, Any]:
    """The vendored bicep-types key trees."""
    return load_types()


@pytest.fixture(scope="session")
def facts() -> AppFacts:
    """What the app's code and configuration need from the deployment."""
    return app_facts(REPO)


@pytest.fixture
def infra_copy(tmp_path: Path) -> Path:
    """A copy of infra/ to break."""
    copy = tmp_path / "infra"
    shutil.copytree(INFRA, copy)
    return copy
