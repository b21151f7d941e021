"""The evidence engine's decide-and-cite step, with a scripted model over the real seed store."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import CompletionResponse, CompletionResponseGen, LLMMetadata
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_completion_callback
from pydantic import Field

from index.embedding import Embedder
from service.answering.evidence_engine import EvidenceEngine
from service.components import Components
from tests.service.answering.conftest import evidence_engine, seed_components

QUESTION = "Which newspaper reviewed the White House memo?"
VERIFY_MARK = "Is the claim true according to the evidence"  # prompts/verify_user.txt


class Scripted(CustomLLM):
    """Answers the evidence prompt with ``reply(prompt)``; the verify prompt with ``verdict(prompt)``."""

    reply: Callable[[str], str] = Field(default=lambda prompt: "NOT IN SOURCES")
    verdict: Callable[[str], str] = Field(default=lambda prompt: "yes")
    answers: int = 0
    verifications: int = 0

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="scripted")

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        if VERIFY_MARK in prompt:
            self.verifications += 1
            return CompletionResponse(text=self.verdict(prompt))
        self.answers += 1
        return CompletionResponse(text=self.reply(prompt))

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        text = self.complete(prompt, formatted, **kwargs).text
        yield CompletionResponse(text=text, delta=text)


def _evidence_ids(prompt: str) -> dict[int, str]:
    return {int(n): text for n, text in re.findall(r"^\[(\d+)\] (.*)$", prompt, re.MULTILINE)}


def _id_of(prompt: str, needle: str) -> int:
    return next(n for n, text in _evidence_ids(prompt).items() if needle in text)


def _id_without(prompt: str, needle: str) -> int:
    return next(n for n, text in _evidence_ids(prompt).items() if needle not in text)


def _says_ft(prompt: str) -> str:
    evidence = prompt.split("Evidence:", 1)[1].split("Claim:", 1)[0]
    return "yes" if "FT" in evidence else "unknown"


def test_a_wrong_citation_moves_to_the_sentence_that_states_the_claim(seed_store: Components) -> None:
    llm = Scripted(reply=lambda p: f"The FT reviewed the memo [{_id_without(p, 'FT')}].", verdict=_says_ft)
    answer = evidence_engine(seed_store, llm).answer(QUESTION)
    assert not answer.abstained
    assert [c.n for c in answer.citations] == [1]
    assert "FT" in answer.citations[0].quote
    assert answer.sentences[0].supported and answer.sentences[0].score == 1.0


def test_an_unsupported_sentence_is_flagged_and_left_out(seed_store: Components) -> None:
    def reply(p: str) -> str:
        ft = _id_of(p, "FT")
        return f"The FT reviewed the memo [{ft}]. The memo was written by aliens [{ft}]."

    llm = Scripted(reply=reply, verdict=lambda p: "no" if "aliens" in p else "yes")
    answer = evidence_engine(seed_store, llm).answer(QUESTION)
    assert answer.text == "The FT reviewed the memo [1]."
    assert [(s.supported, s.markers) for s in answer.sentences] == [(True, [1]), (False, [])]
    assert answer.citations[0].passage.article.article.text[answer.citations[0].start : answer.citations[0].end] == (
        answer.citations[0].quote
    )


def test_nothing_supported_means_abstaining(seed_store: Components) -> None:
    llm = Scripted(reply=lambda p: "The Guardian reviewed the memo [1].", verdict=lambda p: "no")
    answer = evidence_engine(seed_store, llm).answer(QUESTION)
    assert answer.abstained and not answer.citations
    assert answer.sentences and not answer.sentences[0].supported


def test_the_same_question_is_answered_from_the_cache_until_the_store_changes(
    tmp_path: Path, embedder: Embedder
) -> None:
    store = seed_components(tmp_path, embedder)
    llm = Scripted(reply=lambda p: f"The FT reviewed the memo [{_id_of(p, 'FT')}].")
    engine: EvidenceEngine = evidence_engine(store, llm)
    first = engine.answer(QUESTION)
    again = engine.answer(QUESTION)
    assert llm.answers == 1 and again.text == first.text
    assert again.timings_ms["generate"] == 0.0
    engine.answer(QUESTION, choices=["FT", "CNN"])  # other options: another key
    assert llm.answers == 2
    assert store.store.delete(first.citations[0].passage.article.article.id)
    assert engine.answer(QUESTION).abstained  # a new store state: not the cached answer


def test_an_extra_citation_that_confuses_the_check_is_dropped(seed_store: Components) -> None:
    def reply(p: str) -> str:
        return f"The FT reviewed the memo [{_id_without(p, 'FT')}][{_id_of(p, 'FT')}]."

    def verdict(p: str) -> str:  # only the FT sentence on its own convinces this checker
        evidence = p.split("Evidence:", 1)[1].split("Claim:", 1)[0]
        return "yes" if "FT" in evidence and evidence.count("\n- ") == 1 else "unknown"

    answer = evidence_engine(seed_store, Scripted(reply=reply, verdict=verdict)).answer(QUESTION)
    assert not answer.abstained
    assert len(answer.citations) == 1 and "FT" in answer.citations[0].quote
