"""The evidence-first engine: retrieve, pick evidence sentences, answer citing them by id, verify each claim, cite.

Same interface as the query engine (``draft``/``generate``/``finish``), so HTTP, streaming, chat and evaluation run on
it. The model sees only numbered sentences (a grammar keeps cited ids real), each citation is exactly one sentence's
span, and claims the verifier scores under ``min_support`` are dropped; with none left, the engine abstains.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole

from index.filters import ArticleFilter
from prompts import load_prompt
from service.answering.budget import fit_prompt
from service.answering.cache import AnswerCache, served_from_cache
from service.answering.claims import Claim, is_refusal, read_claims
from service.answering.evidence import (
    EvidencePolicy,
    EvidenceSentence,
    SentenceVectors,
    lexical_scores,
    select_evidence,
)
from service.answering.grammar import answer_grammar
from service.answering.guard import neutralise
from service.answering.language import UNNAMED, answer_language
from service.answering.model import AnswerModel
from service.answering.rules_engine import CitewireQueryEngine, _origin, _timings, with_choices
from service.answering.types import Answer, CheckedSentence, Citation, Draft
from service.answering.verifier import Support, Verifier

_PREFIX_END = "Evidence:\n"  # the answer prompt is the same for every question up to here
_ENDS = ".。!?！？"


class EvidenceEngine(CitewireQueryEngine):
    """Answers from evidence sentences with citations by construction and one verifier, or abstains."""

    answer_model: Any  # AnswerModel
    verifier: Verifier
    vectors: SentenceVectors
    evidence_policy: EvidencePolicy = EvidencePolicy()
    evidence_passages: int = 8  # retrieved passages the evidence sentences are picked from
    min_support: float = 0.5
    language_confidence: float = 0.4  # named in the prompt when the identifier is this sure
    alternatives: int = 2  # other evidence sentences tried for a claim its citations do not support
    cache: AnswerCache | None = None
    fingerprint: str = ""  # the configuration and model, for the cache key

    def draft(
        self,
        question: str,
        top_k: int | None = None,
        where: ArticleFilter | None = None,
        choices: Sequence[str] = (),
    ) -> Draft | Answer:
        started = time.perf_counter()
        key = self._cache_key(question, top_k, where, choices)
        cached = self.cache.get(key) if self.cache is not None and key is not None else None
        if cached is not None:
            return served_from_cache(cached, (time.perf_counter() - started) * 1000)
        asked = with_choices(question, choices)
        pool = max(top_k or self.top_k, self.evidence_passages)
        retrieved = self.find_passages(asked, pool, where, anchor=question)
        retrieve_ms = (time.perf_counter() - started) * 1000
        if not retrieved or max(p.score for p in retrieved) < self.min_relevance:
            return self._abstain(retrieved, retrieve_ms, 0.0, started)
        relevant = [p for p in retrieved if p.relevant(self.min_relevance)]
        assert self.token_counter is not None, "evidence budgets are counted in the embedder's tokens"
        evidence = select_evidence(
            asked, self.retriever.query_vector(asked), relevant, self.vectors, self.token_counter, self.evidence_policy
        )
        if not evidence:
            return self._abstain(retrieved, retrieve_ms, 0.0, started)
        shown = [neutralise(e.text) for e in evidence]
        language = answer_language(question, self.language_confidence)
        k = fit_prompt(
            lambda k: evidence_messages(asked, evidence[:k], shown[:k], language), len(evidence), *self.prompt_budget()
        )
        evidence, shown = evidence[:k], shown[:k]
        messages = evidence_messages(asked, evidence, shown, language)
        retrieve_ms = (time.perf_counter() - started) * 1000
        passages = [e.passage for e in evidence]
        return Draft(question, asked, retrieved, passages, shown, messages, started, retrieve_ms, evidence, key)

    def generate(self, draft: Draft, should_stop: Callable[[], bool] | None = None) -> Iterator[str]:
        grammar = answer_grammar(len(draft.evidence))
        model: AnswerModel = self.answer_model
        yield from model.stream_prefixed(draft.messages, _PREFIX_END, grammar, self.max_answer_tokens, should_stop)

    def finish(self, draft: Draft, raw: str, generate_ms: float) -> Answer:
        evidence: list[EvidenceSentence] = draft.evidence
        if is_refusal(raw):
            return self._keep(draft, self._abstain(draft.retrieved, draft.retrieve_ms, generate_ms, draft.started))
        verify_started = time.perf_counter()
        checked = [self._verified(claim, evidence) for claim in read_claims(raw, len(evidence))]
        verify_ms = (time.perf_counter() - verify_started) * 1000
        kept = [(claim, ids, s) for claim, ids, s in checked if s.score >= self.min_support]
        numbers: dict[int, int] = {}  # evidence id -> citation number, in order of first use
        for _, ids, _ in kept:
            for i in ids:
                numbers.setdefault(i, len(numbers) + 1)
        sentences = [
            CheckedSentence(
                text=claim.text,
                markers=[numbers[i] for i in ids] if s.score >= self.min_support else [],
                supported=s.score >= self.min_support,
                score=round(s.score, 4),
            )
            for claim, ids, s in checked
        ]
        timings = _timings(draft.retrieve_ms, generate_ms, draft.started, verify_ms)
        if not kept:
            answer = self._abstain(draft.retrieved, draft.retrieve_ms, generate_ms, draft.started, verify_ms)
            answer.sentences = sentences
            return self._keep(draft, answer)
        citations = [
            Citation(
                n=n,
                passage=evidence[i - 1].passage,
                start=evidence[i - 1].start,
                end=evidence[i - 1].end,
                quote=evidence[i - 1].text,
            )
            for i, n in numbers.items()
        ]
        text = " ".join(_with_markers(claim.text, [numbers[i] for i in ids]) for claim, ids, _ in kept)
        answer = Answer(text, False, citations, draft.retrieved, timings, sentences)
        return self._keep(draft, answer)

    def _verified(self, claim: Claim, evidence: list[EvidenceSentence]) -> tuple[Claim, list[int], Support]:
        """The claim with the evidence ids that support it: all its citations together, else those of them
        that support it alone (an unrelated extra citation confuses a small model), else the best other
        sentence sharing its words; with none, its own citations and their score."""
        ids = list(claim.cited)
        support = self.verifier.support(claim.text, [evidence[i - 1].text for i in ids])
        if support.score >= self.min_support:
            return claim, ids, support
        if len(ids) > 1:
            alone = [(i, self.verifier.support(claim.text, [evidence[i - 1].text])) for i in ids]
            backing = [(i, s) for i, s in alone if s.score >= self.min_support]
            if backing:
                return claim, [i for i, _ in backing], max((s for _, s in backing), key=lambda s: s.score)
        others = [e for e in evidence if e.n not in ids]
        overlaps = lexical_scores(claim.text, [e.text for e in others])
        ranked = sorted(zip(overlaps, others, strict=True), key=lambda pair: -pair[0])
        for overlap, other in ranked[: self.alternatives]:
            if overlap <= 0:
                break
            moved = self.verifier.support(claim.text, [other.text])
            if moved.score >= self.min_support:
                return claim, [other.n], moved
        return claim, ids, support

    def _cache_key(self, question: str, top_k: int | None, where: ArticleFilter | None, choices: Sequence[str]) -> Any:
        if self.cache is None:
            return None
        return (question, tuple(choices), top_k, repr(where), self.store.marker(), self.fingerprint)

    def _keep(self, draft: Draft, answer: Answer) -> Answer:
        if self.cache is not None and draft.cache_key is not None:
            self.cache.put(draft.cache_key, answer)
        return answer


def evidence_messages(
    question: str, evidence: Sequence[EvidenceSentence], shown: Sequence[str], language: str = UNNAMED
) -> list[ChatMessage]:
    """The answer prompt: evidence sentences grouped under their article's title, outlet and date."""
    lines: list[str] = []
    article = None
    for e, text in zip(evidence, shown, strict=True):
        if e.passage.article.article.id != article:
            article = e.passage.article.article.id
            if lines:
                lines.append("")
            title = e.passage.article.article.title or "untitled"
            lines.append(load_prompt("evidence_article").format(title=title, origin=_origin(e.passage.article)))
        lines.append(f"[{e.n}] {' '.join(text.split())}")
    system = load_prompt("evidence_system").format(refusal=load_prompt("refusal"))
    user = load_prompt("evidence_user").format(evidence="\n".join(lines), question=question, language=language)
    return [ChatMessage(role=MessageRole.SYSTEM, content=system), ChatMessage(role=MessageRole.USER, content=user)]


def _with_markers(text: str, numbers: list[int]) -> str:
    end = text[-1] if text and text[-1] in _ENDS else ""
    body = text[: len(text) - len(end)].rstrip()
    return f"{body} {''.join(f'[{n}]' for n in numbers)}{end or '.'}"
