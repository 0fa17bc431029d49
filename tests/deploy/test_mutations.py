"""Breaking a template makes the checks fail: each mutation is applied to a copy of infra/ and
the finding it must cause is asserted (so the checks are shown able to fail)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.bicep_check import check_project, load_project
from tests.deploy.deploy_rules import AppFacts, deployment_findings

# `new` for a mutation that deletes the block starting at `old`, up to its blank line.
DELETE_BLOCK = "<delete block>"


@dataclass(frozen=True)
class Mutation:
    """Replace `old` (which must occur exactly once) by `new` in `file`; expect `finding`."""

    name: str
    file: str
    old: str
    new: str
    finding: str


MUTATIONS = [
    Mutation(
        "typo in a top-level property",
        "app/storage.bicep",
        "    allowSharedKeyAccess: false\n",
        "    allowSharedKeyAcess: false\n",
        "unknown property 'allowSharedKeyAcess'",
    ),
    Mutation(
        "typo in a nested property",
        "app/api.bicep",
        "maximumInstanceCount: maximumInstanceCount",
        "maximumInstanceCont: maximumInstanceCount",
        "unknown property 'maximumInstanceCont'",
    ),
    Mutation(
        "typo inside an array item",
        "app/api.bicep",
        "instanceCount: alwaysReadyHttpInstances",
        "instanceCounts: alwaysReadyHttpInstances",
        "unknown property 'instanceCounts'",
    ),
    Mutation(
        "unknown apiVersion",
        "app/api.bicep",
        "'Microsoft.Web/sites@2024-04-01'",
        "'Microsoft.Web/sites@2024-04-02'",
        "unknown 'Microsoft.Web/sites@2024-04-02'",
    ),
    Mutation(
        "unknown resource type",
        "app/identity.bicep",
        "'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31'",
        "'Microsoft.ManagedIdentity/userAssignedIdentity@2023-01-31'",
        "unknown 'Microsoft.ManagedIdentity/userAssignedIdentity@2023-01-31'",
    ),
    Mutation(
        "missing closing brace",
        "app/keyvault.bicep",
        "    contentType: 'text/plain'\n  }\n}\n\nresource apiKeySecret",
        "    contentType: 'text/plain'\n  }\n\nresource apiKeySecret",
        "syntax error",
    ),
    Mutation(
        "missing opening brace",
        "app/monitoring.bicep",
        "  properties: {\n    sku: {",
        "  properties: \n    sku: {",
        "syntax error",
    ),
    Mutation(
        "undefined symbol",
        "app/api.bicep",
        "AzureWebJobsStorage__clientId: identityClientId",
        "AzureWebJobsStorage__clientId: identityClientID",
        "undefined symbol 'identityClientID'",
    ),
    Mutation(
        "undefined loop variable",
        "app/storage.bicep",
        "    name: queueName\n",
        "    name: queue\n",
        "undefined symbol 'queue'",
    ),
    Mutation(
        "unknown function",
        "main.bicep",
        "toLower(uniqueString(",
        "toLowr(uniqueString(",
        "unknown function 'toLowr'",
    ),
    Mutation(
        "missing module file",
        "main.bicep",
        "module rbac 'app/rbac.bicep'",
        "module rbac 'app/roles.bicep'",
        "no file 'app/roles.bicep'",
    ),
    Mutation(
        "module param the module does not declare",
        "main.bicep",
        "    userPrincipalType: principalType\n",
        "    userPrincipalType: principalType\n    userPrincipalKind: principalType\n",
        "has no param userPrincipalKind",
    ),
    Mutation(
        "module output that does not exist",
        "main.bicep",
        "    identityClientId: identity.outputs.clientId\n",
        "    identityClientId: identity.outputs.clientID\n",
        "has no output 'clientID'",
    ),
    Mutation(
        "plain-text secret setting",
        "app/api.bicep",
        "TWILIO_AUTH_TOKEN: '@Microsoft.KeyVault(SecretUri=${twilioAuthTokenSecretUri})'",
        "TWILIO_AUTH_TOKEN: twilioAuthTokenSecretUri",
        "TWILIO_AUTH_TOKEN is a secret",
    ),
    Mutation(
        "optional secret as plain text in one branch",
        "app/api.bicep",
        "empty(twilioApiKeySecretUri) ? '' : '@Microsoft.KeyVault(",
        "empty(twilioApiKeySecretUri) ? 'x' : '@Microsoft.KeyVault(",
        "TWILIO_API_KEY_SECRET is a secret",
    ),
    Mutation(
        "output exposing a secure parameter",
        "app/keyvault.bicep",
        "output name string = vault.name\n",
        "output name string = '${vault.name}${twilioAuthToken}'\n",
        "output name uses @secure() param twilioAuthToken",
    ),
    Mutation(
        "removed role assignment",
        "app/rbac.bicep",
        "resource appQueueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01'",
        DELETE_BLOCK,
        "no role assignment of Storage Queue Data Contributor",
    ),
    Mutation(
        "role on the wrong resource",
        "app/rbac.bicep",
        "  scope: vault\n",
        "  scope: storageAccount\n",
        "no role assignment of Key Vault Secrets User",
    ),
    Mutation(
        "setting Flex forbids",
        "app/api.bicep",
        "    SMS_QUEUE_NAME: smsQueueName\n",
        "    SMS_QUEUE_NAME: smsQueueName\n    FUNCTIONS_WORKER_RUNTIME: 'python'\n",
        "FUNCTIONS_WORKER_RUNTIME must not be set on Flex Consumption",
    ),
    Mutation(
        "storage connection string in Azure",
        "app/api.bicep",
        "    SMS_QUEUE_NAME: smsQueueName\n",
        "    SMS_QUEUE_NAME: smsQueueName\n    AzureWebJobsStorage: blobEndpoint\n",
        "AzureWebJobsStorage must not be written",
    ),
    Mutation(
        "setting the app reads is missing",
        "app/api.bicep",
        "    EVENTS_QUEUE_NAME: eventsQueueName\n",
        "",
        "setting EVENTS_QUEUE_NAME is read but not written",
    ),
    Mutation(
        "setting nothing reads",
        "app/api.bicep",
        "    SMS_QUEUE_NAME: smsQueueName\n",
        "    SMS_QUEUE_NAME: smsQueueName\n    SMS_QUEUE: smsQueueName\n",
        "setting SMS_QUEUE is written but nothing reads it",
    ),
    Mutation(
        "queue name that differs from the app's default",
        "main.bicep",
        "var smsQueueName = 'sms-requests'",
        "var smsQueueName = 'sms-request'",
        "shared/settings.py default 'sms-requests'",
    ),
    Mutation(
        "poison queue not declared",
        "main.bicep",
        "      '${callQueueName}-poison'\n",
        "",
        "poison queue call-requests-poison is not declared",
    ),
    Mutation(
        "host.json override default that disagrees with host.json",
        "main.bicep",
        "param queueBatchSize int = 16",
        "param queueBatchSize int = 32",
        "host.json has 16",
    ),
    Mutation(
        "runtime other than the one the package is built for",
        "app/api.bicep",
        "        version: '3.13'\n",
        "        version: '3.11'\n",
        "the package is built for python 3.13",
    ),
    Mutation(
        "plan that is not Flex Consumption",
        "app/api.bicep",
        "    name: 'FC1'\n",
        "    name: 'Y1'\n",
        "no Flex Consumption plan (sku FC1) declared",
    ),
    Mutation(
        "deployment storage without the identity",
        "app/api.bicep",
        "            type: 'UserAssignedIdentity'\n",
        "            type: 'StorageAccountConnectionString'\n",
        "deployment storage must authenticate with the user-assigned identity",
    ),
    Mutation(
        "always-ready instances for a scale group that does not exist",
        "app/api.bicep",
        "                name: 'http'\n",
        "                name: 'htttp'\n",
        "alwaysReady group 'htttp' is none of",
    ),
    Mutation(
        "host storage credential not the managed identity",
        "app/api.bicep",
        "AzureWebJobsStorage__credential: 'managedidentity'",
        "AzureWebJobsStorage__credential: 'connectionstring'",
        "AzureWebJobsStorage__credential must be 'managedidentity'",
    ),
    Mutation(
        "Application Insights with an instrumentation key",
        "app/api.bicep",
        ";Authorization=AAD'",
        "'",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING must be",
    ),
    Mutation(
        "thread pool smaller than an HTTP instance's requests",
        "app/api.bicep",
        "perInstanceConcurrency: httpPerInstanceConcurrency",
        "perInstanceConcurrency: 32",
        "PYTHON_THREADPOOL_THREAD_COUNT (24) is below the HTTP perInstanceConcurrency (32)",
    ),
    Mutation(
        "thread pool smaller than the messages an instance holds",
        "app/api.bicep",
        "max(queueBatchSize + queueNewBatchThreshold, httpPerInstanceConcurrency)",
        "httpPerInstanceConcurrency",
        "PYTHON_THREADPOOL_THREAD_COUNT (16) is below batchSize + newBatchThreshold (24)",
    ),
    Mutation(
        "shared keys back on",
        "app/storage.bicep",
        "    allowSharedKeyAccess: false\n",
        "    allowSharedKeyAccess: true\n",
        "properties.allowSharedKeyAccess must be False",
    ),
    Mutation(
        "workspace keys back on in Log Analytics",
        "app/monitoring.bicep",
        "      disableLocalAuth: true\n",
        "      disableLocalAuth: false\n",
        "properties.features.disableLocalAuth must be True",
    ),
    Mutation(
        "local auth back on in Application Insights",
        "app/monitoring.bicep",
        "    DisableLocalAuth: true\n",
        "",
        "properties.DisableLocalAuth must be True",
    ),
]


def _all_findings(infra: Path, types: dict[str, Any], facts: AppFacts) -> list[str]:
    findings = [str(f) for f in check_project(infra, types)]
    if findings:
        return findings
    return deployment_findings(load_project(infra), facts)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.name)
def test_a_broken_template_is_reported(
    mutation: Mutation, infra_copy: Path, bicep_types: dict[str, Any], facts: AppFacts
) -> None:
    target = infra_copy / mutation.file
    source = target.read_text(encoding="utf-8")
    assert source.count(mutation.old) == 1, f"mutation no longer applies to {mutation.file}"
    assert _all_findings(infra_copy, bicep_types, facts) == []
    if mutation.new == DELETE_BLOCK:
        start = source.index(mutation.old)
        end = source.index("\n\n", start) + 2
        broken = source[:start] + source[end:]
    else:
        broken = source.replace(mutation.old, mutation.new)
    target.write_text(broken, encoding="utf-8")

    findings = _all_findings(infra_copy, bicep_types, facts)

    assert any(mutation.finding in f for f in findings), findings
