"""A small stand-in for edx-platform's ``lms`` package: only the settings modules (``envs``)."""
