"""The engine is pure: importing every module of segmentation.ml never imports Django."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import segmentation.ml

REPO = Path(__file__).resolve().parents[3]


def test_no_ml_module_imports_django():
    modules = sorted(m.name for m in pkgutil.walk_packages(segmentation.ml.__path__, "segmentation.ml."))
    assert {"segmentation.ml.engine", "segmentation.ml.strategies", "segmentation.ml.types"} <= set(modules)
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "leaked = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "assert not leaked, leaked\n"
        "print('ok', len(" + repr(modules) + "))\n"
    )
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok")


def test_strategy_rules_are_plain_data():
    from segmentation.ml.strategies import STRATEGY_RULES, strategy_rule_for

    assert STRATEGY_RULES[-1]["flag"] is None
    keys = [r["key"] for r in STRATEGY_RULES]
    assert len(keys) == len(set(keys))
    for rule in STRATEGY_RULES:
        assert set(rule) == {"key", "flag", "title", "actions", "rationale"}
        assert isinstance(rule["actions"], list) and rule["actions"]
    assert strategy_rule_for(["upsell", "high_value"])["key"] == "retain_and_reward"  # first rule wins
    assert strategy_rule_for([])["key"] == "default"
