// twilio-azure-functions on Azure: `azd up` from the repo root provisions this and deploys the app.
// Everything is secretless except the two Twilio secrets, which live in Key Vault; the function
// app reaches storage, Key Vault and Application Insights with one user-assigned identity.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and seeds every resource name.')
param environmentName string

@minLength(1)
@description('Region of every resource; it must offer Flex Consumption with Python 3.13.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the deploying user or service principal (azd sets AZURE_PRINCIPAL_ID); gets queue and table data roles so the producer CLI works from a laptop. Empty: no roles for it.')
param principalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
])
@description('Kind of principal principalId names.')
param principalType string = 'User'

@description('Twilio account SID (AC...).')
param twilioAccountSid string

@secure()
@description('Twilio auth token: REST auth (unless an API key is given) and webhook signatures. Stored in Key Vault only.')
param twilioAuthToken string

@description('Default sender / caller id in E.164 (+1555...). Needed for calls, and for SMS without a Messaging Service.')
param twilioFromNumber string = ''

@description('Default Messaging Service SID (MG...) for SMS. Optional.')
param twilioMessagingServiceSid string = ''

@description('Twilio API key SID (SK...) for REST auth instead of the auth token. Optional; give its secret too.')
param twilioApiKeySid string = ''

@secure()
@description('Secret of the Twilio API key. Optional; stored in Key Vault only.')
param twilioApiKeySecret string = ''

@description('Public origin Twilio calls (custom domain, Front Door). Empty: https:// plus the function app default host name.')
param publicBaseUrl string = ''

@minValue(1)
@maxValue(1000)
@description('Flex Consumption instance cap, per scale group (send_sms, send_call, and the HTTP functions scale apart). Some regions refuse less than 40.')
param maximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
@description('Memory per instance, MB.')
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
@description('Concurrent HTTP requests one instance of the HTTP group (twiml_voice, status_callback) is given before Flex adds an instance (functionAppConfig.scaleAndConcurrency.triggers.http.perInstanceConcurrency).')
param httpPerInstanceConcurrency int = 16

@minValue(0)
@description('Always-ready instances of the HTTP group (twiml_voice, status_callback): no cold start on Twilio webhooks. 0: none (billed only when used).')
param alwaysReadyHttpInstances int = 0

@minValue(1)
@maxValue(32)
@description('Queue messages one instance fetches per batch (host.json extensions.queues.batchSize).')
param queueBatchSize int = 16

@minValue(0)
@description('Fetch the next batch when this many of the batch are still running (host.json extensions.queues.newBatchThreshold).')
param queueNewBatchThreshold int = 8

@minValue(1)
@maxValue(300)
@description('Timeout of every Twilio request, seconds.')
param twilioHttpTimeoutSeconds int = 10

@description('NCRONTAB (seconds first) of the status sweeper')
param statusSweepSchedule string = '0 */1 * * * *'

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
// The app's queue and table names (the same defaults as shared/settings.py and the function.json files).
var smsQueueName = 'sms-requests'
var callQueueName = 'call-requests'
var eventsQueueName = 'delivery-events'
var deliveriesTableName = 'deliveries'
var deploymentContainerName = 'app-package'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-api-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    // The triggers' poison queues are declared too, so `producer poison list` works before the first failure.
    queueNames: [
      smsQueueName
      '${smsQueueName}-poison'
      callQueueName
      '${callQueueName}-poison'
      eventsQueueName
    ]
    tableNames: [
      deliveriesTableName
    ]
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: 'kv-${resourceToken}'
    location: location
    tags: tags
    twilioAuthToken: twilioAuthToken
    twilioApiKeySecret: twilioApiKeySecret
    storeApiKeySecret: !empty(twilioApiKeySecret)
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultName: keyVault.outputs.name
    identityPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
    userPrincipalType: principalType
  }
}

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: 'func-api-${resourceToken}'
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    deploymentContainerUrl: '${storage.outputs.blobEndpoint}${deploymentContainerName}'
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    twilioAuthTokenSecretUri: keyVault.outputs.authTokenSecretUri
    twilioApiKeySecretUri: keyVault.outputs.apiKeySecretUri
    twilioAccountSid: twilioAccountSid
    twilioFromNumber: twilioFromNumber
    twilioMessagingServiceSid: twilioMessagingServiceSid
    twilioApiKeySid: twilioApiKeySid
    twilioHttpTimeoutSeconds: twilioHttpTimeoutSeconds
    statusSweepSchedule: statusSweepSchedule
    publicBaseUrl: publicBaseUrl
    smsQueueName: smsQueueName
    callQueueName: callQueueName
    eventsQueueName: eventsQueueName
    deliveriesTableName: deliveriesTableName
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    alwaysReadyHttpInstances: alwaysReadyHttpInstances
    httpPerInstanceConcurrency: httpPerInstanceConcurrency
    queueBatchSize: queueBatchSize
    queueNewBatchThreshold: queueNewBatchThreshold
  }
  // The app must not start before its identity may read its secrets and storage.
  dependsOn: [
    rbac
  ]
}

// azd writes these to .azure/<env>/.env; `make smoke` and the producer CLI read them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_QUEUE_ENDPOINT string = storage.outputs.queueEndpoint
output AZURE_STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output PUBLIC_BASE_URL string = api.outputs.publicBaseUrl
output STATUS_CALLBACK_URL string = '${api.outputs.publicBaseUrl}/api/status_callback'
output TWIML_VOICE_URL string = '${api.outputs.publicBaseUrl}/api/twiml_voice'
output SMS_QUEUE_NAME string = smsQueueName
output CALL_QUEUE_NAME string = callQueueName
output EVENTS_QUEUE_NAME string = eventsQueueName
output DELIVERIES_TABLE_NAME string = deliveriesTableName
