"""What a figure's files are, independent of plotting: formats, the provenance record, and the embedding of the
files in a notebook output (so ``figures export`` reads them without importing matplotlib or executing anything)."""
from __future__ import annotations

import base64
import gzip
import hashlib
import json

FORMATS = ("png", "pdf", "svg")
#: environment variable that asks ``figures.show`` to embed the PDF, SVG and provenance in the notebook (record)
EMBED_ENV = "LORA_COMPANION_EMBED_FIGURES"
#: output-metadata key under which ``figures.show`` embeds them
EMBED_KEY = "lora_companion_figure"


def provenance_record(fig_id: str, notebook: str, provenance: dict, files: dict[str, bytes]) -> dict:
    """What made the figure: ID, notebook, parameters, commit, versions (from the notebook's ``provenance``),
    and the sha256 of each file."""
    return {"id": fig_id, "notebook": notebook,
            "files": {fmt: {"file": f"{fig_id}.{fmt}", "sha256": hashlib.sha256(data).hexdigest()}
                      for fmt, data in files.items()},
            **{k: provenance[k] for k in ("params", "commit", "package", "torch", "device", "seed")}}


def provenance_json(record: dict) -> str:
    """The provenance file's text (the same bytes in a run folder and in an export of the record)."""
    return json.dumps(record, indent=2, sort_keys=True)


def pack(data: bytes) -> str:
    """Bytes → text for notebook metadata (gzip without timestamp, then base64): deterministic."""
    return base64.b64encode(gzip.compress(data, mtime=0)).decode("ascii")


def unpack(text: str) -> bytes:
    """Inverse of :func:`pack`."""
    return gzip.decompress(base64.b64decode(text))
