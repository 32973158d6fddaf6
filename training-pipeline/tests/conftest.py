"""Shared fixtures. Puts src/ on sys.path so tests import the steps as the
container does (``import preprocess``), whatever the working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
SRC_DIR = PROJECT_DIR / "src"
GENERATOR = PROJECT_DIR / "data" / "generate_sample.py"

sys.path.insert(0, str(SRC_DIR))

# One BLAS/OpenMP thread in this process and the steps and servers it starts (they inherit it),
# set before numpy loads: the test models are small, and the extra threads' busy-waiting only
# burns CPU that the other suites, running beside this one, need (training takes half the CPU).
os.environ.setdefault("OMP_NUM_THREADS", "1")

RunScript = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture(scope="session", autouse=True)
def never_touch_opt_ml() -> Iterator[None]:
    """Fail the run if a test created SageMaker's /opt/ml on this machine."""
    existed = Path("/opt/ml").exists()
    yield
    assert existed or not Path("/opt/ml").exists(), "a test wrote to /opt/ml"


@pytest.fixture
def sm_env(tmp_path: Path) -> dict[str, str]:
    """SageMaker training variables pointing into ``tmp_path`` (no SM_HPS)."""
    return {
        "SM_INPUT_CONFIG_DIR": str(tmp_path / "input" / "config"),
        "SM_CHANNEL_TRAIN": str(tmp_path / "input" / "data" / "train"),
        "SM_MODEL_DIR": str(tmp_path / "model"),
        "SM_OUTPUT_DATA_DIR": str(tmp_path / "output" / "data"),
        "SM_OUTPUT_DIR": str(tmp_path / "output"),
    }


def _run_script(command: list[str], *args: str,
                env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``command`` + ``args`` in a child process and capture its text output.

    The child gets this environment without SageMaker's ``SM_*`` variables, plus
    ``env``; ``src/`` and the current interpreter come first on PATH.
    """
    base = {name: value for name, value in os.environ.items() if not name.startswith("SM_")}
    base["PATH"] = os.pathsep.join([str(SRC_DIR), str(Path(sys.executable).parent),
                                    os.environ.get("PATH", "")])
    base["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run([*command, *args], env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="session")
def run_script() -> RunScript:
    """Return ``run(name, *args, env=None)``: runs ``src/<name>`` as a process;
    ``name`` is a ``.py`` step or the ``train`` entry point (found on PATH)."""

    def run(name: str, *args: str, env: Mapping[str, str] | None = None):
        command = [name] if name == "train" else [sys.executable, str(SRC_DIR / name)]
        return _run_script(command, *args, env=env)

    return run


@pytest.fixture(scope="session")
def run_generator() -> RunScript:
    """Return ``run(*args)``: runs data/generate_sample.py as a process."""

    def run(*args: str):
        return _run_script([sys.executable, str(GENERATOR)], *args)

    return run

