"""Batch evaluation as an HTTP job: the same runner as ``citewire eval``, over the served store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from service.answering.rules_engine import CitewireQueryEngine
from service.evaluation.dataset import EvalQuestion
from service.evaluation.metrics import summarise
from service.evaluation.runner import RANK_DEPTH, ArticleTexts, CitewireEvalEngine, EvalEngine, evaluate_question
from service.jobs.queue import JobBody, Reporter
from service.llm.gate import GenerationGate


@dataclass(frozen=True)
class EvalOptions:
    """How a batch is asked: which engine, how many passages, options appended, as of each question's day."""

    engine: str = "citewire"  # or "baseline": the stock CitationQueryEngine
    top_k: int | None = None
    with_choices: bool = False
    question_dates: bool = True


def evaluation_job(
    engine: CitewireQueryEngine, questions: Sequence[EvalQuestion], request: EvalOptions, gate: GenerationGate
) -> JobBody:
    """A job body that asks every question, reports each result, and returns the summary metrics.

    Each question takes the served model's slot in the background lane: only when no request waits for it,
    and within the same deadline as a request (a question past it is recorded with its error)."""

    def run(report: Reporter) -> dict[str, Any]:
        eval_engine: EvalEngine
        if request.engine == "baseline":
            from service.evaluation.baseline import BaselineEngine, stored_articles

            top_k = request.top_k or engine.top_k
            eval_engine = BaselineEngine(
                stored_articles(engine.store), engine.embed_model, engine.llm, top_k, RANK_DEPTH
            )
        else:
            eval_engine = CitewireEvalEngine(engine, request.top_k)
        texts = ArticleTexts(engine.store)
        results = []
        report(None, 0, len(questions))
        for done, question in enumerate(questions, start=1):
            with gate.slot(background=True):
                result = evaluate_question(
                    eval_engine, question, False, texts, request.with_choices, request.question_dates
                )
            results.append(result)
            report(result, done, len(questions))
        return summarise(results)

    return run
