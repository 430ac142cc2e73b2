"""The files being checked: a repository root with deploy/ (and docs/runbook.md)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Tree:
    root: Path
    # Parsed YAML documents by path (filled by yamlfiles.check; files that failed to parse
    # are absent).
    yaml_docs: dict[Path, list] = field(default_factory=dict)

    @property
    def deploy(self) -> Path:
        return self.root / "deploy"

    @property
    def kubernetes(self) -> Path:
        return self.deploy / "kubernetes"

    def rel(self, path: Path) -> str:
        """The path as printed: relative to the root."""
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def docs(self, path: Path) -> list:
        """A deep copy of the parsed documents of a YAML file (FileNotFoundError if it did not parse)."""
        if path not in self.yaml_docs:
            raise FileNotFoundError(f"{self.rel(path)} missing or not parsed")
        return copy.deepcopy(self.yaml_docs[path])
