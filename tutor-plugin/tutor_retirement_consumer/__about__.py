# Kept equal to the version of the repository's LMS plugin (lms-plugin/pyproject.toml):
# the default requirement installs openedx-retirement-kafka at this version.
__version__ = "0.1.0"
