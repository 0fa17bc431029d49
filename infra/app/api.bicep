// The Flex Consumption plan and function app, with every app setting in one `appsettings` resource.
param name string
param planName string
param location string
param tags object
param identityId string
param identityClientId string
param deploymentContainerUrl string
param blobEndpoint string
param queueEndpoint string
param tableEndpoint string
param applicationInsightsConnectionString string
param twilioAuthTokenSecretUri string
@description('Empty: no API key secret in Key Vault.')
param twilioApiKeySecretUri string
param twilioAccountSid string
param twilioFromNumber string
param twilioMessagingServiceSid string
param twilioApiKeySid string
param twilioHttpTimeoutSeconds int
param publicBaseUrl string
param smsQueueName string
param callQueueName string
param eventsQueueName string
param deliveriesTableName string
param maximumInstanceCount int
param instanceMemoryMB int
param alwaysReadyHttpInstances int
param httpPerInstanceConcurrency int
param queueBatchSize int
param queueNewBatchThreshold int
@description('NCRONTAB (seconds first) of the status sweeper, which polls Twilio for statuses whose callbacks were missed')
param statusSweepSchedule string = '0 */1 * * * *'
@description('Seconds between polls of one delivery, in order; the last one repeats')
param statusSweepBackoffSeconds string = '60,300,1800,7200,21600'
@description('After this many hours a delivery still not final is recorded as final status unknown')
param statusSweepMaxAgeHours int = 72
param statusSweepMaxDeliveries int = 200
param statusSweepClaimTimeoutMinutes int = 60

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd deploys the `api` service of azure.yaml to the site with this tag.
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        alwaysReady: alwaysReadyHttpInstances > 0
          ? [
              {
                name: 'http'
                instanceCount: alwaysReadyHttpInstances
              }
            ]
          : []
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'python'
        version: '3.13'
      }
    }
  }
}

var resolvedPublicBaseUrl = empty(publicBaseUrl) ? 'https://${site.properties.defaultHostName}' : publicBaseUrl

// The whole app-settings collection (this resource replaces it): host storage by identity,
// Application Insights by identity, host.json overrides, and what shared/settings.py reads.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: {
    AzureWebJobsStorage__blobServiceUri: blobEndpoint
    AzureWebJobsStorage__queueServiceUri: queueEndpoint
    AzureWebJobsStorage__tableServiceUri: tableEndpoint
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    AzureFunctionsJobHost__extensions__queues__batchSize: string(queueBatchSize)
    AzureFunctionsJobHost__extensions__queues__newBatchThreshold: string(queueNewBatchThreshold)
    // The functions are synchronous and run on the worker's one thread pool, whose default
    // (min(32, CPUs + 4)) is fewer threads than an instance holds messages or HTTP requests;
    // they wait on Twilio and storage, not the CPU. Every scale group gets the same setting, so
    // it covers both: a queue instance's messages and an HTTP instance's requests.
    PYTHON_THREADPOOL_THREAD_COUNT: string(max(queueBatchSize + queueNewBatchThreshold, httpPerInstanceConcurrency))
    TWILIO_ACCOUNT_SID: twilioAccountSid
    TWILIO_AUTH_TOKEN: '@Microsoft.KeyVault(SecretUri=${twilioAuthTokenSecretUri})'
    TWILIO_API_KEY_SID: twilioApiKeySid
    TWILIO_API_KEY_SECRET: empty(twilioApiKeySecretUri) ? '' : '@Microsoft.KeyVault(SecretUri=${twilioApiKeySecretUri})'
    TWILIO_FROM_NUMBER: twilioFromNumber
    TWILIO_MESSAGING_SERVICE_SID: twilioMessagingServiceSid
    // Empty: Twilio's own API (the emulator's URL is for the local stack only).
    TWILIO_API_BASE_URL: ''
    TWILIO_HTTP_TIMEOUT_SECONDS: string(twilioHttpTimeoutSeconds)
    PUBLIC_BASE_URL: resolvedPublicBaseUrl
    SMS_QUEUE_NAME: smsQueueName
    CALL_QUEUE_NAME: callQueueName
    EVENTS_QUEUE_NAME: eventsQueueName
    DELIVERIES_TABLE_NAME: deliveriesTableName
    STATUS_SWEEP_SCHEDULE: statusSweepSchedule
    STATUS_SWEEP_BACKOFF_SECONDS: statusSweepBackoffSeconds
    STATUS_SWEEP_MAX_AGE_HOURS: string(statusSweepMaxAgeHours)
    STATUS_SWEEP_MAX_DELIVERIES: string(statusSweepMaxDeliveries)
    STATUS_SWEEP_CLAIM_TIMEOUT_MINUTES: string(statusSweepClaimTimeoutMinutes)
  }
}

output name string = site.name
output publicBaseUrl string = resolvedPublicBaseUrl
