"""The passage-and-rules engine (``CITEWIRE_ANSWERER=rules``): retrieve -> assemble -> prompt -> LLM -> check.

A LlamaIndex ``CustomQueryEngine`` over hybrid retrieval. It abstains before the model when nothing
relevant is found, shows compact numbered passages, checks every answer sentence against them
(``checks/``), and cites exactly the article's words at their offsets. The evidence engine inherits
its retrieval (``find_passages``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.base.response.schema import Response
from llama_index.core.llms import LLM
from llama_index.core.prompts import ChatPromptTemplate
from llama_index.core.query_engine import CustomQueryEngine

from index.chunking import TokenCounter
from index.filters import ArticleFilter
from index.records import StoredArticle
from index.store import ArticleStore
from prompts import load_prompt
from service.answering.budget import Counter, fit_prompt
from service.answering.checks.acronyms import expand_acronyms
from service.answering.checks.anchors import names_another_year, speaks_of_year, year_first
from service.answering.checks.answer_kind import asked_kind, states_kind
from service.answering.checks.citations import (
    CitedAnswer,
    looks_like_refusal,
    narrow_span,
    resolve_citations,
    strip_markers,
)
from service.answering.checks.judge import ClaimJudge
from service.answering.checks.support import SentenceSimilarity
from service.answering.checks.timeframe import within_window
from service.answering.context import assemble, widen
from service.answering.guard import neutralise
from service.answering.retrieval import Candidate, HybridRetriever, cosine
from service.answering.types import Answer, Citation, Draft, Passage
from service.llm.backends import prompt_counter, stream_deltas

# Candidates each retriever fetches per passage kept, for fusion and assembly. Fusion can only rank
# what either list holds: an article fairly high in both (the right one, often) is lost when the
# lists are short. On RealTime QA (all 2,099 articles, as of each question's day) the gold article
# was among the 5 passages the model sees for 170 of 196 questions at 5, 173 at 10, 174 at 20
# (retrieval p50 20, 26, 45 ms); docs/BENCHMARKS.md section 3.
_CANDIDATES_PER_RESULT = 10
_MIN_CANDIDATES = 20


class CitewireQueryEngine(CustomQueryEngine):
    """Answers a question from the indexed articles, or abstains."""

    retriever: HybridRetriever
    store: ArticleStore
    llm: LLM
    embed_model: BaseEmbedding  # the index's model, reused to compare answer and source sentences
    judge: ClaimJudge | None = None  # None: lexical and embedding checks only
    top_k: int = 4
    max_passages_per_article: int = 2
    # Cosine thresholds on the embedder's scale: components.py takes them from its Calibration.
    min_relevance: float = 0.2
    min_answer_relevance: float = 0.3
    min_paraphrase_similarity: float = 0.7
    max_answer_tokens: int = 256
    token_counter: TokenCounter | None = None  # the embedder's; None: passages are not widened
    context_tokens: int = 640
    context_sentences: int = 1
    years_first: bool = True  # a question naming a year sees the articles mentioning it first
    this_week_days: int = 10  # asked as of a day about "this week": articles older than this do not answer

    def custom_query(self, query_str: str) -> Response:
        answer = self.answer(query_str)
        return Response(response=answer.text, metadata={"answer": answer})

    def find_passages(
        self, question: str, top_k: int | None = None, where: ArticleFilter | None = None, anchor: str | None = None
    ) -> list[Passage]:
        """The top chunks of fully stored articles (only those ``where`` allows), by hybrid retrieval.

        For a question naming a year, chunks of articles that mention it go first (checks/anchors.py); for
        one about this week asked as of a day, chunks of older articles are left out (checks/timeframe.py).
        ``anchor`` is the question's own text, when ``question`` also carries options (default: it)."""
        k = top_k or self.top_k
        found = self.retriever.candidates(question, max(k * _CANDIDATES_PER_RESULT, _MIN_CANDIDATES), where)
        articles = self.store.get_many([c.node.metadata["article_id"] for c in found])
        passages = [p for c in found if (p := _passage(c, articles)) is not None]
        as_of = where.as_of if where is not None else None
        passages = within_window(anchor or question, as_of, self.this_week_days, passages, _published)
        if self.years_first:
            passages = year_first(anchor or question, passages, lambda p: _dated_text(p.article))
        return assemble(passages, k, self.max_passages_per_article)

    def answer(
        self,
        question: str,
        top_k: int | None = None,
        where: ArticleFilter | None = None,
        choices: Sequence[str] = (),
    ) -> Answer:
        """Retrieve, generate, verify: the whole answer in one call (CLI, evaluation, tests)."""
        draft = self.draft(question, top_k, where, choices)
        if isinstance(draft, Answer):
            return draft
        generate_started = time.perf_counter()
        raw = "".join(self.generate(draft))
        return self.finish(draft, raw, (time.perf_counter() - generate_started) * 1000)

    def draft(
        self,
        question: str,
        top_k: int | None = None,
        where: ArticleFilter | None = None,
        choices: Sequence[str] = (),
    ) -> Draft | Answer:
        """Retrieval and the relevance gate: what the model will answer from, or the abstention.

        Split from generation so a server can retrieve outside its one-generation-at-a-time queue.
        Multiple-choice ``choices`` go to retrieval and the model with the question, but the answer is
        checked against the question alone: the options are candidates, not facts the asker gave (a
        sentence naming one must find it in its source); whether the answer is about the question at
        all is judged with them."""
        started = time.perf_counter()
        asked = with_choices(question, choices)
        retrieved = self.find_passages(asked, top_k, where, anchor=question)  # an option's year is no anchor
        retrieve_ms = (time.perf_counter() - started) * 1000
        # Gate on dense similarity first: a question unrelated to every article never reaches the model.
        relevant = [p for p in retrieved if p.relevant(self.min_relevance)]
        if not retrieved or max(p.score for p in retrieved) < self.min_relevance:
            return self._abstain(retrieved, retrieve_ms, 0.0, started)
        if self.token_counter is not None:
            relevant = widen(relevant, self.token_counter, self.context_tokens, self.context_sentences)
        shown = [neutralise(p.text) for p in relevant]  # what the model sees and answers are checked against
        k = fit_prompt(lambda k: self._messages(asked, relevant[:k], shown[:k]), len(relevant), *self.prompt_budget())
        relevant, shown = relevant[:k], shown[:k]
        messages = self._messages(asked, relevant, shown)
        return Draft(question, asked, retrieved, relevant, shown, messages, started, retrieve_ms)

    def generate(self, draft: Draft, should_stop: Callable[[], bool] | None = None) -> Iterator[str]:
        """The model's raw answer, piece by piece as it is generated; stops early once ``should_stop()``."""
        yield from stream_deltas(self.llm, draft.messages, self.max_answer_tokens, should_stop)

    def finish(self, draft: Draft, raw: str, generate_ms: float) -> Answer:
        """Check the raw answer against the passages shown and turn it into a cited answer (or abstain)."""
        question, retrieved, relevant, shown = draft.question, draft.retrieved, draft.relevant, draft.shown
        started, retrieve_ms = draft.started, draft.retrieve_ms
        raw = raw.strip()
        if looks_like_refusal(raw):
            return self._abstain(retrieved, retrieve_ms, generate_ms, started)
        verify_started = time.perf_counter()
        judge = self.judge.for_question(question).backs if self.judge is not None else None
        similarity = SentenceSimilarity(self.embed_model, shown)
        cited = resolve_citations(raw, question, shown, similarity, judge, self.min_paraphrase_similarity)
        verify_ms = (time.perf_counter() - verify_started) * 1000
        if not cited.cited:  # nothing in the sources backs any of it: do not pass it on
            return self._abstain(retrieved, retrieve_ms, generate_ms, started, verify_ms)
        # Backed, but not an answer. Against the options too: "New Jersey & Oregon [1]" answers a
        # question that lists it, though it shares no words with the question alone.
        if self._relevance(draft.asked, cited.text) < self.min_answer_relevance:
            return self._abstain(retrieved, retrieve_ms, generate_ms, started, verify_ms)
        # "How much?" with no amount, "when?" with no time, "who?" with no name the question lacks.
        if not states_kind(strip_markers(cited.text), asked_kind(question), question):
            return self._abstain(retrieved, retrieve_ms, generate_ms, started, verify_ms)
        if not speaks_of_year(question, (_dated_text(relevant[src].article) for src in cited.cited)):
            return self._abstain(retrieved, retrieve_ms, generate_ms, started, verify_ms)  # about another year
        if names_another_year(question, strip_markers(cited.text)):  # "the 2019 Open" asked of 2020
            return self._abstain(retrieved, retrieve_ms, generate_ms, started, verify_ms)
        citations = [_citation(n, relevant[src], cited, question) for n, src in enumerate(cited.cited, start=1)]
        cited_articles = {c.passage.article.article.id: c.passage.article.article.text for c in citations}
        return Answer(
            text=expand_acronyms(cited.text, cited_articles.values(), question),
            abstained=False,
            citations=citations,
            retrieved=retrieved,
            timings_ms=_timings(retrieve_ms, generate_ms, started, verify_ms),
            sentences=cited.checked,
        )

    def _relevance(self, question: str, answer: str) -> float:
        """Cosine of the question and the answer: a backed sentence about something else scores low."""
        a = np.asarray(self.embed_model.get_text_embedding(strip_markers(answer)), dtype=np.float32)
        return cosine(self.retriever.query_vector(question), a)

    def prompt_budget(self) -> tuple[Counter, int]:
        """How prompts are counted for the model, and how many tokens they may take: its context less the answer's."""
        return prompt_counter(self.llm), self.llm.metadata.context_window - self.max_answer_tokens

    def _messages(self, question: str, passages: list[Passage], texts: list[str]) -> list[ChatMessage]:
        source_template = load_prompt("source")
        sources = "\n\n".join(
            source_template.format(
                n=i, title=p.article.article.title, origin=_origin(p.article), text=" ".join(t.split())
            )
            for i, (p, t) in enumerate(zip(passages, texts, strict=True), start=1)
        )
        template = ChatPromptTemplate(
            message_templates=[
                ChatMessage(role=MessageRole.SYSTEM, content=load_prompt("answer_system")),
                ChatMessage(role=MessageRole.USER, content=load_prompt("answer_user")),
            ]
        )
        return template.format_messages(sources=sources, question=question)

    def _abstain(
        self, retrieved: list[Passage], retrieve_ms: float, generate_ms: float, started: float, verify_ms: float = 0.0
    ) -> Answer:
        return Answer(
            text=load_prompt("abstain"),
            abstained=True,
            citations=[],
            retrieved=retrieved,
            timings_ms=_timings(retrieve_ms, generate_ms, started, verify_ms),
        )


def with_choices(question: str, choices: Sequence[str]) -> str:
    """The question as retrieval and the model see it: followed by its options, if it has any."""
    if not choices:
        return question
    return load_prompt("question_choices").format(question=question, choices="; ".join(choices))


def _citation(n: int, passage: Passage, cited: CitedAnswer, question: str) -> Citation:
    lo, hi = narrow_span(cited.sentences_citing(n), passage.text, question)
    return Citation(n=n, passage=passage, start=passage.start + lo, end=passage.start + hi, quote=passage.text[lo:hi])


def _passage(found: Candidate, articles: dict[str, StoredArticle]) -> Passage | None:
    meta = found.node.metadata
    stored = articles.get(meta["article_id"])
    if stored is None or stored.version != meta.get("version"):
        return None  # a chunk from an unfinished or superseded write
    start, end = int(meta["start"]), int(meta["end"])
    text = found.node.get_content()
    if stored.article.text[start:end] != text:
        return None  # never cite a quote that is not the article's text at its offsets
    return Passage(
        article=stored,
        chunk_id=found.node.node_id,
        start=start,
        end=end,
        text=text,
        score=found.cosine,
        lexical=found.bm25,
    )


def _origin(stored: StoredArticle) -> str:
    article = stored.article
    parts = [article.source or "unknown source"]
    if article.published_at:
        parts.append(article.published_at[:10])
    return ", ".join(parts)


def _published(passage: Passage) -> str | None:
    return passage.article.article.published_at


def _dated_text(stored: StoredArticle) -> str:
    """An article's headline, publication date and text: where it may say which year it is about."""
    article = stored.article
    return " ".join((article.title or "", article.published_at or "", article.text))


def _timings(retrieve_ms: float, generate_ms: float, started: float, verify_ms: float = 0.0) -> dict[str, float]:
    total = (time.perf_counter() - started) * 1000
    parts = {"retrieve": retrieve_ms, "generate": generate_ms, "verify": verify_ms, "total": total}
    return {name: round(ms, 2) for name, ms in parts.items()}
