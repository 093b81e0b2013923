"""Run set-up and provenance: seeds, determinism, device, and what made a result.

Every notebook's provenance cell calls :func:`setup`; the returned :class:`Context` is passed on to figures.
"""
from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import __version__
from .allocator import keep_freed_memory
from .runner import PROVENANCE_KEY, RUN_DIR_ENV  # noqa: F401 (re-exported)

SEED_STRIDE = 10_000


def git_commit(root: Path | None = None) -> str:
    """Short hash of the checkout's HEAD, ``-dirty`` if the work tree has changes, ``unknown`` outside git."""
    root = root or Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


@dataclass
class Context:
    """What a notebook run needs besides its parameters: device, dtype, and where (if anywhere) to write files."""

    notebook: str
    params: dict
    device: torch.device
    dtype: torch.dtype = torch.float64
    run_dir: Path | None = None
    provenance: dict = field(default_factory=dict)

    def generator(self, offset: int = 0) -> torch.Generator:
        """A fresh CPU generator for experiment number ``offset`` (0 ≤ offset < 10⁴), seeded with
        ``seed · 10⁴ + offset``: experiments of one run draw independent streams, and so do different seeds.

        Random data is drawn on the CPU and then moved to ``device``, so a GPU run sees the same draws."""
        if not 0 <= offset < SEED_STRIDE:
            raise ValueError(f"generator offset must be in [0, {SEED_STRIDE}), got {offset}")
        return torch.Generator().manual_seed(self.params.get("seed", 0) * SEED_STRIDE + offset)


def setup(notebook: str, params: dict, dtype: torch.dtype = torch.float64) -> Context:
    """Seed torch, force deterministic algorithms and one CPU thread, keep freed memory in the process
    (:func:`allocator.keep_freed_memory`), resolve the device, record provenance.

    One thread makes CPU results independent of the machine's core count (and lets nbval workers run side by
    side); ``params['device']`` (default ``cpu``) must be available.
    """
    device = torch.device(params.get("device", "cpu"))
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("parameter 'device' is 'cuda' but no CUDA device is available; use device='cpu'")
    torch.manual_seed(params.get("seed", 0))
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.set_num_threads(1)
    keep_freed_memory()
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    run_dir = Path(os.environ[RUN_DIR_ENV]) if os.environ.get(RUN_DIR_ENV) else None
    prov = {
        "notebook": notebook,
        "package": f"lora_companion {__version__}",
        "commit": git_commit(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": str(device) if device.type == "cpu" else f"{device} ({torch.cuda.get_device_name(device)})",
        "dtype": str(dtype).replace("torch.", ""),
        "seed": params.get("seed", 0),
        "params": dict(params),
    }
    return Context(notebook=notebook, params=dict(params), device=device, dtype=dtype, run_dir=run_dir,
                   provenance=prov)


def show_provenance(ctx: Context) -> None:
    """Print the provenance (text for readers; JSON in the output metadata for the runner)."""
    from IPython.display import display

    p = ctx.provenance
    text = "\n".join([
        f"{p['package']} | commit {p['commit']}",
        f"torch {p['torch']} | python {p['python']} | device {p['device']} | dtype {p['dtype']}",
        f"notebook {p['notebook']} | seed {p['seed']}",
        "parameters: " + ", ".join(f"{k}={v}" for k, v in p["params"].items()),
    ])
    display({"text/plain": text}, raw=True, metadata={PROVENANCE_KEY: p})
