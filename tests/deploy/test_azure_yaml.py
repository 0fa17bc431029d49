"""azure.yaml is valid for azd and deploys what `make package` builds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from tests.deploy.conftest import REPO

SCHEMA = Path(__file__).resolve().parent / "vendor" / "azure.yaml.json"


def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return schema


def _azure_yaml() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((REPO / "azure.yaml").read_text(encoding="utf-8"))
    return config


def test_azure_yaml_validates_against_azd_schema() -> None:
    schema = _schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2019-09/schema"
    jsonschema.Draft201909Validator(schema).validate(_azure_yaml())


@pytest.mark.parametrize(
    ("key", "value"),
    [("remoteBuild", "false"), ("hooks", {"prepackge": {"run": "make package"}})],
)
def test_the_schema_check_can_fail(key: str, value: object) -> None:
    broken = _azure_yaml()
    broken["services"]["api"][key] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft201909Validator(_schema()).validate(broken)


def test_one_python_function_service_deploying_the_package_without_remote_build() -> None:
    config = _azure_yaml()
    assert list(config["services"]) == ["api"]
    api = config["services"]["api"]
    assert (api["project"], api["language"], api["host"]) == (".", "python", "function")
    assert api["remoteBuild"] is False
    assert api["dist"] == "build/deploy"
    assert api["hooks"]["prepackage"]["run"] == "make package"
    assert config["infra"]["path"] == "infra"


def test_bicep_tags_the_site_with_the_service_name() -> None:
    # azd finds the site to deploy `api` to by its `azd-service-name` tag.
    assert "'azd-service-name': 'api'" in (REPO / "infra/app/api.bicep").read_text(encoding="utf-8")


def test_parameters_file_maps_azd_variables_to_declared_params() -> None:
    from tests.deploy.bicep_check import parse_file

    parameters = json.loads((REPO / "infra/main.parameters.json").read_text(encoding="utf-8"))
    main = parse_file(REPO / "infra/main.bicep")
    assert set(parameters["parameters"]) <= set(main.params)
    assert parameters["parameters"]["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert parameters["parameters"]["principalId"]["value"] == "${AZURE_PRINCIPAL_ID}"
    # The auth token is required and has no default, so azd prompts for it and keeps it with the
    # environment's secrets. The API key secret is optional (default empty), which azd never
    # prompts for: it comes from TWILIO_API_KEY_SECRET, with no default written here.
    assert "twilioAuthToken" not in parameters["parameters"]
    assert main.param_defaults["twilioAuthToken"] is None
    assert parameters["parameters"]["twilioApiKeySecret"]["value"] == "${TWILIO_API_KEY_SECRET}"
