"""Where the book lives and what it holds: chapters in reading order and their notebooks."""
from __future__ import annotations

from pathlib import Path

from .params import chapter_notebooks

#: Chapters in reading order; each has ``lora_companion/profiles/<chapter>.yaml``.
CHAPTERS = ("preliminaries", "ntk_landscape", "lora_one", "fails_loudly", "rank_one")
ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


def notebooks(target: str | None = None) -> list[str]:
    """Notebook ids of the whole book (``target=None``), of a chapter, or the single notebook ``target``."""
    if target is None:
        return [nb for ch in CHAPTERS for nb in notebooks(ch)]
    if target in CHAPTERS:
        return chapter_notebooks(target)
    chapter = target.split("/")[0]
    if chapter in CHAPTERS and target in chapter_notebooks(chapter):
        return [target]
    raise KeyError(f"unknown target {target!r}: give a chapter ({', '.join(CHAPTERS)}) or a notebook id "
                   "(see `lora-companion list`)")


def notebook_path(notebook: str) -> Path:
    """The committed notebook file of a notebook id."""
    path = BOOK / f"{notebook}.ipynb"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: lora-companion must run from an editable install of "
                                "the book's checkout")
    return path
