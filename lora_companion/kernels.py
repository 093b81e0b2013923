"""Warm kernels for serial runs: while one notebook executes, the next notebook's kernel starts and imports what
that notebook will import (:func:`warm_modules`), so a notebook starts on a warm kernel.

Start-up was about 5.7 s of a kernel's life (measured: 0.9 s to start, 3.6 s for torch, matplotlib, scipy.stats and
the package, 1.2 s for ``torch._inductor``, which ``torch.use_deterministic_algorithms`` imports on first call) and
21 notebooks pay it in turn, the MiniLM pages 4–5 s more for transformers and PEFT; overlapped with the previous
notebook, it costs no wall time where a second core is free. The warm-up also draws one throwaway figure
(:func:`lora_companion.figures.warm_up`: a process's first draw loads fonts and parsers). It only imports modules
and draws off pyplot, inside a function and with ``store_history=False``: no name is bound in the notebook's
namespace and execution counts are untouched, so a notebook sees the same fresh namespace, parameters and seeds
as on a cold kernel, and its outputs are identical — the record is made on warm kernels and nbval re-executes every
notebook on a cold one against it.
"""
from __future__ import annotations

import ast
import threading
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager

#: modules every notebook imports, whatever its import cells say (torch._inductor: see the module docstring)
BASE_MODULES = ("lora_companion.notebook", "lora_companion.claims", "lora_companion.figures", "myst_nb", "torch._inductor")

#: what the warm-up executes, for a list of module names: import each (a name that is not a module, as in
#: ``from package import function``, is skipped) and draw a throwaway figure (:func:`figures.warm_up`), without
#: binding anything in the kernel's namespace
WARMUP = """def _warm(names):
    import importlib
    for name in names:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            pass
    importlib.import_module("lora_companion.figures").warm_up()
_warm({names!r})
del _warm"""


def warm_modules(notebook: Path) -> list[str]:
    """:data:`BASE_MODULES` and every module that the code cells of ``notebook`` import (``import a.b`` → a.b;
    ``from a import b`` → a and a.b, in case b is a submodule), in order, without repeats."""
    names = list(BASE_MODULES)
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:   # IPython magics: such a cell's imports are simply not warmed
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    return list(dict.fromkeys(names))


class WarmKernel:
    """A python3 kernel started in ``cwd`` with environment ``env``, warmed up in a background thread by importing
    ``modules``."""

    def __init__(self, cwd: str, env: dict[str, str], modules: list[str]):
        self.code = WARMUP.format(names=list(modules))
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=cwd, env=env)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._warm, daemon=True)
        self._thread.start()

    def _warm(self) -> None:
        kc = self.km.client()
        try:
            kc.start_channels()
            kc.wait_for_ready(timeout=120)
            reply = kc.execute_interactive(self.code, store_history=False, timeout=300, output_hook=lambda msg: None)
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"kernel warm-up failed: {reply['content'].get('evalue', '')}")
        except BaseException as err:  # reported by take(); the run then falls back to a cold kernel
            self.error = err
        finally:
            kc.stop_channels()

    def take(self) -> KernelManager | None:
        """The warmed kernel's manager (the caller shuts it down), or None (and the kernel shut down) if the
        warm-up failed."""
        self._thread.join()
        if self.error is not None:
            self.shutdown()
            return None
        return self.km

    def shutdown(self) -> None:
        self._thread.join()
        if self.km.has_kernel:
            self.km.shutdown_kernel(now=True)
