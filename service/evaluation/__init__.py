"""Batch evaluation (issue #3): run a question set through Citewire and LlamaIndex's stock
``CitationQueryEngine``, score retrieval, answers, citations, abstention and latency, and render
one self-contained HTML report.

Modules: ``dataset`` (questions and hold-out), ``metrics`` (pure scoring), ``baseline`` (the stock
engine), ``runner`` (one JSON object per question), ``report`` (HTML and the terminal table).

``EngineOutput`` lives here, not in ``runner``, because both engine adapters produce it and the
runner imports the baseline: a shared leaf keeps the imports acyclic.
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
