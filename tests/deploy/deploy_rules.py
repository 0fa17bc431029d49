"""The project's deployment rules, checked on the Bicep templates against the app's own code.

`app_facts` reads what the app needs from the repository (the settings `shared/settings.py`
reads and their defaults, each `function.json`, `host.json`, the storage SDKs the code
imports); `deployment_findings` compares the templates with it: the app settings written,
secrets only as Key Vault references, no setting Flex Consumption forbids, queue and table
names, the roles, and the security switches of storage, Key Vault and Application Insights.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.deploy.bicep_check import (
    Project,
    UnresolvedError,
    app_settings,
    declared_names,
    evaluate,
    is_key_vault_reference,
    project_resources,
    property_value,
    role_assignments,
    string_literal,
    text,
    walk,
)

# Identity-based host and app storage (Learn: "Connecting to host storage with an identity"):
# these replace the `AzureWebJobsStorage` connection string in Azure.
IDENTITY_STORAGE_SETTINGS = frozenset(
    {
        "AzureWebJobsStorage__queueServiceUri",
        "AzureWebJobsStorage__tableServiceUri",
        "AzureWebJobsStorage__credential",
        "AzureWebJobsStorage__clientId",
    }
)
# Read by the Functions host, not by the app: host storage's blob endpoint (keys, leases) and
# Application Insights with Entra ID authentication.
HOST_SETTINGS = frozenset(
    {
        "AzureWebJobsStorage__blobServiceUri",
        "AzureWebJobsStorage__queueServiceUri",
        "AzureWebJobsStorage__credential",
        "AzureWebJobsStorage__clientId",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    }
)
# Read by the Python worker: how many synchronous invocations run at once per instance.
WORKER_SETTINGS = frozenset({"PYTHON_THREADPOOL_THREAD_COUNT"})
# An app setting `AzureFunctionsJobHost__a__b` overrides host.json's `a.b`.
HOST_JSON_OVERRIDE_PREFIX = "AzureFunctionsJobHost__"
# Learn, functions-app-settings, "Flex Consumption plan deprecations": set by the platform or
# replaced by functionAppConfig; setting them breaks or is refused.
FLEX_FORBIDDEN = frozenset(
    {
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_WORKER_RUNTIME_VERSION",
        "FUNCTIONS_EXTENSION_VERSION",
        "FUNCTIONS_MAX_HTTP_CONCURRENCY",
        "FUNCTIONS_WORKER_PROCESS_COUNT",
        "FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED",
        "WEBSITE_RUN_FROM_PACKAGE",
        "WEBSITE_NODE_DEFAULT_VERSION",
        "WEBSITE_SKIP_CONTENTSHARE_VALIDATION",
        "SCM_DO_BUILD_DURING_DEPLOYMENT",
        "ENABLE_ORYX_BUILD",
        "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
        "WEBSITE_DNS_SERVER",
        "WEBSITE_VNET_ROUTE_ALL",
    }
)
FLEX_FORBIDDEN_PREFIXES = ("WEBSITE_CONTENT",)
# Never app-wide: it would become every identity connection's default client id.
NEVER_WRITTEN = frozenset({"AzureWebJobsStorage", "AZURE_CLIENT_ID"})
SECRET_SETTINGS = frozenset({"TWILIO_AUTH_TOKEN", "TWILIO_API_KEY_SECRET"})
QUEUE_SETTINGS = ("SMS_QUEUE_NAME", "CALL_QUEUE_NAME", "EVENTS_QUEUE_NAME")
TABLE_SETTINGS = ("DELIVERIES_TABLE_NAME",)

ROLE_IDS = {
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
}
SERVICE_ROLES = {
    "blob": "Storage Blob Data Owner",
    "queue": "Storage Queue Data Contributor",
    "table": "Storage Table Data Contributor",
}
# The storage SDK packages and the service each one reaches.
SDK_SERVICES = {
    "azure.storage.blob": "blob",
    "azure.storage.queue": "queue",
    "azure.data.tables": "table",
}
STORAGE_ACCOUNT = "Microsoft.Storage/storageAccounts"


@dataclass(frozen=True)
class AppFacts:
    """What the app's code and configuration say the deployment must provide."""

    setting_names: frozenset[str]
    default_names: dict[str, str]  # setting -> default queue or table name
    trigger_queues: dict[str, str]  # function folder -> function.json queueName
    storage_services: frozenset[str]  # blob / queue / table
    host_json: dict[str, Any]
    package_python_version: str  # what `make package` installs wheels for


def app_facts(repo: Path) -> AppFacts:
    """Read the facts from the repository at `repo` (its `shared.settings` is imported)."""
    from shared.settings import SETTING_NAMES, load_settings

    defaults = load_settings(
        {
            "AzureWebJobsStorage": "UseDevelopmentStorage=true",
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_AUTH_TOKEN": "token",
            "PUBLIC_BASE_URL": "https://example.test",
        }
    )
    return AppFacts(
        setting_names=SETTING_NAMES,
        default_names={
            "SMS_QUEUE_NAME": defaults.sms_queue_name,
            "CALL_QUEUE_NAME": defaults.call_queue_name,
            "EVENTS_QUEUE_NAME": defaults.events_queue_name,
            "DELIVERIES_TABLE_NAME": defaults.deliveries_table_name,
        },
        trigger_queues=trigger_queues(repo),
        storage_services=storage_services(repo),
        host_json=json.loads((repo / "host.json").read_text(encoding="utf-8")),
        package_python_version=package_python_version(),
    )


def package_python_version() -> str:
    """The CPython version `tools.package_app` installs the deployed packages for."""
    from tools.package_app import PIP_PLATFORM_ARGS

    return PIP_PLATFORM_ARGS[PIP_PLATFORM_ARGS.index("--python-version") + 1]


def storage_services(repo: Path) -> frozenset[str]:
    """The storage services the deployed code touches: the host always uses blob (keys,
    leases) and queue (the triggers); the app whatever SDKs its modules import."""
    services = {"blob", "queue"}
    sources = list((repo / "shared").glob("*.py"))
    sources += [p for f in repo.glob("*/function.json") for p in f.parent.glob("*.py")]
    for source in sources:
        code = source.read_text(encoding="utf-8")
        for package, service in SDK_SERVICES.items():
            if re.search(rf"^\s*(from|import)\s+{re.escape(package)}\b", code, re.MULTILINE):
                services.add(service)
    return frozenset(services)


def trigger_queues(repo: Path) -> dict[str, str]:
    """Each queue-triggered function folder and its `queueName` (may be `%SETTING%`)."""
    queues: dict[str, str] = {}
    for config in sorted(repo.glob("*/function.json")):
        bindings = json.loads(config.read_text(encoding="utf-8")).get("bindings", [])
        for binding in bindings:
            if binding.get("type") == "queueTrigger":
                queues[config.parent.name] = binding["queueName"]
    return queues


def _host_json_value(host_json: dict[str, Any], setting: str) -> tuple[bool, Any]:
    """(found, value) of the host.json path an `AzureFunctionsJobHost__a__b` setting names."""
    node: Any = host_json
    for part in setting.removeprefix(HOST_JSON_OVERRIDE_PREFIX).split("__"):
        if not isinstance(node, dict):
            return False, None
        match = next((k for k in node if k.lower() == part.lower()), None)
        if match is None:
            return False, None
        node = node[match]
    return True, node


def expected_settings(setting_names: frozenset[str]) -> frozenset[str]:
    """The settings Azure must have: the app's, with the storage connection string replaced by
    the identity-based names, and the host's."""
    names = set(setting_names)
    if "AzureWebJobsStorage" in names:
        names.discard("AzureWebJobsStorage")
        names |= IDENTITY_STORAGE_SETTINGS
    return frozenset(names | HOST_SETTINGS | WORKER_SETTINGS)


def _try_evaluate(project: Project, file: Any, node: Any) -> tuple[bool, Any]:
    try:
        return True, evaluate(project, file, node)
    except UnresolvedError:
        return False, None


def setting_findings(project: Project, facts: AppFacts) -> list[str]:
    """The app settings written compared with what the app and the host read."""
    settings = app_settings(project)
    written = set(settings.values)
    findings: list[str] = []
    expected = expected_settings(facts.setting_names)
    for name in sorted(expected - written):
        findings.append(f"setting {name} is read but not written")
    overrides = {n for n in written if n.startswith(HOST_JSON_OVERRIDE_PREFIX)}
    for name in sorted(written - expected - overrides - NEVER_WRITTEN):
        findings.append(f"setting {name} is written but nothing reads it")
    for name in sorted(overrides):
        found, host_value = _host_json_value(facts.host_json, name)
        if not found:
            findings.append(f"setting {name} overrides nothing in host.json")
            continue
        ok, value = _try_evaluate(project, settings.file, settings.values[name])
        if ok and str(value) != str(host_value):
            findings.append(f"setting {name} defaults to {value!r}, host.json has {host_value!r}")
    for name in sorted(written):
        if name in FLEX_FORBIDDEN or name.startswith(FLEX_FORBIDDEN_PREFIXES):
            findings.append(f"setting {name} must not be set on Flex Consumption")
        if name in NEVER_WRITTEN:
            findings.append(f"setting {name} must not be written in Azure")
    for name in sorted(SECRET_SETTINGS & written):
        if not is_key_vault_reference(settings.values[name]):
            findings.append(f"setting {name} is a secret: only a Key Vault reference may hold it")
    return findings


def _string_evaluation(project: Project, file: Any, node: Any) -> str | None:
    ok, value = _try_evaluate(project, file, node)
    return str(value) if ok else None


def name_findings(project: Project, facts: AppFacts) -> list[str]:
    """Queue and table names: settings, defaults, function.json and declared resources agree."""
    settings = app_settings(project)
    queues = declared_names(project, f"{STORAGE_ACCOUNT}/queueServices/queues")
    tables = declared_names(project, f"{STORAGE_ACCOUNT}/tableServices/tables")
    findings: list[str] = []
    values: dict[str, str] = {}
    for setting in (*QUEUE_SETTINGS, *TABLE_SETTINGS):
        node = settings.values.get(setting)
        if node is None:
            continue  # reported by setting_findings
        value = _string_evaluation(project, settings.file, node)
        if value is None:
            findings.append(f"setting {setting}: value cannot be followed to a literal")
            continue
        values[setting] = value
        declared = tables if setting in TABLE_SETTINGS else queues
        if value not in declared:
            findings.append(f"setting {setting} = {value!r} is not a declared queue or table")
        default = facts.default_names.get(setting)
        if default is not None and value != default:
            findings.append(
                f"setting {setting} = {value!r}, shared/settings.py default {default!r}"
            )
    for function, queue_name in sorted(facts.trigger_queues.items()):
        match = re.fullmatch(r"%(\w+)%", queue_name)
        if match is not None:
            resolved = values.get(match.group(1))
            if resolved is None:
                findings.append(f"{function}: queueName {queue_name} names no setting written")
                continue
        else:
            resolved = queue_name
        if resolved not in queues:
            findings.append(f"{function}: queue {resolved!r} is not declared")
        if f"{resolved}-poison" not in queues:
            findings.append(f"{function}: poison queue {resolved}-poison is not declared")
    return findings


def role_findings(project: Project, facts: AppFacts) -> list[str]:
    """An unconditional role for every storage service the code touches, for Key Vault
    references and for Application Insights ingestion."""
    assignments = [a for a in role_assignments(project) if not a.conditional]
    needed = [(SERVICE_ROLES[s], STORAGE_ACCOUNT) for s in sorted(facts.storage_services)]
    needed.append(("Key Vault Secrets User", "Microsoft.KeyVault/vaults"))
    needed.append(("Monitoring Metrics Publisher", "Microsoft.Insights/components"))
    findings: list[str] = []
    for role, scope_type in needed:
        role_id = ROLE_IDS[role]
        if not any(
            role_id in a.role_ids and a.scope_type.lower() == scope_type.lower()
            for a in assignments
        ):
            findings.append(f"no role assignment of {role} on a {scope_type}")
    return findings


def _path_value(obj: Any, *keys: str) -> Any:
    """The node at `obj.keys[0].keys[1]…` of an object literal, or None."""
    node = obj
    for key in keys:
        if node is None or node.type != "object":
            return None
        node = property_value(node, key)
    return node


_SECURITY_SWITCHES: dict[str, dict[str, object]] = {
    STORAGE_ACCOUNT: {
        "allowSharedKeyAccess": False,
        "allowBlobPublicAccess": False,
        "minimumTlsVersion": "TLS1_2",
    },
    "Microsoft.KeyVault/vaults": {"enableRbacAuthorization": True},
    "Microsoft.Insights/components": {"DisableLocalAuth": True},
    "Microsoft.OperationalInsights/workspaces": {"features.disableLocalAuth": True},
}


def _literal(node: Any) -> object:
    if node.type == "boolean":
        return text(node) == "true"
    literal = string_literal(node)
    return text(node) if literal is None else literal


def security_findings(project: Project) -> list[str]:
    """Shared keys, public blobs and old TLS off; Key Vault in RBAC mode; Application Insights
    and Log Analytics without local auth; the site resolves Key Vault references with its
    identity."""
    findings: list[str] = []
    for type_name, switches in _SECURITY_SWITCHES.items():
        declared = [r for r in project_resources(project, type_name) if not r.existing]
        if not declared:
            findings.append(f"no {type_name} declared")
        for resource in declared:
            obj = resource.body.obj
            props = None if obj is None else property_value(obj, "properties")
            for key, wanted in switches.items():
                value = _path_value(props, *key.split("."))
                if value is None or _literal(value) != wanted:
                    findings.append(f"{resource.symbol}: properties.{key} must be {wanted!r}")
    for site in project_resources(project, "Microsoft.Web/sites"):
        obj = site.body.obj
        props = None if obj is None else property_value(obj, "properties")
        if props is None or property_value(props, "keyVaultReferenceIdentity") is None:
            findings.append(f"{site.symbol}: properties.keyVaultReferenceIdentity is not set")
    return findings


def _evaluated(project: Project, file: Any, node: Any) -> object:
    """The value of `node` if the evaluator can follow it, else None."""
    if node is None:
        return None
    ok, value = _try_evaluate(project, file, node)
    return value if ok else None


def flex_findings(project: Project, facts: AppFacts) -> list[str]:
    """The Flex Consumption app the package is built for: an FC1 plan; Python at the version
    `make package` installs wheels for; deployment storage reached with the user-assigned
    identity; host storage and Application Insights by identity; a worker thread pool as big
    as what one instance is handed (a queue instance's messages, an HTTP instance's requests)."""
    findings: list[str] = []
    plans = [r for r in project_resources(project, "Microsoft.Web/serverfarms") if not r.existing]
    if not any(
        _evaluated(project, r.file, _path_value(r.body.obj, "sku", "name")) == "FC1" for r in plans
    ):
        findings.append("no Flex Consumption plan (sku FC1) declared")
    sites = [r for r in project_resources(project, "Microsoft.Web/sites") if not r.existing]
    http_concurrency: list[object] = []
    for site in sites:
        config = _path_value(site.body.obj, "properties", "functionAppConfig")
        runtime = [
            _evaluated(project, site.file, _path_value(config, "runtime", key))
            for key in ("name", "version")
        ]
        if runtime != ["python", facts.package_python_version]:
            findings.append(
                f"{site.symbol}: functionAppConfig.runtime is {runtime}, the package is built "
                f"for python {facts.package_python_version}"
            )
        auth = _path_value(config, "deployment", "storage", "authentication")
        if (
            _evaluated(project, site.file, _path_value(auth, "type")) != "UserAssignedIdentity"
            or _path_value(auth, "userAssignedIdentityResourceId") is None
        ):
            findings.append(
                f"{site.symbol}: deployment storage must authenticate with the user-assigned "
                "identity (functionAppConfig.deployment.storage.authentication)"
            )
        always_ready = _path_value(config, "scaleAndConcurrency", "alwaysReady")
        groups = {"http", *(f"function:{name}" for name in facts.trigger_queues)}
        for node in [] if always_ready is None else walk(always_ready):
            group = _path_value(node, "name") if node.type == "object" else None
            if group is not None and string_literal(group) not in groups:
                findings.append(
                    f"{site.symbol}: alwaysReady group {text(group)} is none of {sorted(groups)}"
                )
        concurrency = _path_value(
            config, "scaleAndConcurrency", "triggers", "http", "perInstanceConcurrency"
        )
        http_concurrency.append(_evaluated(project, site.file, concurrency))
    settings = app_settings(project)

    def setting(name: str) -> object:
        return _evaluated(project, settings.file, settings.values.get(name))

    if setting("AzureWebJobsStorage__credential") != "managedidentity":
        findings.append("setting AzureWebJobsStorage__credential must be 'managedidentity'")
    # Its client id is a deployment output, so the written text is checked, not a value.
    ai_auth = settings.values.get("APPLICATIONINSIGHTS_AUTHENTICATION_STRING")
    if ai_auth is None or not re.search(r"ClientId=\$\{\w+\};Authorization=AAD", text(ai_auth)):
        findings.append(
            "setting APPLICATIONINSIGHTS_AUTHENTICATION_STRING must be "
            "'ClientId=${<identity client id>};Authorization=AAD'"
        )
    threads = setting("PYTHON_THREADPOOL_THREAD_COUNT")
    queue_prefix = f"{HOST_JSON_OVERRIDE_PREFIX}extensions__queues__"
    held = [setting(f"{queue_prefix}batchSize"), setting(f"{queue_prefix}newBatchThreshold")]
    needs = {
        "batchSize + newBatchThreshold": sum(int(str(v)) for v in held)
        if all(v is not None for v in held)
        else None,
        "the HTTP perInstanceConcurrency": next((c for c in http_concurrency if c), None),
    }
    for what, need in needs.items():
        if need is None:
            findings.append(f"cannot follow {what} to a number")
        elif threads is None or int(str(threads)) < int(str(need)):
            findings.append(
                f"setting PYTHON_THREADPOOL_THREAD_COUNT ({threads}) is below {what} ({need})"
            )
    return findings


def deployment_findings(project: Project, facts: AppFacts) -> list[str]:
    """Every rule above."""
    return [
        *setting_findings(project, facts),
        *name_findings(project, facts),
        *role_findings(project, facts),
        *security_findings(project),
        *flex_findings(project, facts),
    ]
