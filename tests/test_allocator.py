"""The allocator setting of every notebook: a loop's freed megabyte-sized temporaries are reused, not page-faulted
in anew on every step."""
import subprocess
import sys

import pytest

STEP = """
import resource, sys, torch
if sys.argv[1] == "keep":
    from lora_companion.allocator import keep_freed_memory
    assert keep_freed_memory()
X, W = torch.randn(36, 540, 64, dtype=torch.float64), torch.randn(36, 64, 64, dtype=torch.float64)

def step():   # a two-layer-network step's temporaries: 10 MB each, several alive at once
    z = X @ W.mT
    h = z.clamp_min(0)
    return ((h * (z > 0)).mT @ X).sum()

for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5)
"""


def _faults_per_step(mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", STEP, mode], capture_output=True, text=True, check=True)
    return float(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_keep_freed_memory_stops_page_faults():
    kept = _faults_per_step("keep")
    assert kept < 100, kept    # each 10 MB temporary page-faulted in anew would cost 2,500 faults
