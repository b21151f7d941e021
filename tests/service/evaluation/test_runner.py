"""Tests for service.evaluation.runner and .baseline over a real Chroma store and the real MiniLM
embedder, with a scripted LLM: corpus indexing with hold-out, the result objects of both engines,
quote integrity against the store, and a failing question that must not end the run."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from index.embedding import Embedder
from service.components import Components, build_components
from service.evaluation import EngineOutput
from service.evaluation.baseline import BaselineEngine, source_quote, stored_articles
from service.evaluation.dataset import EvalQuestion
from service.evaluation.runner import (
    ArticleTexts,
    EvalSetupError,
    check_held_out,
    index_corpus,
    make_engine,
    run_eval,
)
from service.settings import Settings
from tests.service.fakes import ScriptedLLM

ARTICLES = [
    {
        "id": "bridge",
        "title": "Springfield approves river bridge",
        "source": "Springfield Gazette",
        "published_at": "2026-03-02",
        "text": "The Springfield city council approved a new bridge over the Blue River on Monday. "
        "The bridge will cost 12 million dollars and open in 2026. Mayor Ana Ruiz called it overdue.",
    },
    {
        "id": "library",
        "title": "Shelbyville library reopens",
        "source": "Shelbyville Times",
        "text": "The Shelbyville public library reopened on Saturday after a two-year renovation. "
        "Its new reading room seats 300 people. Librarian Tom Berg said visitors returned at once.",
    },
    {
        "id": "harbour",
        "title": "Capital City harbour strike ends",
        "source": "Capital Post",
        "text": "Dock workers in Capital City ended a nine-day strike on Friday after a pay deal. "
        "The agreement raises wages by 7 percent over two years.",
    },
]
BRIDGE = EvalQuestion("q-bridge", "How much will the Springfield bridge cost?", "12 million dollars", ["bridge"])
HARBOUR = EvalQuestion("q-harbour", "How long did the Capital City dock strike last?", "nine days", ["harbour"])
RESULT_KEYS = {"engine", "id", "question", "answer", "abstained", "citations", "retrieved", "context", "gold"}
RESULT_KEYS |= {"scores", "timings_ms"}
CITATION_KEYS = {"n", "article_id", "title", "source", "url", "published_at", "chunk_id", "quote", "start", "end"}
CITATION_KEYS |= {"score"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "articles.jsonl"
    path.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def components(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, corpus: Path, restore_torch_threads: None
) -> Iterator[Components]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("eval-data"), top_k=2, min_relevance=0.2)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("service.components.load_embedder", lambda name, batch_size=32: embedder)
        built = build_components(settings)
    seen: list[tuple[str, str]] = []
    report = index_corpus(corpus, built, {"harbour"}, lambda aid, outcome: seen.append((aid, outcome)))
    assert report.held_out == 1
    # Each article reported once; a stored one when its write lands, which may be after a later hold-out.
    assert sorted(seen) == [("bridge", "created"), ("harbour", "held out"), ("library", "created")]
    yield built


def test_indexing_again_is_unchanged_and_a_held_out_article_in_the_store_is_refused(
    components: Components, corpus: Path
) -> None:
    again = index_corpus(corpus, components, {"harbour"})
    assert {o.value for o in again.ingest.outcomes.values()} == {"unchanged"}
    check_held_out(components.store, {"harbour", "elsewhere"})  # not stored: fine
    with pytest.raises(EvalSetupError, match="held-out gold article"):
        check_held_out(components.store, {"bridge"})


def test_citewire_results_have_the_documented_shape_and_exact_quotes(components: Components) -> None:
    llm = ScriptedLLM(reply="The bridge will cost 12 million dollars [1].")
    done: list[dict[str, Any]] = []
    results = run_eval([BRIDGE, HARBOUR], "citewire", components, llm, 2, done.append, expect_abstain={"q-harbour"})
    assert done == results
    bridge, harbour = results
    assert set(bridge) == RESULT_KEYS | {"notes"}  # the checked sentences, with their scores
    assert all({"text", "citations", "supported", "score"} <= set(s) for s in bridge["notes"]["sentences"])
    assert bridge["engine"] == "citewire" and not bridge["abstained"]
    assert [set(c) for c in bridge["citations"]] == [CITATION_KEYS]
    assert bridge["citations"][0]["article_id"] == "bridge"
    assert bridge["retrieved"][0]["article_id"] == "bridge"
    assert set(bridge["retrieved"][0]) == {"article_id", "chunk_id", "score"}
    assert bridge["gold"] == {
        "answer": "12 million dollars",
        "article_ids": ["bridge"],
        "choices": None,
        "answer_index": None,
        "as_of": None,
        "expect_abstain": False,
    }
    scores = bridge["scores"]
    assert (scores["hit@1"], scores["answer_contains"], scores["citation_precision"]) == (True, True, 1.0)
    assert scores["quote_mismatches"] == 0
    assert set(bridge["timings_ms"]) == {"retrieve", "generate", "verify", "total"}
    assert harbour["gold"]["expect_abstain"] is True
    assert harbour["scores"]["hit@1"] is None  # its gold article is not in the corpus
    json.dumps(results)  # every result is plain JSON


def test_baseline_maps_markers_to_source_nodes_with_exact_offsets(components: Components) -> None:
    llm = ScriptedLLM(reply="It will cost 12 million dollars [1]. Also see [9].")
    engine = make_engine("baseline", components, llm, top_k=2)
    assert isinstance(engine, BaselineEngine)
    [result] = run_eval([BRIDGE], "baseline", components, llm, 2, engine=engine)
    assert set(result) == RESULT_KEYS and result["engine"] == "baseline"
    [citation] = result["citations"]
    assert set(citation) == CITATION_KEYS
    stored = components.store.get("bridge")
    assert stored is not None
    assert citation["article_id"] == "bridge" and citation["title"] == "Springfield approves river bridge"
    assert stored.article.text[citation["start"] : citation["end"]] == citation["quote"]
    assert citation["quote"].startswith("The Springfield city council")  # the "Source 1:" label is gone
    assert result["scores"]["quote_mismatches"] == 0
    assert result["scores"]["unresolved_markers"] == 1  # [9] names no source
    assert not result["abstained"]
    assert result["retrieved"][0]["article_id"] == "bridge"
    assert "Source 1:" in llm.prompts[-1]  # the stock prompt was used

    llm.script("The sources do not contain this information.")
    [refused] = run_eval([BRIDGE], "baseline", components, llm, 2, engine=engine)
    assert refused["abstained"] and refused["citations"] == []


def test_baseline_indexes_exactly_the_stored_articles(components: Components) -> None:
    assert sorted(a.id for a in stored_articles(components.store)) == ["bridge", "library"]
    assert source_quote("Source 12:\nSome text.\n") == "Some text."
    assert source_quote("No label") == "No label"


@pytest.mark.parametrize("engine_name", ["citewire", "baseline"])
def test_a_question_asked_before_an_article_was_published_never_sees_it(
    components: Components, engine_name: str
) -> None:
    """RealTime QA's questions carry the day they were asked: a later week's story must not answer them."""
    early = dataclasses.replace(BRIDGE, id="q-bridge-early", as_of=date(2026, 3, 1))
    llm = ScriptedLLM(reply="The bridge will cost 12 million dollars [1].")
    engine = make_engine(engine_name, components, llm, top_k=2)
    [asked_early] = run_eval([early], engine_name, components, llm, 2, engine=engine)
    assert asked_early["gold"]["as_of"] == "2026-03-01"
    assert {r["article_id"] for r in asked_early["retrieved"]} == {"library"}  # undated: kept
    assert "bridge" not in {c["article_id"] for c in asked_early["citations"]}
    [dates_ignored] = run_eval([early], engine_name, components, llm, 2, question_dates=False, engine=engine)
    assert dates_ignored["gold"]["as_of"] is None
    assert dates_ignored["retrieved"][0]["article_id"] == "bridge"


class _Failing:
    name = "failing"

    def ask(self, question: str, choices: Sequence[str] = (), as_of: date | None = None) -> EngineOutput:
        raise RuntimeError("model crashed")


def test_a_failing_question_is_recorded_not_raised(components: Components) -> None:
    [result] = run_eval([BRIDGE], "failing", components, ScriptedLLM(), engine=_Failing())
    assert result["error"] == "RuntimeError: model crashed"
    assert result["answer"] == "" and result["citations"] == []
    assert result["scores"]["answer_contains"] is False


def test_quote_integrity_catches_offsets_that_do_not_match(components: Components) -> None:
    texts = ArticleTexts(components.store)
    text = texts.get("bridge")
    assert text is not None
    good = {"article_id": "bridge", "start": 4, "end": 15, "quote": text[4:15]}
    assert texts.quote_mismatches([good]) == 0
    assert texts.quote_mismatches([{**good, "start": 5}]) == 1
    assert texts.quote_mismatches([{**good, "start": -1, "end": -1}]) == 1
    assert texts.quote_mismatches([{**good, "article_id": "missing"}]) == 1


def test_unknown_engine_is_refused(components: Components) -> None:
    with pytest.raises(ValueError, match="unknown engine"):
        make_engine("other", components, ScriptedLLM())


BRIDGE_CHOICES = EvalQuestion(
    "q-bridge-mc",
    "How much will the Springfield bridge cost?",
    "12 million dollars",
    ["bridge"],
    choices=["5 million dollars", "12 million dollars", "20 million dollars"],
    answer_index=[1],
)


def test_choices_reach_the_model_but_do_not_count_as_facts_the_asker_gave(components: Components) -> None:
    """With the options glued to the question, every word of "12 million dollars" was already "given",
    so the one new word left ("expected", not in the source) decided the check and the answer was dropped."""
    llm = ScriptedLLM(reply="The bridge is expected to cost 12 million dollars [1].")
    [result] = run_eval([BRIDGE_CHOICES], "citewire", components, llm, 2, include_choices=True)
    assert "Choices: 5 million dollars; 12 million dollars; 20 million dollars" in llm.prompts[-1]
    assert not result["abstained"], result["answer"]
    assert result["scores"]["mc_correct"] is True
    assert [c["article_id"] for c in result["citations"]] == ["bridge"]
    [plain] = run_eval([BRIDGE_CHOICES], "citewire", components, llm, 2)
    assert "Choices:" not in llm.prompts[-1] and not plain["abstained"]


def test_the_baseline_is_asked_the_same_options(components: Components) -> None:
    llm = ScriptedLLM(reply="12 million dollars [1].")
    engine = make_engine("baseline", components, llm, top_k=2)
    [result] = run_eval([BRIDGE_CHOICES], "baseline", components, llm, 2, engine=engine, include_choices=True)
    assert "Choices: 5 million dollars; 12 million dollars; 20 million dollars" in llm.prompts[-1]
    assert result["scores"]["mc_correct"] is True


def test_a_bare_option_is_an_answer_to_the_question_that_lists_it(components: Components) -> None:
    """The answer-relevance floor compares the answer with the question as asked, options included:
    "Ana Ruiz." scores 0.11 against the question alone (under the 0.3 floor), 0.38 with its options."""
    who = EvalQuestion(
        "q-who", "Who called the Springfield bridge overdue?", "Ana Ruiz", ["bridge"], ["Ana Ruiz", "Tom Berg"], [0]
    )
    llm = ScriptedLLM(reply="Ana Ruiz [1].")
    [result] = run_eval([who], "citewire", components, llm, 2, include_choices=True)
    assert not result["abstained"], result["answer"]
    assert result["scores"]["mc_correct"] is True
    assert [c["article_id"] for c in result["citations"]] == ["bridge"]
