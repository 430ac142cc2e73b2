"""Proves scripts/check_docs.py fails where it must: each case builds a small git repository
with one fault and expects that fault, and only it, to be reported. Standard library only.

Usage: python3 scripts/test_check_docs.py
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import subprocess
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_docs  # noqa: E402

BODY = '{"event_id":"e1","user_id":42}'
KEY = b"k" * 32
SECRET = "whsec_" + base64.b64encode(KEY).decode()
SIGNATURE = hmac.new(KEY, BODY.encode(), hashlib.sha256).hexdigest()
SIGNED = b"e1.1700000000." + BODY.encode()
STANDARD = base64.b64encode(hmac.new(KEY, SIGNED, hashlib.sha256).digest()).decode()
CE_NAME = "openedx-retirement://lms.example.org/users/5213599/retirements/46"
CE_ID = "168726d1-9e87-59dd-861f-1be5dcbb6eaf"


def contract(signature: str = SIGNATURE, ce_id: str = CE_ID, reasons: str = "`empty_value`") -> str:
    return f"""# Contract

<a id="event"></a>
## 1. The retirement event

Codes: {reasons}.

<!-- check-docs: ce-id -->
```text
name  = {CE_NAME}
ce_id = {ce_id}
```

## 4. The webhook

<!-- check-docs: webhook-example-body -->
```text
{BODY}
```

<!-- check-docs: webhook-example-signature secret={SECRET} timestamp=1700000000 -->
```text
webhook-id: e1
webhook-timestamp: 1700000000
webhook-signature: v1,{STANDARD}
X-Retirement-Signature: sha256={signature}
```
"""


CONFIG = """
## 7. The configuration file

### 7.3 `kafka` (required)

<!-- check-docs: config-keys kafka -->

| key | type | default | meaning |
|---|---|---|---|
| `bootstrap_servers` | string | required | brokers |
| `topic` | string | `user-retirement` | the topic |

### 7.4 `processing`

<!-- check-docs: config-keys processing -->

| key | type | default | meaning |
|---|---|---|---|
| `max_in_flight` | integer | `1000` | events at once |
| `retry.max_attempts` | integer | `10` | attempts |

### 7.8 `destinations`

| key | type | default | meaning |
|---|---|---|---|
| `name` | string | required | unique |
"""

README_ROWS = [
    "| `kafka.bootstrap_servers` | required | brokers |",
    "| `kafka.topic` | `user-retirement` | the retirement topic |",
    "| `processing.max_in_flight` | `1000` | events being applied at once |",
    "| `processing.retry.max_attempts` | `10` | attempts per destination |",
    "| `destinations` | required | one entry per system |",
]


def readme(rows: list[str] = README_ROWS, mark: bool = True) -> str:
    head = "<!-- check-docs: readme-config-table -->\n\n" if mark else ""
    return "# Title\n\n" + head + "| key | default | meaning |\n|---|---|---|\n" + "\n".join(rows) + "\n"


class CheckDocsTests(unittest.TestCase):
    def run_checker(self, files: dict[str, str]) -> tuple[int, list[str]]:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            base = {
                "docs/contract.md": contract(),
                "schema/vectors.json": json.dumps({"reasons": ["empty_value"]}),
                "README.md": "[event](docs/contract.md#event), [webhook](docs/contract.md#4-the-webhook)\n",
            }
            base.update(files)
            for name, text in base.items():
                path = root / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
            subprocess.run(["git", "init", "-q"], cwd=root, check=True)
            subprocess.run(["git", "add", "-A"], cwd=root, check=True)
            checker = check_docs.Checker(root)
            with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
                code = checker.run()
            return code, checker.problems

    def assert_one_problem(self, files: dict[str, str], fragment: str) -> None:
        code, problems = self.run_checker(files)
        self.assertEqual(code, 1, problems)
        self.assertEqual(len(problems), 1, problems)
        self.assertIn(fragment, problems[0])

    def test_clean_repository_passes(self) -> None:
        code, problems = self.run_checker({})
        self.assertEqual((code, problems), (0, []))

    def test_missing_file(self) -> None:
        self.assert_one_problem({"docs/a.md": "[x](nothere.md)\n"}, "'nothere.md': no such file")

    def test_missing_anchor_in_other_file(self) -> None:
        self.assert_one_problem({"docs/a.md": "[x](contract.md#no-such)\n"}, "no anchor '#no-such'")

    def test_missing_anchor_in_same_file(self) -> None:
        self.assert_one_problem({"docs/a.md": "# Title\n\n[x](#other)\n"}, "no anchor '#other'")

    def test_heading_slug_and_same_file_anchor_resolve(self) -> None:
        code, problems = self.run_checker({"docs/a.md": "## 5. `Back`fill\n\n[x](#5-backfill)\n"})
        self.assertEqual((code, problems), (0, []))

    def test_links_in_code_blocks_are_ignored(self) -> None:
        code, problems = self.run_checker({"docs/a.md": "```\n[x](nothere.md)\n```\n"})
        self.assertEqual((code, problems), (0, []))

    def test_reference_in_a_code_comment(self) -> None:
        self.assert_one_problem(
            {"Sources/X.swift": "/// Decodes (docs/contract.md#evnt).\nlet x = 1\n"}, "no anchor '#evnt'"
        )

    def test_reference_to_a_missing_doc_in_a_comment(self) -> None:
        self.assert_one_problem({"deploy/c.yaml": "# see docs/nothere.md\n"}, "no such file")

    def test_link_outside_the_repository(self) -> None:
        self.assert_one_problem({"docs/a.md": "[x](../../elsewhere.md)\n"}, "outside the repository")

    def test_pointer_at_shared_notes(self) -> None:
        self.assert_one_problem(
            {"README.md": "See ../" + "shared" + "/contract.md.\n"}, "points outside the repository"
        )

    def test_wrong_signature(self) -> None:
        self.assert_one_problem({"docs/contract.md": contract(signature="0" * 64)}, "wrong signature")

    def test_wrong_ce_id(self) -> None:
        self.assert_one_problem(
            {"docs/contract.md": contract(ce_id="00000000-0000-5000-8000-000000000000")}, "wrong ce_id"
        )

    def test_stray_signature_in_prose(self) -> None:
        text = contract() + "\nHeader: `sha256=" + "ab" * 32 + "`\n"
        self.assert_one_problem({"docs/contract.md": text}, "matches no checked example")

    def test_stray_standard_signature_in_prose(self) -> None:
        text = contract() + "\nHeader: `webhook-signature: v1," + "A" * 43 + "=`\n"
        self.assert_one_problem({"docs/contract.md": text}, "matches no checked example")

    def test_the_checked_signature_may_be_quoted_elsewhere(self) -> None:
        text = contract() + f"\nHeaders: `v1,{STANDARD}` and `sha256={SIGNATURE}`\n"
        code, problems = self.run_checker({"docs/contract.md": text})
        self.assertEqual((code, problems), (0, []))

    def test_wrong_batch_body(self) -> None:
        text = contract() + '\n<!-- check-docs: webhook-example-batch-body -->\n```text\n{"events":[]}\n```\n'
        self.assert_one_problem(
            {"docs/contract.md": text}, "the batch body is not the earlier example bodies"
        )

    def test_short_example_secret(self) -> None:
        text = contract().replace(SECRET, "whsec_" + base64.b64encode(b"short").decode())
        self.assert_one_problem({"docs/contract.md": text}, "at least 32 bytes")

    def test_undocumented_reason_code(self) -> None:
        self.assert_one_problem({"docs/contract.md": contract(reasons="none")}, "reason code 'empty_value'")

    def config_files(self, rows: list[str] = README_ROWS, mark: bool = True) -> dict[str, str]:
        return {"docs/contract.md": contract() + CONFIG, "README.md": readme(rows, mark)}

    def test_readme_configuration_table_matching_the_contract_passes(self) -> None:
        code, problems = self.run_checker(self.config_files())
        self.assertEqual((code, problems), (0, []))

    def test_readme_configuration_default_differs(self) -> None:
        rows = [row.replace("`1000`", "1000") for row in README_ROWS]
        self.assert_one_problem(
            self.config_files(rows),
            "README.md:9: configuration key 'processing.max_in_flight': default '1000', "
            "docs/contract.md says '`1000`'",
        )

    def test_readme_configuration_key_differs(self) -> None:
        rows = [row.replace("max_attempts", "max_attempt") for row in README_ROWS]
        code, problems = self.run_checker(self.config_files(rows))
        self.assertEqual(code, 1, problems)
        self.assertEqual(len(problems), 2, problems)
        self.assertIn("'processing.retry.max_attempt' is not in docs/contract.md", problems[0])
        self.assertIn("'processing.retry.max_attempts' of docs/contract.md §7 is missing", problems[1])

    def test_readme_configuration_key_missing(self) -> None:
        self.assert_one_problem(
            self.config_files(README_ROWS[1:]), "'kafka.bootstrap_servers' of docs/contract.md §7 is missing"
        )

    def test_readme_configuration_unknown_section(self) -> None:
        rows = [*README_ROWS, "| `tracing` | none | spans |"]
        self.assert_one_problem(self.config_files(rows), "'tracing': no such section in docs/contract.md §7")

    def test_readme_configuration_table_not_marked(self) -> None:
        self.assert_one_problem(self.config_files(mark=False), "needs one configuration table marked")


if __name__ == "__main__":
    unittest.main()
