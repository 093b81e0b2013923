"""Repository-wide pytest set-up: paths resolved from this file, so ``pytest`` works from any directory."""
from pathlib import Path

SANITIZE = Path(__file__).resolve().parent / "tests" / "nbval_sanitize.cfg"


def pytest_configure(config):
    """nbval's output sanitizer (pyproject cannot give it a path relative to the repository)."""
    if getattr(config.option, "nbval_sanitize_with", False) is None:
        config.option.nbval_sanitize_with = str(SANITIZE)
