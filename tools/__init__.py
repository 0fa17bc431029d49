"""Build tools for the deployment (not deployed)."""
