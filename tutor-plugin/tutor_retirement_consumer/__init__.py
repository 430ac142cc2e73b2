"""Tutor plugin for retirement-consumer (see docs/tutor.md in the repository)."""
