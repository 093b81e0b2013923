"""The allocator setting of every notebook: a freed megabyte-sized tensor stays in the process for the next one,
instead of being unmapped and page-faulted in anew (checked on glibc's own accounting, ``mallinfo2``; the number of
page faults per step is not a stable measure on a shared machine, where the kernel's NUMA sampling adds its own)."""
import subprocess
import sys

import pytest

PROBE = """
import ctypes, sys, torch
fields = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")
class MallInfo2(ctypes.Structure):
    _fields_ = [(f, ctypes.c_size_t) for f in fields]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "keep":
    from lora_companion.allocator import keep_freed_memory
    assert keep_freed_memory()
before = libc.mallinfo2().hblkhd
x = torch.ones(10 * 2 ** 20, dtype=torch.uint8)   # a 10 MiB temporary
mapped = libc.mallinfo2().hblkhd - before           # bytes it got from a separate mmap while it lives
del x
kept = libc.mallinfo2().fordblks                    # free bytes that stay in the heap after it is freed
print(mapped, kept)
"""
MIB = 2 ** 20


def _probe(mode: str) -> tuple[int, int]:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    mapped, kept = map(int, out.stdout.split())
    return mapped, kept


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_keep_freed_memory_keeps_a_freed_temporary_in_the_heap():
    mapped, kept = _probe("keep")
    assert mapped < MIB and kept >= 10 * MIB, (mapped, kept)
    mapped, kept = _probe("default")    # the control: glibc's own setting maps it apart and unmaps it on free
    assert mapped >= 10 * MIB and kept < 10 * MIB, (mapped, kept)
