"""Publish Open edX learner retirements to Kafka (an edx-platform LMS plugin)."""

__version__ = "0.1.0"
