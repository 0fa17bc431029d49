"""The templates in infra/ pass every offline check, and the checks see what they claim to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.deploy.bicep_check import (
    check_project,
    load_project,
    parse_file,
    resources,
    syntax_findings,
)
from tests.deploy.conftest import INFRA
from tests.deploy.deploy_rules import AppFacts, deployment_findings

BICEP_FILES = sorted(INFRA.rglob("*.bicep"))


def test_the_layout_azd_expects_is_there() -> None:
    assert (INFRA / "main.bicep").is_file()
    assert (INFRA / "main.parameters.json").is_file()
    assert {p.name for p in (INFRA / "app").glob("*.bicep")} >= {"api.bicep", "rbac.bicep"}


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: p.relative_to(INFRA).as_posix())
def test_every_bicep_file_parses(path: Path) -> None:
    assert syntax_findings(parse_file(path)) == []


def test_no_finding_on_the_templates(bicep_types: dict[str, Any]) -> None:
    findings = check_project(INFRA, bicep_types)
    assert [str(f) for f in findings] == []


def test_the_templates_follow_the_deployment_rules(facts: AppFacts) -> None:
    assert deployment_findings(load_project(INFRA), facts) == []


def test_every_resource_type_is_vendored_and_nothing_else(bicep_types: dict[str, Any]) -> None:
    used = {r.key for path in BICEP_FILES for r in resources(parse_file(path))}
    # Only the types the templates use are vendored (each one with its licence).
    assert used == set(bicep_types)


def test_plain_resources_only() -> None:
    for path in BICEP_FILES:
        assert "br/public:" not in path.read_text(encoding="utf-8"), path


def test_main_is_at_subscription_scope_and_names_the_group_from_the_environment() -> None:
    main = parse_file(INFRA / "main.bicep")
    assert "targetScope = 'subscription'" in (INFRA / "main.bicep").read_text(encoding="utf-8")
    groups = [r for r in resources(main) if r.type_name == "Microsoft.Resources/resourceGroups"]
    assert len(groups) == 1
    assert "environmentName" in (groups[0].node.text or b"").decode()


def test_outputs_azd_writes_to_the_environment() -> None:
    outputs = set(parse_file(INFRA / "main.bicep").outputs)
    assert outputs >= {
        "AZURE_LOCATION",
        "AZURE_RESOURCE_GROUP",
        "AZURE_FUNCTION_APP_NAME",
        "AZURE_MANAGED_IDENTITY_CLIENT_ID",
        "AZURE_STORAGE_QUEUE_ENDPOINT",
        "AZURE_STORAGE_TABLE_ENDPOINT",
        "PUBLIC_BASE_URL",
        "STATUS_CALLBACK_URL",
        "TWIML_VOICE_URL",
    }
    source = (INFRA / "main.bicep").read_text(encoding="utf-8")
    assert "'${api.outputs.publicBaseUrl}/api/status_callback'" in source
    assert "'${api.outputs.publicBaseUrl}/api/twiml_voice'" in source


def test_public_base_url_is_the_site_host_unless_overridden() -> None:
    api = (INFRA / "app/api.bicep").read_text(encoding="utf-8")
    assert (
        "empty(publicBaseUrl) ? 'https://${site.properties.defaultHostName}' : publicBaseUrl" in api
    )
    assert "PUBLIC_BASE_URL: resolvedPublicBaseUrl" in api
