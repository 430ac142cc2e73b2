"""deploy/compose/: the Compose file against the Compose spec, and against its config."""

from __future__ import annotations

import subprocess
import sys

from .consistency import compose_partitions, dur, refused_properties, stop_budget
from .report import Report
from .tree import Tree


def check(tree: Tree, report: Report) -> None:
    compose_file = tree.deploy / "compose" / "compose.yaml"

    def grace():
        compose = tree.docs(compose_file)[0]
        config = tree.docs(tree.deploy / "compose" / "config.yaml")[0]
        stop = dur(compose["services"]["consumer"]["stop_grace_period"])
        return None if stop >= stop_budget(config) + 10 else "too short"

    def refused():
        return refused_properties(tree.docs(tree.deploy / "compose" / "config.yaml")[0])

    def topics():
        compose = tree.docs(compose_file)[0]
        command = " ".join(compose["services"]["kafka-init"]["command"])
        partitions = compose_partitions(tree)
        return (
            None
            if partitions == 12 and "--topic user-retirement.dlq" in command
            else f"partitions {partitions}"
        )

    report.check("compose: stop_grace_period exceeds shutdown_grace + commit_timeout by >= 10s", grace)
    report.check("compose: config.yaml sets no refused kafka.properties", refused)
    report.check("compose: topic has 12 partitions and a .dlq topic is created", topics)

    # The Compose spec schema vendored in check-jsonschema (run as its own CLI).
    name = f"compose spec schema: {tree.rel(compose_file)}"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(compose_file),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode == 0:
        report.ok(name)
    else:
        report.fail(name, (proc.stdout + proc.stderr).strip())
