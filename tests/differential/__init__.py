"""Differential tests against PAVI's own code; :data:`SUMMARY` collects their figures."""

SUMMARY: list[str] = []
