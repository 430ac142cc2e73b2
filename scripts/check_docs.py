"""Checks the repository's documentation references. Standard library only.

1. Every link in a tracked Markdown file points at a file that exists and, when it has one,
   at an anchor that exists (a heading's GitHub slug or an explicit <a id="...">).
2. Every `docs/<file>.md#<anchor>` reference in any tracked file (Swift and Python comments,
   schema descriptions, deploy files) resolves the same way.
3. No tracked file points outside the repository at the team's shared notes.
4. The worked examples of docs/contract.md are right: each `ce-id` block's UUIDv5, and each
   webhook body's HMAC-SHA256 signature.
5. Every bad-input reason code of schema/vectors.json is documented in docs/contract.md.
6. The README's configuration table (marked `<!-- check-docs: readme-config-table -->`) lists
   exactly the keys of the contract's configuration tables (each marked
   `<!-- check-docs: config-keys SECTION -->` in docs/contract.md §7), each with the contract's
   default, written the same; a README row naming a bare section (`destinations`) must name a
   section of §7. The contract is the source of truth.

Usage: python3 scripts/check_docs.py [repository root]. Exits 1 and lists every problem.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

# Split so that this file does not match its own pattern.
FORBIDDEN = re.compile(r"\.\./shared/|shared/contract\.md|shared" + r"/reference")
LINK = re.compile(r"(?<!!)\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
EXPLICIT_ANCHOR = re.compile(r"<a\s+(?:[^>]*\s)?(?:id|name)=\"([^\"]+)\"", re.IGNORECASE)
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
DOC_REFERENCE = re.compile(r"(?<![\w./-])(docs/[A-Za-z0-9_.-]+\.md)(?:#([A-Za-z0-9_-]+))?")
FENCE = re.compile(r"^\s{0,3}(```|~~~)")
CHECK_MARK = re.compile(r"<!--\s*check-docs:\s*([a-z-]+)(.*?)-->")
# Marks before a table rather than a code block.
TABLE_MARKS = {"config-keys", "readme-config-table"}
CELL_SPLIT = re.compile(r"(?<!\\)\|")
CONFIG_SECTION = re.compile(r"^###\s+7\.\d+\s+`([a-z_]+)`")


def tracked_files(root: Path) -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=root, check=True, capture_output=True).stdout.decode(
        "utf-8"
    )
    return [root / name for name in out.split("\0") if name and (root / name).is_file()]


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None


def prose_lines(text: str) -> list[tuple[int, str]]:
    """The lines outside fenced code blocks, with inline code spans blanked."""
    lines = []
    in_fence = None
    for number, line in enumerate(text.splitlines(), start=1):
        fence = FENCE.match(line)
        if fence:
            if in_fence is None:
                in_fence = fence.group(1)
            elif fence.group(1) == in_fence:
                in_fence = None
            continue
        if in_fence is None:
            lines.append((number, re.sub(r"`[^`]*`", "``", line)))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links -> their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    found: set[str] = set()
    counts: dict[str, int] = {}
    in_fence = None
    for line in text.splitlines():
        fence = FENCE.match(line)
        if fence:
            if in_fence is None:
                in_fence = fence.group(1)
            elif fence.group(1) == in_fence:
                in_fence = None
            continue
        if in_fence is not None:
            continue
        found.update(EXPLICIT_ANCHOR.findall(line))
        heading = HEADING.match(line)
        if heading:
            base = slug(heading.group(2))
            seen = counts.get(base, 0)
            counts[base] = seen + 1
            found.add(base if seen == 0 else f"{base}-{seen}")
    return found


def webhook_headers(secret: str, timestamp: str, body: bytes) -> list[str] | None:
    """The signature headers docs/contract.md#webhook-signature defines for one request: the
    Standard Webhooks headers and the deprecated X-Retirement-Signature. None for a secret that
    is not a key of at least 32 bytes."""
    if secret.startswith("whsec_"):
        try:
            key = base64.b64decode(secret[len("whsec_") :], validate=True)
        except ValueError:
            return None
    else:
        key = secret.encode("utf-8")
    if len(key) < 32:
        return None
    try:
        document = json.loads(body)
        if "events" in document:
            # A batch (docs/contract.md#webhook-batches): the batch id over the sorted event ids.
            ids = "\n".join(sorted(event["event_id"] for event in document["events"]))
            event_id = "batch-" + hashlib.sha256(ids.encode()).hexdigest()[:32]
        else:
            event_id = document["event_id"]
    except (ValueError, KeyError, TypeError):
        return None
    signed = f"{event_id}.{timestamp}.".encode() + body
    standard = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    legacy = hmac.new(key, body, hashlib.sha256).hexdigest()
    return [
        f"webhook-id: {event_id}",
        f"webhook-timestamp: {timestamp}",
        f"webhook-signature: v1,{standard}",
        f"X-Retirement-Signature: sha256={legacy}",
    ]


class Checker:
    def __init__(self, root: Path):
        self.root = root.resolve()
        self.problems: list[str] = []
        self._anchor_cache: dict[Path, set[str]] = {}

    def problem(self, path: Path, line: int, message: str) -> None:
        self.problems.append(f"{path.relative_to(self.root)}:{line}: {message}")

    def anchors_of(self, path: Path) -> set[str]:
        if path not in self._anchor_cache:
            self._anchor_cache[path] = anchors(read_text(path) or "")
        return self._anchor_cache[path]

    def resolve(self, source: Path, line: int, target: str, base: Path) -> None:
        """Checks one reference `file#anchor`, `file` or `#anchor` relative to `base`."""
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
            return  # http:, https:, mailto: ...
        path_part, _, anchor = target.partition("#")
        target_path = source if not path_part else (base / path_part)
        try:
            target_path = target_path.resolve()
        except OSError:
            pass
        if not str(target_path).startswith(str(self.root)):
            self.problem(source, line, f"'{target}' points outside the repository")
            return
        if not target_path.exists():
            self.problem(source, line, f"'{target}': no such file")
            return
        if anchor:
            if target_path.suffix.lower() != ".md":
                return  # anchors of other files (e.g. line numbers) are not checked
            if anchor not in self.anchors_of(target_path):
                name = target_path.relative_to(self.root)
                self.problem(source, line, f"'{target}': no anchor '#{anchor}' in {name}")

    def check_markdown(self, path: Path, text: str) -> None:
        for number, line in prose_lines(text):
            for pattern in (LINK, IMAGE, REFERENCE_DEF):
                for match in pattern.finditer(line):
                    self.resolve(path, number, match.group(1), path.parent)

    def check_doc_references(self, path: Path, text: str) -> None:
        for number, line in enumerate(text.splitlines(), start=1):
            for match in DOC_REFERENCE.finditer(line):
                target = match.group(1) + (f"#{match.group(2)}" if match.group(2) else "")
                self.resolve(path, number, target, self.root)

    def check_forbidden(self, path: Path, text: str) -> None:
        for number, line in enumerate(text.splitlines(), start=1):
            if FORBIDDEN.search(line):
                self.problem(path, number, "points outside the repository (shared notes)")

    def check_contract_examples(self, path: Path, text: str) -> None:
        lines = text.splitlines()
        bodies: list[bytes] = []
        counts = {"ce-id": 0, "webhook-example-signature": 0}
        signature_lines: set[int] = set()
        for index, line in enumerate(lines):
            mark = CHECK_MARK.search(line)
            if not mark:
                continue
            kind, arguments = mark.group(1), mark.group(2).strip()
            if kind in TABLE_MARKS:
                continue
            block = self.block_after(lines, index)
            if block is None:
                self.problem(path, index + 1, f"check-docs {kind}: no code block follows")
                continue
            if kind == "webhook-example-body":
                if len(block) != 1:
                    self.problem(path, index + 1, "a webhook example body must be one line")
                    continue
                bodies.append(block[0].encode("utf-8"))
                try:
                    json.loads(block[0])
                except ValueError:
                    self.problem(path, index + 1, "the webhook example body is not JSON")
            elif kind == "webhook-example-batch-body":
                # The batch of every single-event example body before it, in order.
                expected_batch = b'{"events":[' + b",".join(bodies) + b"]}"
                if block != [expected_batch.decode("utf-8")]:
                    self.problem(
                        path,
                        index + 1,
                        'the batch body is not the earlier example bodies in {"events": [...]}',
                    )
                    continue
                bodies.append(expected_batch)
            elif kind == "webhook-example-signature":
                counts[kind] += 1
                signature_lines.update(range(index + 1, index + 3 + len(block) + 2))
                secret = re.search(r"secret=(\S+)", arguments)
                timestamp = re.search(r"timestamp=(\d+)", arguments)
                if not bodies or not secret or not timestamp:
                    why = "a signature needs a body before it, secret= and timestamp="
                    self.problem(path, index + 1, why)
                    continue
                expected = webhook_headers(secret.group(1), timestamp.group(1), bodies[-1])
                if expected is None:
                    why = "the example's secret is not a valid key of at least 32 bytes"
                    self.problem(path, index + 1, why)
                elif block != expected:
                    self.problem(path, index + 1, "wrong signature; the body gives " + " / ".join(expected))
            elif kind == "ce-id":
                counts[kind] += 1
                values = dict(
                    (part.split("=", 1)[0].strip(), part.split("=", 1)[1].strip())
                    for part in block
                    if "=" in part
                )
                name, stated = values.get("name"), values.get("ce_id")
                if not name or not stated:
                    self.problem(path, index + 1, "a ce-id block needs 'name = ...' and 'ce_id = ...'")
                    continue
                actual = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
                if actual != stated:
                    self.problem(path, index + 1, f"wrong ce_id; uuid5(NAMESPACE_URL, name) is {actual}")
            else:
                self.problem(path, index + 1, f"unknown check-docs mark '{kind}'")
        for kind, count in counts.items():
            if count == 0:
                self.problem(path, 1, f"no '{kind}' example found")
        # Every signature quoted anywhere in the contract is one of the checked examples'.
        checked: set[str] = set()
        for arguments in re.findall(r"check-docs: webhook-example-signature (.*?)-->", text):
            secret = re.search(r"secret=(\S+)", arguments)
            timestamp = re.search(r"timestamp=(\d+)", arguments)
            if not secret or not timestamp:
                continue
            for body in bodies:
                checked.update((webhook_headers(secret.group(1), timestamp.group(1), body) or [])[2:])
        for number, line in enumerate(lines, start=1):
            if number in signature_lines:
                continue  # checked above
            for found in re.findall(r"(sha256=[0-9a-f]{64}|v1,[A-Za-z0-9+/]{43}=)", line):
                label = "webhook-signature: " if found.startswith("v1,") else "X-Retirement-Signature: "
                if label + found not in checked:
                    self.problem(path, number, f"signature {found[:16]}… matches no checked example")

    @staticmethod
    def block_after(lines: list[str], index: int) -> list[str] | None:
        start = index + 1
        while start < len(lines) and not lines[start].strip():
            start += 1
        if start >= len(lines) or not FENCE.match(lines[start]):
            return None
        fence = FENCE.match(lines[start]).group(1)
        end = start + 1
        while end < len(lines) and not lines[end].lstrip().startswith(fence):
            end += 1
        return lines[start + 1 : end]

    @staticmethod
    def table_after(lines: list[str], index: int) -> list[dict[str, str]] | None:
        """The rows of the Markdown table right after line `index`, as {column: cell}, plus the
        row's line number under `line`."""
        start = index + 1
        while start < len(lines) and not lines[start].strip():
            start += 1
        rows = []
        while start < len(lines) and lines[start].lstrip().startswith("|"):
            cells = [cell.strip() for cell in CELL_SPLIT.split(lines[start].strip().strip("|"))]
            rows.append((start + 1, cells))
            start += 1
        if len(rows) < 2 or not all(set(cell) <= set("-: ") for cell in rows[1][1]):
            return None
        header = [cell.lower() for cell in rows[0][1]]
        return [dict(zip(header, row, strict=False), line=str(number)) for number, row in rows[2:]]

    def config_tables(self, path: Path, text: str, kind: str) -> list[tuple[int, str, list[dict[str, str]]]]:
        """Every table marked `kind`: (line, the mark's argument, rows)."""
        lines = text.splitlines()
        found = []
        for index, line in enumerate(lines):
            mark = CHECK_MARK.search(line)
            if not mark or mark.group(1) != kind:
                continue
            rows = self.table_after(lines, index)
            if rows is None or (rows and not {"key", "default"} <= rows[0].keys()):
                self.problem(
                    path, index + 1, f"check-docs {kind}: no table with key and default columns follows"
                )
                continue
            found.append((index + 1, mark.group(2).strip(), rows))
        return found

    def check_config_table(self, contract: Path, text: str) -> None:
        """The README's configuration table against the contract's (§7): keys and defaults."""
        expected: dict[str, str] = {}
        for _, section, rows in self.config_tables(contract, text, "config-keys"):
            if not section:
                self.problem(contract, 1, "check-docs config-keys: the mark names no section")
            for row in rows:
                expected[f"{section}.{row['key'].strip('`')}"] = row["default"]
        if not expected:
            return
        sections = {m.group(1) for line in text.splitlines() if (m := CONFIG_SECTION.match(line))}
        readme = self.root / "README.md"
        tables = self.config_tables(readme, read_text(readme) or "", "readme-config-table")
        if len(tables) != 1:
            self.problem(
                readme, 1, "needs one configuration table marked <!-- check-docs: readme-config-table -->"
            )
            return
        mark_line, _, rows = tables[0]
        listed: set[str] = set()
        for row in rows:
            key, default, line = row["key"].strip("`"), row["default"], int(row["line"])
            listed.add(key)
            if "." not in key:
                if key not in sections:
                    self.problem(
                        readme, line, f"configuration key '{key}': no such section in docs/contract.md §7"
                    )
            elif key not in expected:
                self.problem(readme, line, f"configuration key '{key}' is not in docs/contract.md §7")
            elif default != expected[key]:
                self.problem(
                    readme,
                    line,
                    f"configuration key '{key}': default {default!r}, "
                    f"docs/contract.md says {expected[key]!r}",
                )
        for key in sorted(expected.keys() - listed):
            self.problem(readme, mark_line, f"configuration key '{key}' of docs/contract.md §7 is missing")

    def check_reason_codes(self, contract: Path, text: str) -> None:
        vectors = self.root / "schema" / "vectors.json"
        if not vectors.exists():
            return
        reasons = json.loads(vectors.read_text(encoding="utf-8")).get("reasons", [])
        for reason in reasons:
            if f"`{reason}`" not in text:
                self.problem(contract, 1, f"reason code '{reason}' of schema/vectors.json is not documented")

    def run(self) -> int:
        files = tracked_files(self.root)
        if not files:
            self.problems.append("git ls-files found nothing: run inside the repository")
        # The checker and its tests hold deliberately broken references as data.
        own = {Path(__file__).resolve(), Path(__file__).resolve().with_name("test_check_docs.py")}
        for path in files:
            text = read_text(path)
            if text is None or path.resolve() in own:
                continue
            self.check_forbidden(path, text)
            if path.suffix.lower() == ".md":
                self.check_markdown(path, text)
            self.check_doc_references(path, text)
        contract = self.root / "docs" / "contract.md"
        if not contract.exists():
            self.problems.append("docs/contract.md is missing")
        else:
            text = read_text(contract) or ""
            self.check_contract_examples(contract, text)
            self.check_reason_codes(contract, text)
            self.check_config_table(contract, text)
        for problem in self.problems:
            print(problem, file=sys.stderr)
        markdown = sum(1 for path in files if path.suffix.lower() == ".md")
        if self.problems:
            print(f"check-docs: {len(self.problems)} problem(s)", file=sys.stderr)
            return 1
        print(f"check-docs: ok ({len(files)} tracked files, {markdown} Markdown files)")
        return 0


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent
    return Checker(root).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
