"""Local stand-in for the Azure Functions host: runs a v1 Python app through
azure-functions-runtime-v1 in process, polls its queue triggers in Azurite with the host's
rules and serves its HTTP triggers. `func start` stays the reference."""
