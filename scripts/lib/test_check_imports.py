"""Proves scripts/lib/check_imports.py reports what it must and only that: each case builds a
small tree of Swift sources. Standard library only.

Usage: python3 scripts/lib/test_check_imports.py
"""

from __future__ import annotations

import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_imports  # noqa: E402

KIT = """/// A `Widget` in a comment is not a use.
package struct Widget {
    package init() {}
}

extension Duration {
    package var halves: Double { 0.5 }
}
"""


class CheckImportsTests(unittest.TestCase):
    def problems(self, files: dict[str, str]) -> list[str]:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            for name, text in {"Sources/Kit/Widget.swift": KIT, **files}.items():
                path = root / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
            return check_imports.unused_imports(root)

    def test_used_imports_pass(self) -> None:
        app = 'import Kit\nimport Logging\n\nlet widget = Widget()\nlet logger = Logger(label: "x")\n'
        self.assertEqual(self.problems({"Sources/App/A.swift": app}), [])

    def test_an_unused_package_module_is_reported(self) -> None:
        app = "import Kit\n\n/// Widget, named only in a comment.\nlet x = 1\n"
        self.assertEqual(
            self.problems({"Sources/App/A.swift": app}), ["Sources/App/A.swift:1: import Kit is unused"]
        )

    def test_an_unused_external_module_is_reported(self) -> None:
        app = "import Kit\nimport Foundation\n\nlet widget = Widget()\nlet date = 1\n"
        self.assertEqual(
            self.problems({"Sources/App/A.swift": app}),
            ["Sources/App/A.swift:2: import Foundation is unused"],
        )

    def test_a_member_of_an_extension_of_a_foreign_type_is_a_use(self) -> None:
        app = "import Kit\n\nlet h = Duration.seconds(1).halves\n"
        self.assertEqual(self.problems({"Sources/App/A.swift": app}), [])

    def test_an_unknown_module_needs_its_names(self) -> None:
        app = "import Kit\nimport Gadgets\n\nlet widget = Widget()\n"
        found = self.problems({"Sources/App/A.swift": app})
        self.assertEqual(len(found), 1, found)
        self.assertIn("import Gadgets: unknown module", found[0])


if __name__ == "__main__":
    unittest.main()
