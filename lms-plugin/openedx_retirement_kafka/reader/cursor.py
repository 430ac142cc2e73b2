"""
The reader's cursor: which retirements it has published, and when it last read the whole window.

A JSON file, replaced atomically (write a temporary file in the same directory, fsync, rename)
after every confirmed batch, so a restart neither republishes nor skips::

    {
      "format": "openedx-retirement-reader-cursor/1",
      "lms_host": "lms.example.org",
      "topic": "user-retirement",
      "last_complete_scan": {"finished_at": "2026-12-01T10:15:00Z",
                             "first_day": "2026-10-22", "last_day": "2026-12-01"},
      "published": {"46": "2026-10-18", ...}
    }

``published`` maps each published retirement id (``UserRetirementStatus.id``) to its request
day (``created``). Entries older than the window being read are pruned: the LMS API only
returns rows by request day, so an id older than the window can never come back.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

FORMAT = "openedx-retirement-reader-cursor/1"


class CursorError(Exception):
    """The cursor file cannot be used (unreadable, corrupt, or another LMS's or topic's)."""


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class Cursor:
    lms_host: str
    topic: str
    path: Path | None = None
    published: dict[int, date] = field(default_factory=dict)
    finished_at: datetime | None = None
    first_day: date | None = None
    last_day: date | None = None

    @classmethod
    def load(cls, path: Path | None, lms_host: str, topic: str) -> Cursor:
        """The cursor in ``path`` (a new one when the file does not exist, or without a path)."""
        cursor = cls(lms_host=lms_host, topic=topic, path=path)
        if path is None or not path.exists():
            return cursor
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise ValueError(f"not a {FORMAT} file")
            if data.get("lms_host") != lms_host or data.get("topic") != topic:
                raise CursorError(
                    f"{path} is the cursor of LMS host {data.get('lms_host')!r} and topic "
                    f"{data.get('topic')!r}, not {lms_host!r} and {topic!r}"
                )
            cursor.published = {int(k): date.fromisoformat(v) for k, v in data.get("published", {}).items()}
            scan = data.get("last_complete_scan") or {}
            if scan:
                cursor.finished_at = datetime.fromisoformat(scan["finished_at"].replace("Z", "+00:00"))
                cursor.first_day = date.fromisoformat(scan["first_day"])
                cursor.last_day = date.fromisoformat(scan["last_day"])
        except CursorError:
            raise
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CursorError(f"{path} is not a usable cursor file: {type(exc).__name__}: {exc}") from None
        return cursor

    def is_published(self, retirement_id: int) -> bool:
        return retirement_id in self.published

    def mark_published(self, retirement_id: int, day: date) -> None:
        self.published[retirement_id] = day

    def complete_scan(self, first_day: date, last_day: date, now: datetime) -> None:
        self.finished_at = now
        self.first_day = first_day
        self.last_day = last_day

    def prune(self, before: date) -> int:
        """Forget ids requested before ``before``; returns how many."""
        old = [rid for rid, day in self.published.items() if day < before]
        for rid in old:
            del self.published[rid]
        return len(old)

    def to_json(self) -> dict:
        data: dict = {"format": FORMAT, "lms_host": self.lms_host, "topic": self.topic}
        if self.finished_at is not None:
            data["last_complete_scan"] = {
                "finished_at": _stamp(self.finished_at),
                "first_day": self.first_day.isoformat(),
                "last_day": self.last_day.isoformat(),
            }
        data["published"] = {str(rid): day.isoformat() for rid, day in sorted(self.published.items())}
        return data

    def save(self) -> None:
        """Atomically replace the file (no-op without a path)."""
        if self.path is None:
            return
        directory = self.path.parent
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self.to_json(), handle, indent=1)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        try:
            dir_fd = os.open(directory, os.O_RDONLY)
        except OSError:  # pragma: no cover - platforms without directory fds
            return
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
