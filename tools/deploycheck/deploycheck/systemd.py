"""deploy/systemd/: the unit against its config, and `systemd-analyze verify`.

`systemd-analyze verify` fails when ExecStart's binary does not exist, and a CI machine
has no installed retirement-consumer. So a copy of the unit is verified with ExecStart's
binary swapped for /bin/true and EnvironmentFile= made optional ("-" prefix); every other
line is verified as written. The real ExecStart line is checked separately.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .consistency import refused_properties, stop_budget
from .report import Report
from .tree import Tree

BINARY = "/usr/local/bin/retirement-consumer"
EXEC_START = f"ExecStart={BINARY} run --config /etc/retirement-consumer/config.yaml"


def verifiable_copy(unit_text: str) -> str:
    text = re.sub(rf"^ExecStart={re.escape(BINARY)} ", "ExecStart=/bin/true ", unit_text, flags=re.M)
    return re.sub(r"^EnvironmentFile=([^-])", r"EnvironmentFile=-\1", text, flags=re.M)


def verify(unit: Path, systemd_analyze: str) -> str | None:
    """Problems `systemd-analyze verify` reports on a verifiable copy of the unit (None: clean)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / unit.name
        copy.write_text(verifiable_copy(unit.read_text(encoding="utf-8")), encoding="utf-8")
        proc = subprocess.run(
            [systemd_analyze, "verify", str(copy)], capture_output=True, text=True, timeout=120
        )
    out = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0 or out:
        return out or f"systemd-analyze exited {proc.returncode}"
    return None


def check(tree: Tree, report: Report, systemd_analyze: str | None = None) -> None:
    unit = tree.deploy / "systemd" / "retirement-consumer.service"
    config = tree.deploy / "systemd" / "config.example.yaml"

    def timeout():
        m = re.search(r"^TimeoutStopSec=(\d+)s?$", unit.read_text(encoding="utf-8"), re.M)
        if not m:
            return "TimeoutStopSec= not set in seconds"
        return (
            None if int(m.group(1)) >= stop_budget(tree.docs(config)[0]) + 10 else "TimeoutStopSec too short"
        )

    def exec_start():
        return None if EXEC_START in unit.read_text(encoding="utf-8") else "ExecStart differs"

    def env_file():
        wanted = set(re.findall(r"_env:\s*(\w+)", config.read_text(encoding="utf-8")))
        has_file = "EnvironmentFile=" in unit.read_text(encoding="utf-8")
        return (
            None if has_file or not wanted else "config reads env vars but the unit has no EnvironmentFile="
        )

    report.check("systemd: TimeoutStopSec exceeds shutdown_grace + commit_timeout by >= 10s", timeout)
    report.check(
        "systemd: config.example.yaml sets no refused kafka.properties",
        lambda: refused_properties(tree.docs(config)[0]),
    )
    report.check("systemd: ExecStart runs `run --config /etc/retirement-consumer/config.yaml`", exec_start)
    report.check("systemd: env-read secrets come from an EnvironmentFile", env_file)

    name = f"systemd-analyze verify {tree.rel(unit)} (copy with ExecStart=/bin/true)"
    tool = systemd_analyze or shutil.which("systemd-analyze")
    if tool is None:
        report.skip(name, "systemd-analyze not available (Debian package systemd)")
        return
    report.check(name, lambda: verify(unit, tool))
