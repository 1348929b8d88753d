import subprocess
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def mxnet_im2rec(mxnet_python: Path):  # returns a function running MXNet's own tools/im2rec.py
    tools = subprocess.run(
        [mxnet_python, "-c", "import mxnet, os; print(os.path.dirname(mxnet.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    script = Path(tools) / "tools" / "im2rec.py"

    def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
        return subprocess.run([mxnet_python, script, *args], cwd=cwd, capture_output=True, text=True)

    return run
