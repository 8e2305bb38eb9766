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
        assert name in explain.__all__, f"{name} is not in explain.__all__"
        obj = getattr(explain, name, None)
        assert obj is not None, f"explain.{name} does not exist"
        assert callable(obj), f"explain.{name} is neither a class nor a function"
    # ``from explain import *`` must give exactly what __all__ promises
    assert all(hasattr(explain, name) for name in explain.__all__)


def test_explain_never_imports_streamlit() -> None:
    code = ("import sys, explain, explain.report._pdf, explain.report._html; "
            "sys.exit(1 if 'streamlit' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
