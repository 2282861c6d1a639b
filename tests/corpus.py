"""Where the shared corpus of real .docx files is: ``../shared/corpus`` beside the checkout.

CI clones the project with ``shared/`` beside it; on a developer machine the same layout holds
(``/work/main`` and ``/work/shared``).  A missing corpus fails loudly rather than skipping.
"""

from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
if not CORPUS.is_dir():
    raise RuntimeError(f"the shared .docx corpus is missing: expected it at {CORPUS}")
