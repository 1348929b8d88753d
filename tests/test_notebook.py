"""The Lab 2 notebook in examples/ runs top to bottom against a real roost server (tiny settings)."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "lab2-training-job.ipynb"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_lab2_notebook_runs(tmp_path):
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    code = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    script = tmp_path / "notebook.py"
    script.write_text(code)
    env = {
        **os.environ,
        "DATA_ROOT": str(tmp_path / "data"),
        "ROOST_NOTEBOOK_PORT": str(free_port()),
        "ROOST_NOTEBOOK_EPOCHS": "2",
    }
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Completed" in done.stdout
    assert "epoch  1  validation accuracy" in done.stdout
    assert (tmp_path / "data" / "accuracy.png").is_file()
    assert "image-classification-0002.params" in done.stdout
