"""
Builds the package with the sources the image builds need (docs/tutor.md, "Nothing to
publish first"): the LMS plugin (lms-plugin/) and the consumer (Package.swift, Sources, Tests,
deploy/Dockerfile) are copied from the repository into tutor_retirement_consumer/sources/.
Built outside the repository (e.g. from an sdist) the package carries no sources, and the
plugin says so when an image build needs them.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

REPO = Path(__file__).resolve().parent.parent
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist", ".*", "tests")


class BuildWithSources(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / "tutor_retirement_consumer" / "sources"
        if not (REPO / "lms-plugin" / "pyproject.toml").is_file():
            return
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(REPO / "lms-plugin", target / "lms-plugin", ignore=IGNORE)
        consumer = target / "consumer"
        consumer.mkdir(parents=True)
        shutil.copy2(REPO / "Package.swift", consumer / "Package.swift")
        if (REPO / "Package.resolved").is_file():
            shutil.copy2(REPO / "Package.resolved", consumer / "Package.resolved")
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
        shutil.copytree(REPO / "Sources", consumer / "Sources", ignore=ignore)
        shutil.copytree(REPO / "Tests", consumer / "Tests", ignore=ignore)
        (consumer / "deploy").mkdir()
        for name in ("Dockerfile", "Dockerfile.dockerignore"):
            shutil.copy2(REPO / "deploy" / name, consumer / "deploy" / name)


setup(cmdclass={"build_py": BuildWithSources})
