"""Offline checks of the deployment files in deploy/ (see README.md beside this package)."""
