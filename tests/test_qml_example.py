"""examples/qm9_krr.py runs on a fresh machine (the shipped subset) and prints the test MAE."""

import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[1] / "examples" / "qm9_krr.py"


def test_example_prints_test_mae():
    out = subprocess.run(
        [sys.executable, str(EXAMPLE), "--n-train", "300", "--n-test", "100"],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout
    m = re.search(r"test MAE: ([\d.]+) kcal/mol", out)
    assert m, out
    assert 5.0 < float(m.group(1)) < 25.0
