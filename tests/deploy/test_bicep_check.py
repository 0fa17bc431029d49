"""The checker itself, on small templates: what it accepts and what it reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.deploy.bicep_check import (
    UnresolvedError,
    check_project,
    declared_names,
    evaluate,
    load_project,
    parse_file,
    symbol_findings,
    syntax_findings,
    type_findings,
)

TYPES: dict[str, Any] = {
    "Microsoft.Web/sites@2024-04-01": {
        "name": None,
        "location": None,
        "properties": {"httpsOnly": None, "siteConfig": {"cors": {"allowedOrigins": None}}},
    },
    "Microsoft.Web/sites/config@2024-04-01": {
        "|name=appsettings": {"name": None, "properties": {"*": None}},
        "|name=web": {"name": None, "properties": {"alwaysOn": None}},
    },
}


def _write(tmp_path: Path, source: str, name: str = "main.bicep") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    return path


def _symbols(tmp_path: Path, source: str) -> list[str]:
    return [f.message for f in symbol_findings(parse_file(_write(tmp_path, source)))]


def _types(tmp_path: Path, source: str) -> list[str]:
    return [f.message for f in type_findings(parse_file(_write(tmp_path, source)), TYPES)]


def test_lambda_and_loop_variables_are_scoped(tmp_path: Path) -> None:
    source = (
        "param xs array\n"
        "var ys = map(xs, x => x.name)\n"
        "var zs = [for z in xs: z.id]\n"
        "output bad string = z\n"
    )
    assert _symbols(tmp_path, source) == ["undefined symbol 'z'"]


def test_namespaced_and_unknown_functions(tmp_path: Path) -> None:
    source = (
        "var a = sys.concat('a', az.resourceGroup().id)\n"
        "var b = sys.nope()\n"
        "var c = frobnicate(1)\n"
        "@describe('x')\n"
        "param d string\n"
    )
    assert _symbols(tmp_path, source) == [
        "unknown function sys.nope",
        "unknown function 'frobnicate'",
        "unknown function 'describe'",
    ]


def test_nested_child_resource_gets_its_parent_type(tmp_path: Path) -> None:
    source = (
        "resource site 'Microsoft.Web/sites@2024-04-01' = {\n"
        "  name: 'x'\n"
        "  resource web 'config' = {\n"
        "    name: 'web'\n"
        "    properties: { alwaysOn: true, alwaysOf: true }\n"
        "  }\n"
        "}\n"
    )
    assert _types(tmp_path, source) == ["web.properties: unknown property 'alwaysOf'"]


def test_variant_selected_by_name(tmp_path: Path) -> None:
    source = (
        "resource site 'Microsoft.Web/sites@2024-04-01' existing = { name: 'x' }\n"
        "resource s 'Microsoft.Web/sites/config@2024-04-01' = {\n"
        "  parent: site\n"
        "  name: 'appsettings'\n"
        "  properties: { ANY_NAME: 'v' }\n"
        "}\n"
    )
    assert _types(tmp_path, source) == []


def test_existing_resource_takes_only_a_name(tmp_path: Path) -> None:
    source = (
        "resource site 'Microsoft.Web/sites@2024-04-01' existing = {\n"
        "  name: 'x'\n"
        "  location: 'y'\n"
        "}\n"
    )
    assert _types(tmp_path, source) == ["site: unknown property 'location'"]


def test_typo_deep_inside_ternary_and_array(tmp_path: Path) -> None:
    source = (
        "param on bool\n"
        "resource site 'Microsoft.Web/sites@2024-04-01' = {\n"
        "  name: 'x'\n"
        "  properties: on ? { httpsOnly: true } : { siteConfig: { cors: { allowedOrigin: [] } } }\n"
        "}\n"
    )
    assert _types(tmp_path, source) == [
        "site.properties.siteConfig.cors: unknown property 'allowedOrigin'"
    ]


@pytest.mark.parametrize(
    "source",
    ["param a string =\n", "var b = {\n  c: 1\n", "var d = concat('a', \n", "resource e = {}\n"],
)
def test_broken_syntax_is_reported(tmp_path: Path, source: str) -> None:
    assert syntax_findings(parse_file(_write(tmp_path, source)))


def test_registry_modules_and_missing_files_are_reported(tmp_path: Path) -> None:
    source = (
        "module a 'br/public:avm/res/web/site:0.15.1' = { name: 'a' }\n"
        "module b 'app/missing.bicep' = { name: 'b' }\n"
    )
    assert _symbols(tmp_path, source) == [
        "module a: registry module 'br/public:avm/res/web/site:0.15.1'",
        "module b: no file 'app/missing.bicep'",
    ]


def test_values_are_followed_through_module_params(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "var base = 'jobs'\n"
        "module q 'app/queues.bicep' = {\n"
        "  name: 'q'\n"
        "  params: { names: [base, '${base}-poison'] }\n"
        "}\n",
    )
    _write(
        tmp_path,
        "param names array\n"
        "resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2024-01-01'"
        " = [for n in names: { name: n }]\n",
        "app/queues.bicep",
    )
    project = load_project(tmp_path)
    queues = declared_names(project, "Microsoft.Storage/storageAccounts/queueServices/queues")
    assert queues == {"jobs", "jobs-poison"}
    assert [f.message for f in check_project(tmp_path, TYPES)] == [
        "unknown 'Microsoft.Storage/storageAccounts/queueServices/queues@2024-01-01'"
        " (type not vendored)"
    ]


def test_integer_sums_max_and_min_are_evaluated(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "param a int = 16\n"
        "param b int = 8\n"
        "var total = string(max(a + b, 20))\n"
        "var least = min(a, b, 12)\n"
        "var opaque = max(a, length('x'))\n",
    )
    project = load_project(tmp_path)
    parsed = project.files[path.resolve()]

    def value(name: str) -> object:
        declaration = parsed.variables[name]
        return evaluate(project, parsed, declaration.named_children[-1])

    assert value("total") == "24"
    assert value("least") == 8
    with pytest.raises(UnresolvedError):
        value("opaque")
