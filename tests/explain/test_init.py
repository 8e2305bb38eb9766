"""The package surface and its layering."""

from __future__ import annotations

import subprocess
import sys

import explain


def test_public_api_is_exported() -> None:
    for name in ("Attribution", "BlendedAttribution", "PairwiseAttribution", "TaskExplanation",
                 "explain_items", "explain_item", "explain_top", "attribute_pair",
                 "explain_pair", "global_importance", "dependence", "build_report",
                 "users_in_segment", "export_report", "export_tables", "safe_filename"):
        assert name in explain.__all__ and callable(getattr(explain, name)) or \
            isinstance(getattr(explain, name), type)


def test_explain_never_imports_streamlit() -> None:
    code = ("import sys, explain, explain.report._pdf, explain.report._html; "
            "sys.exit(1 if 'streamlit' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
