"""Check a text's claims against the articles: retrieve per claim, pick its evidence sentences, ask the verifier.

Each claim is searched like a question; the best few sentences of what is found (the evidence engine's sentence
picker, service/answering/evidence.py) are each scored by the one verifier for P(true) and P(false). A sentence is a
span of its article, so what supports or contradicts a claim is exact by construction. The model calls run in one
generation slot, under the same queue, deadline and stop rules as answers (service/llm/gate.py).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from citewire.schemas import CheckResponse, CheckSpan, CheckTimings, ClaimCheck, ClaimLabel
from index.chunking import sentence_spans
from index.filters import ArticleFilter
from service.answering.evidence import EvidencePolicy, EvidenceSentence, SentenceVectors, select_evidence
from service.answering.guard import neutralise
from service.answering.responder import GenerationTimeout
from service.answering.rules_engine import CitewireQueryEngine
from service.answering.verifier import Support, Verifier
from service.checking.claims import ClaimSpan, split_claims
from service.llm.gate import GenerationGate, Stopped, stop_when


@dataclass(frozen=True)
class CheckPolicy:
    max_claims: int = 12
    max_claim_chars: int = 2000
    passages: int = 6  # retrieved passages per claim whose sentences compete
    sentences: int = 3  # sentences per claim the verifier scores, best first
    min_support: float = 0.2  # P(true) at which a sentence supports a claim (fitted on the tune claims)
    min_contradiction: float = 0.5  # P(false) at which a sentence contradicts it


@dataclass(frozen=True)
class _Found:
    claim: ClaimSpan
    evidence: list[EvidenceSentence]


class ClaimChecker:
    def __init__(
        self,
        engine: CitewireQueryEngine,
        verifier: Verifier,
        vectors: SentenceVectors,
        gate: GenerationGate,
        policy: CheckPolicy = CheckPolicy(),
    ) -> None:
        self.engine = engine
        self.verifier = verifier
        self.vectors = vectors
        self.gate = gate
        self.policy = policy

    def check(
        self, text: str, where: ArticleFilter | None = None, stop: threading.Event | None = None
    ) -> CheckResponse:
        """Every claim of ``text`` labelled, with its supporting and contradicting spans.

        Raises ``UncheckableText``; ``Busy`` when no model slot is free; ``Stopped`` if ``stop`` is set (the client
        left); ``GenerationTimeout`` past the deadline."""
        started = time.perf_counter()
        claims = split_claims(text, self.policy.max_claims, self.policy.max_claim_chars)
        found = [_Found(claim, self._evidence(claim.text, where)) for claim in claims]
        retrieve_ms = (time.perf_counter() - started) * 1000
        stopped = stop.is_set if stop is not None else (lambda: False)
        verify_started = time.perf_counter()
        checked: list[ClaimCheck] = []
        if any(f.evidence for f in found):
            ticket = self.gate.enter(stopped)
            try:
                with stop_when(lambda: stopped() or ticket.expired()):
                    checked = [self._verdict(f) for f in found]
            except Stopped:
                if stopped():
                    raise
                raise GenerationTimeout(f"the check took longer than {self.gate.timeout_s:g} s") from None
            finally:
                self.gate.leave(ticket)
        else:
            checked = [self._verdict(f) for f in found]
        verify_ms = (time.perf_counter() - verify_started) * 1000
        total_ms = (time.perf_counter() - started) * 1000
        return CheckResponse(
            score=round(sum(c.support for c in checked) / len(checked), 4) if checked else 0.0,
            supported=sum(c.label == "supported" for c in checked),
            contradicted=sum(c.label == "contradicted" for c in checked),
            unmentioned=sum(c.label == "unmentioned" for c in checked),
            claims=checked,
            timings_ms=CheckTimings(
                retrieve=round(retrieve_ms, 2), verify=round(verify_ms, 2), total=round(total_ms, 2)
            ),
        )

    def _evidence(self, claim: str, where: ArticleFilter | None) -> list[EvidenceSentence]:
        """The claim's best sentences among its relevant passages, best first (no model)."""
        engine = self.engine
        passages = [
            p for p in engine.find_passages(claim, self.policy.passages, where) if p.relevant(engine.min_relevance)
        ]
        if not passages or engine.token_counter is None:
            return []
        picker = EvidencePolicy(neighbours=0, max_sentences=self.policy.sentences)
        picked = select_evidence(
            claim, engine.retriever.query_vector(claim), passages, self.vectors, engine.token_counter, picker
        )
        return sorted(picked, key=lambda e: -e.score)

    def _verdict(self, found: _Found) -> ClaimCheck:
        """Each sentence scored alone (with the one before it as context), so every span shown is one the verifier
        read by itself."""
        scored = [(e, self.verifier.support(found.claim.text, [neutralise(_in_context(e))])) for e in found.evidence]
        p = self.policy
        supporting = [_span(e, s) for e, s in sorted(scored, key=lambda x: -x[1].score) if s.score >= p.min_support]
        contradicting = [
            _span(e, s)
            for e, s in sorted(scored, key=lambda x: -x[1].contradiction)
            if s.contradiction >= p.min_contradiction
        ]
        support = max((s.score for _, s in scored), default=0.0)
        contradiction = max((s.contradiction for _, s in scored), default=0.0)
        return ClaimCheck(
            text=found.claim.text,
            start=found.claim.start,
            end=found.claim.end,
            label=label_for(support, contradiction, p),
            support=round(support, 4),
            contradiction=round(contradiction, 4),
            supporting=supporting,
            contradicting=contradicting,
        )


def label_for(support: float, contradiction: float, policy: CheckPolicy) -> ClaimLabel:
    """The stronger of the two verdicts that passes its threshold; neither: unmentioned."""
    if support >= policy.min_support and support >= contradiction:
        return "supported"
    if contradiction >= policy.min_contradiction:
        return "contradicted"
    return "supported" if support >= policy.min_support else "unmentioned"


def _in_context(evidence: EvidenceSentence) -> str:
    """The sentence after the one before it in its paragraph, so "the singer" or "the memo" is known."""
    text = evidence.passage.article.article.text
    before = text[text.rfind("\n", 0, evidence.start) + 1 : evidence.start]
    spans = sentence_spans(before)
    return f"{before[spans[-1][0] :].strip()} {evidence.text}" if spans else evidence.text


def _span(evidence: EvidenceSentence, support: Support) -> CheckSpan:
    article = evidence.passage.article.article
    return CheckSpan(
        article_id=article.id,
        title=article.title,
        source=article.source,
        url=article.url,
        published_at=article.published_at,
        chunk_id=evidence.passage.chunk_id,
        quote=evidence.text,
        start=evidence.start,
        end=evidence.end,
        support=round(support.score, 4),
        contradiction=round(support.contradiction, 4),
    )
