"""Test double of the edx-platform package of the same path."""
