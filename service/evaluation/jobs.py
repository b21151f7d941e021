"""Batch evaluation as an HTTP job: the same runner as ``citewire eval``, over the served store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service.api_models import EvalRequest
from service.engine import CitewireQueryEngine
from service.evaluation.dataset import EvalQuestion
from service.evaluation.metrics import summarise
from service.evaluation.runner import RANK_DEPTH, ArticleTexts, CitewireEvalEngine, EvalEngine, evaluate_question
from service.jobs import JobBody, Reporter


def evaluation_job(engine: CitewireQueryEngine, questions: Sequence[EvalQuestion], request: EvalRequest) -> JobBody:
    """A job body that asks every question, reports each result, and returns the summary metrics."""

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
            result = evaluate_question(
                eval_engine, question, False, texts, request.with_choices, request.question_dates
            )
            results.append(result)
            report(result, done, len(questions))
        return summarise(results)

    return run
