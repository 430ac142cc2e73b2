"""One line per check (PASS / FAIL / SKIP) and the closing `N passed, N failed` line."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Result:
    status: str  # "PASS", "FAIL" or "SKIP"
    name: str
    detail: str = ""


@dataclass
class Report:
    out: TextIO | None = field(default_factory=lambda: sys.stdout)
    results: list[Result] = field(default_factory=list)

    def _add(self, status: str, name: str, detail: object = None) -> None:
        text = "" if detail is None else str(detail).strip()
        self.results.append(Result(status, name, text))
        if self.out is not None:
            print(f"{status}  {name}", file=self.out, flush=True)
            for line in text.splitlines()[:15]:
                print(f"      {line}", file=self.out, flush=True)

    def ok(self, name: str) -> None:
        self._add("PASS", name)

    def fail(self, name: str, detail: object = None) -> None:
        self._add("FAIL", name, detail)

    def skip(self, name: str, reason: str) -> None:
        self._add("SKIP", name, reason)

    def check(self, name: str, fn: Callable[[], str | None]) -> bool:
        """Runs fn: None means pass, a string is the problem; an exception is a failure too."""
        try:
            problem = fn()
        except Exception as e:  # any crash of a check is that check's failure
            problem = f"{type(e).__name__}: {e}"
        if problem:
            self.fail(name, problem)
            return False
        self.ok(name)
        return True

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def passed(self) -> int:
        return self.count("PASS")

    @property
    def failed(self) -> int:
        return self.count("FAIL")

    @property
    def skipped(self) -> int:
        return self.count("SKIP")

    def failures(self) -> list[Result]:
        return [r for r in self.results if r.status == "FAIL"]

    def summary(self) -> str:
        return f"{self.passed} passed, {self.failed} failed"
