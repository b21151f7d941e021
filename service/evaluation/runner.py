"""Run questions through an engine and turn each answer into one self-describing, scored JSON object.

Each object holds the answer, citations (``/v1/query`` shape), ranking, gold data and scores, so the results file alone
recomputes the summary and a crashed run keeps every finished question. Retrieval metrics need a ranking deeper than
what the model sees, so each question gets an extra, untimed retrieval of ``RANK_DEPTH`` chunks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, Protocol

from llama_index.core.llms import LLM

from index.articles import Article
from index.filters import ArticleFilter
from index.ingest import IngestReport, Outcome, ingest_articles
from index.loaders import load_file
from index.store import ArticleStore
from service.answering.rules_engine import CitewireQueryEngine, with_choices
from service.answering.schemas import to_query_response
from service.answering.types import Passage
from service.components import Components, build_engine
from service.evaluation import EngineOutput
from service.evaluation.dataset import EvalQuestion
from service.evaluation.metrics import score_question

EngineName = Literal["citewire", "baseline"]
ENGINES: tuple[EngineName, ...] = ("citewire", "baseline")
RANK_DEPTH = 50  # chunks retrieved for the ranking behind hit@k and MRR@10
_FETCH_BATCH = 256


class EvalSetupError(RuntimeError):
    """The store or corpus does not fit the evaluation asked for (for example, held-out articles are indexed)."""


class EvalEngine(Protocol):
    name: str

    def ask(self, question: str, choices: Sequence[str] = (), as_of: date | None = None) -> EngineOutput: ...


class CitewireEvalEngine:
    """Citewire's engine as the API runs it, reported through ``to_query_response``."""

    name = "citewire"

    def __init__(self, engine: CitewireQueryEngine, top_k: int | None = None, rank_depth: int = RANK_DEPTH) -> None:
        self.engine = engine
        self.top_k = top_k
        self.rank_depth = rank_depth

    def ask(self, question: str, choices: Sequence[str] = (), as_of: date | None = None) -> EngineOutput:
        where = ArticleFilter(as_of=as_of) if as_of is not None else None
        answer = self.engine.answer(question, self.top_k, where, choices)
        response = to_query_response(answer)
        ranking = self.engine.find_passages(with_choices(question, choices), self.rank_depth, where, anchor=question)
        return EngineOutput(
            answer=response.answer,
            abstained=response.abstained,
            citations=[c.model_dump() for c in response.citations],
            context=[_passage_ref(p) for p in answer.retrieved],
            retrieved=[_passage_ref(p) for p in ranking],
            timings_ms=response.timings_ms.model_dump(),
            notes={"sentences": [s.model_dump() for s in response.sentences]},
        )


def _passage_ref(p: Passage) -> dict[str, Any]:
    return {"article_id": p.article.article.id, "chunk_id": p.chunk_id, "score": round(p.score, 4)}


def make_engine(
    engine_name: str,
    components: Components,
    llm: LLM,
    top_k: int | None = None,
    on_index_progress: Callable[[int, int], None] | None = None,
) -> EvalEngine:
    """Build the named engine over the components' store (the baseline indexes those articles itself)."""
    if engine_name == "citewire":
        return CitewireEvalEngine(build_engine(components, llm), top_k)
    if engine_name == "baseline":
        from service.evaluation.baseline import BaselineEngine, stored_articles

        return BaselineEngine(
            stored_articles(components.store),
            components.embedder.model,
            llm,
            top_k or components.settings.top_k,
            RANK_DEPTH,
            on_index_progress,
        )
    raise ValueError(f"unknown engine {engine_name!r} (use one of {', '.join(ENGINES)})")


def run_eval(
    questions: Sequence[EvalQuestion],
    engine_name: str,
    components: Components,
    llm: LLM,
    top_k: int | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    *,
    expect_abstain: Iterable[str] = (),
    include_choices: bool = False,
    question_dates: bool = True,
    engine: EvalEngine | None = None,
) -> list[dict[str, Any]]:
    """Ask every question, score it, and hand each result to ``on_progress`` as soon as it is done.

    Pass ``engine`` to reuse one already built (the baseline's index is costly); otherwise it is
    built from ``engine_name``. With ``question_dates``, a question's ``as_of`` day goes to the engine
    (nothing published later; "latest" counts back from it). An exception on one question is recorded in that result's
    ``error`` field (scored as an unanswered question) instead of ending the run.
    """
    engine = engine or make_engine(engine_name, components, llm, top_k)
    abstain_ids = frozenset(expect_abstain)
    texts = ArticleTexts(components.store)
    results: list[dict[str, Any]] = []
    for question in questions:
        expected = question.id in abstain_ids
        result = evaluate_question(engine, question, expected, texts, include_choices, question_dates)
        results.append(result)
        if on_progress is not None:
            on_progress(result)
    return results


def evaluate_question(
    engine: EvalEngine,
    question: EvalQuestion,
    expect_abstain: bool,
    texts: ArticleTexts,
    include_choices: bool,
    question_dates: bool = True,
) -> dict[str, Any]:
    """One question through one engine, as the results file's JSON object."""
    error: str | None = None
    started = time.perf_counter()
    try:
        choices = question.choices or () if include_choices else ()
        out = engine.ask(question.question, choices, question.as_of if question_dates else None)
    except Exception as exc:  # one failing question must not lose a long run
        error = f"{type(exc).__name__}: {exc}"
        total = round((time.perf_counter() - started) * 1000, 2)
        out = EngineOutput("", False, [], [], [], {"retrieve": 0.0, "generate": 0.0, "total": total})
    scores = score_question(
        answer=out.answer,
        abstained=out.abstained,
        cited_article_ids=[c["article_id"] for c in out.citations],
        cited_quotes=[c.get("quote") or "" for c in out.citations],
        ranked_article_ids=[r["article_id"] for r in out.retrieved],
        context_article_ids=[r["article_id"] for r in out.context],
        gold_answers=question.answers,
        gold_article_ids=question.gold_article_ids,
        choices=question.choices,
        answer_index=question.answer_index,
        expect_abstain=expect_abstain,
    )
    scores["quote_mismatches"] = texts.quote_mismatches(out.citations)
    scores["unresolved_markers"] = out.unresolved_markers
    result: dict[str, Any] = {
        "engine": engine.name,
        "id": question.id,
        "question": question.question,
        "answer": out.answer,
        "abstained": out.abstained,
        "citations": out.citations,
        "retrieved": out.retrieved,
        "context": out.context,
        "gold": {
            "answer": question.answer,
            "article_ids": question.gold_article_ids,
            "choices": question.choices,
            "answer_index": question.answer_index,
            "as_of": question.as_of.isoformat() if question_dates and question.as_of else None,
            "expect_abstain": expect_abstain,
        },
        "scores": scores,
        "timings_ms": out.timings_ms,
    }
    if out.notes:
        result["notes"] = out.notes
    if error is not None:
        result["error"] = error
    return result


class ArticleTexts:
    """Stored article texts, fetched once each, to check every quote against ``text[start:end]``."""

    def __init__(self, store: ArticleStore) -> None:
        self._store = store
        self._texts: dict[str, str | None] = {}

    def get(self, article_id: str) -> str | None:
        if article_id not in self._texts:
            stored = self._store.get(article_id)
            self._texts[article_id] = stored.article.text if stored else None
        return self._texts[article_id]

    def quote_mismatches(self, citations: Iterable[dict[str, Any]]) -> int:
        """Citations whose quote is not exactly the stored article's text at their offsets."""
        bad = 0
        for c in citations:
            text = self.get(c["article_id"])
            start, end = c["start"], c["end"]
            if text is None or not 0 <= start < end <= len(text) or text[start:end] != c["quote"]:
                bad += 1
        return bad


# -- indexing a corpus ---------------------------------------------------------------------


@dataclass
class CorpusReport:
    ingest: IngestReport
    held_out: int  # articles of the file skipped because they are held-out gold


def index_corpus(
    path: Path,
    components: Components,
    drop_article_ids: Iterable[str] = (),
    on_article: Callable[[str, str], None] | None = None,
) -> CorpusReport:
    """Index an articles file into the components' store, skipping held-out ids.

    ``on_article(article_id, outcome)`` is called for every article of the file, with outcome
    ``created``/``unchanged``/``replaced``, or ``held out``. Re-running is cheap: unchanged
    articles are not embedded again. Afterwards the store is checked to hold none of the
    held-out articles (a store indexed earlier without hold-out would make abstention cases moot).
    """
    drop = frozenset(drop_article_ids)
    held_out = 0

    def kept() -> Iterable[Article]:
        nonlocal held_out
        for article in load_file(path):
            if article.id in drop:
                held_out += 1
                if on_article is not None:
                    on_article(article.id, "held out")
                continue
            yield article

    def progress(article: Article, outcome: Outcome) -> None:
        if on_article is not None:
            on_article(article.id, outcome.value)

    report = ingest_articles(kept(), components.store, components.embedder, components.chunking, progress)
    check_held_out(components.store, drop)
    return CorpusReport(ingest=report, held_out=held_out)


def check_held_out(store: ArticleStore, drop_article_ids: Iterable[str]) -> None:
    """Raise EvalSetupError when the store holds any held-out article."""
    ids = sorted(set(drop_article_ids))
    present: list[str] = []
    for i in range(0, len(ids), _FETCH_BATCH):
        present.extend(store.get_many(ids[i : i + _FETCH_BATCH]))
    if present:
        raise EvalSetupError(
            f"the store already holds {len(present)} held-out gold article(s) (e.g. {present[0]}); "
            "run the evaluation with a fresh --data-dir"
        )
