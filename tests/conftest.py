"""Shared fixtures: the real data in ../shared and the MXNet 1.9.1 reference environment.

Tests that need either skip with a clear reason when it is absent (a user's fresh clone has no ../shared);
CI has both.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from hypothesis import settings

from photos import photo

# No example database in the clone (CI writes nothing there) and no deadline on a slow, shared CPU.
settings.register_profile("roost", database=None, deadline=None)
settings.load_profile("roost")

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ROOST_SHARED", ROOT.parent / "shared"))
SHARED_DATA = SHARED / "data"
MXNET_VENV_SCRIPT = SHARED / "reference" / "mxnet-venv.sh"
# Outside the repository: CI works on a clean clone and scratch files belong elsewhere.
MXNET_VENV = Path(os.environ.get("ROOST_MXNET_VENV", "/tmp/roost-mxnet-venv"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs the shared test data at {SHARED_DATA} (absent in a fresh clone; CI has it)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def mxnet_python() -> Path:
    """The Python of an MXNet 1.9.1 venv, built once with ../shared/reference/mxnet-venv.sh."""
    python = MXNET_VENV / "bin" / "python"
    if not python.exists() or subprocess.run([python, "-c", "import mxnet"], capture_output=True).returncode:
        if not MXNET_VENV_SCRIPT.exists():
            pytest.skip(f"needs MXNet 1.9.1: {MXNET_VENV_SCRIPT} is absent (a fresh clone has no ../shared)")
        built = subprocess.run(["bash", MXNET_VENV_SCRIPT, MXNET_VENV], capture_output=True, text=True)
        if built.returncode:
            pytest.skip(f"needs MXNet 1.9.1, and {MXNET_VENV_SCRIPT} failed: {built.stderr.strip()[-500:]}")
    return python


@pytest.fixture(scope="session")
def run_mxnet(mxnet_python: Path):
    """Run a Python snippet under MXNet 1.9.1; it prints one JSON value, which is returned."""

    def run(code: str, *args: str | Path, cwd: Path | None = None) -> object:
        done = subprocess.run(
            [mxnet_python, "-c", textwrap.dedent(code), *map(str, args)],
            capture_output=True,
            text=True,
            cwd=cwd,
            env={**os.environ, "OMP_NUM_THREADS": "2", "MXNET_ENGINE_TYPE": "NaiveEngine"},
        )
        if done.returncode:
            raise AssertionError(f"MXNet snippet failed:\n{done.stderr}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    return run


def write_photo(path: Path, width: int, height: int, seed: int) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), photo(width, height, seed))


@pytest.fixture
def photo_tree(tmp_path: Path) -> Path:
    """Class folders of tiny photos of mixed sizes and extensions, with a few traps for list making."""
    root = tmp_path / "photos"
    sizes = [(40, 30), (30, 40), (33, 33), (50, 20)]
    for label, species in enumerate(["Blue_Jay", "Cardinal", "Goldfinch"]):
        for i in range(7 + label):
            ext = [".jpg", ".png", ".JPEG", ".jpeg"][i % 4]
            write_photo(root / species / f"{i:03d}{ext}", *sizes[(i + label) % 4], seed=label * 100 + i)
    write_photo(root / "Cardinal" / "nested" / "deep.jpg", 36, 28, seed=999)
    (root / "Cardinal" / "notes.txt").write_text("not a photo")
    (root / "empty_species").mkdir()
    return root
