// Key Vault (RBAC mode) holding the Twilio secrets; the app reads them through Key Vault references.
param name string
param location string
param tags object

@secure()
param twilioAuthToken string

@secure()
param twilioApiKeySecret string

@description('Whether twilioApiKeySecret is given (a plain bool, so no output depends on a secure value).')
param storeApiKeySecret bool

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
  }
}

resource authTokenSecret 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = {
  parent: vault
  name: 'twilio-auth-token'
  properties: {
    value: twilioAuthToken
    contentType: 'text/plain'
  }
}

resource apiKeySecret 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = if (storeApiKeySecret) {
  parent: vault
  name: 'twilio-api-key-secret'
  properties: {
    value: twilioApiKeySecret
    contentType: 'text/plain'
  }
}

output name string = vault.name
// Versionless URIs: a new secret version is picked up without a redeploy.
output authTokenSecretUri string = authTokenSecret.properties.secretUri
output apiKeySecretUri string = storeApiKeySecret ? apiKeySecret.properties.secretUri : ''
