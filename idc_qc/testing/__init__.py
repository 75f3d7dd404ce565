"""Test support that ships with the package: the bqemulator launcher and its helpers.

Nothing here is imported by the CLI; it exists so tests (and a developer at a shell) can
start a local BigQuery-dialect engine without network access.
"""
