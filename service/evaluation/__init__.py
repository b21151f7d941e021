"""Batch evaluation: Citewire and LlamaIndex's stock ``CitationQueryEngine`` over one question set, scored and reported.

``dataset`` loads questions, ``runner`` asks them (the stock engine through ``baseline``), ``metrics`` scores, and the
report modules render. ``EngineOutput`` lives here because both engine adapters produce it and the runner imports the
baseline: a shared leaf keeps the imports acyclic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class EngineOutput:
    """What one engine produced for one question, already in the results file's JSON shapes.

    ``citations`` are ``/v1/query`` citation objects; ``context`` is what the model was shown and
    ``retrieved`` the deeper ranking that retrieval metrics use (both ``{article_id, chunk_id, score}``).
    """

    answer: str
    abstained: bool
    citations: list[dict[str, Any]]
    context: list[dict[str, Any]]
    retrieved: list[dict[str, Any]]
    timings_ms: dict[str, float]
    unresolved_markers: int = 0  # [n] markers in the answer that name no source
    notes: dict[str, Any] = field(default_factory=dict)


__all__ = ["EngineOutput"]
