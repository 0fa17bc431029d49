"""Producer library and CLI for the twilio-azure-functions queues.

Other systems enqueue SMS and call requests validated with the app's own contracts
(`shared.contracts`), read a request's delivery state and the delivery events, and operators
inspect and replay poison queues. `python -m producer --help` lists the commands."""
