"""The model's answer as sentences that each cite a source that backs it (checks/support.py decides).

Markers are hints: a sentence moves to the source that backs it, loses an unbacked trailing clause, or
is dropped; cited sources are renumbered 1..m in order of first mention. A citation quotes only the
sentences of its passage that back the claim (``narrow_span``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from index.chunking import sentence_spans
from service.answering.checks.polarity import contradicts
from service.answering.checks.support import (
    META,
    MIN_SIMILARITY,
    STOPWORDS,
    TOKEN,
    Similarity,
    SupportChecker,
    terms,
)
from service.answering.guard import is_directive
from service.answering.types import CheckedSentence

_MARKER = re.compile(r"\s*\[(\s*\d+(?:\s*[,;\-–]\s*\d+)*\s*)\]")
# "(Source [1])" or "Source [1]": models echo the prompt's label; keep only the marker.
_LABELLED_MARKER = re.compile(
    r"(?:\b(?:[Aa]ccording to (?:the )?|[Aa]s (?:stated|reported) in ))?"
    r"\(?\s*\bSources?\s*((?:\[[\d,;\s\-–]+\])+)\s*\)?,?"
)
# "..., as stated in [1].", "... the award from [1].": words that point at a marker, not at the news.
_POINTING_AT_MARKER = re.compile(
    r"[,;:]?\s*\b(?:(?:as\s+)?(?:stated|reported|mentioned|noted|shown|described)\s+in|according\s+to|see|from|in|by)"
    r"\s+(?:the\s+)?(?=(?:\[[\d,;\s\-–]+\]\s*)+(?:[.!?]?\s*$|,))",
    re.IGNORECASE,
)
# "[1] and [2] state that Barty...": the sources as the sentence's subject.
_MARKERS_SAY = re.compile(
    r"^\s*(?:(?:both|sources?)\s+)?\[[\d,;\s\-–]+\](?:\s*(?:,|and)?\s*\[[\d,;\s\-–]+\])*\s+"
    r"(?:both\s+)?(?:states?|says?|reports?|mentions?|shows?|confirms?|notes?|indicates?)\s+(?:that\s+)?",
    re.IGNORECASE,
)
# "Tour de France, [1]." or "According to [1], Biden..." without the marker and the words pointing at it
_DANGLING_PUNCTUATION = re.compile(r"\s*[,;:]+\s*(?=[.!?]?$)|^\s*[,;:]+\s*")
_REFUSAL = re.compile(
    r"not in (?:the )?sources|(?:sources?|articles?|context|texts?) (?:do(?:es)? not|don't|doesn't) "
    r"(?:contain|mention|say|provide|answer|include|specify)|no information (?:about|on|in)"
    r"|(?:cannot|can't|unable to) (?:be )?(?:answer|determine|find)",
    re.IGNORECASE,
)
# A comma opening a relative, participle or appositive clause: what follows adds to the claim before it.
_TRAILING_CLAUSE = re.compile(
    r",\s+(?=(?:who|whom|whose|which|where|while|when|and|but|as|with|after|before|including|the|a|an)\b|\w+ing\b)",
    re.IGNORECASE,
)
# "and" opening a second claim about someone else by full name ("Gal Gadot will reprise her role and
# Patty Jenkins will play ..."); split there only after a claim that opens with a name of its own.
_SECOND_CLAIM = re.compile(r"\s+and\s+(?=[A-Z]\w+ [A-Z])")
_LEADING_PHRASE = re.compile(r"^(?:according to|in|on|at|after|before|during|as|while|with)\b", re.IGNORECASE)
_MIN_CLAUSE_WORDS = 4

Judge = Callable[[str, Sequence[str]], bool]  # (answer sentence, its backing sources' texts) -> backed?


@dataclass(frozen=True)
class SupportedSentence:
    text: str  # without markers
    sources: list[int]  # 0-based indexes of the sources that back it, best first


@dataclass(frozen=True)
class CitedAnswer:
    text: str  # the answer with markers renumbered 1..m
    cited: list[int]  # 0-based source indexes; cited[n-1] is the source behind marker [n]
    sentences: list[SupportedSentence]  # the kept sentences
    checked: list[CheckedSentence]  # every sentence of the model's answer, in order

    @property
    def dropped(self) -> list[str]:
        """Sentences no source backs."""
        return [c.text for c in self.checked if not c.supported]

    def sentences_citing(self, marker: int) -> list[str]:
        return [c.text for c in self.checked if marker in c.markers]


def strip_markers(text: str) -> str:
    """The text without its ``[n]`` markers."""
    return " ".join(_MARKER.sub(" ", text).split())


def looks_like_refusal(text: str) -> bool:
    return bool(_REFUSAL.search(text)) or not TOKEN.search(text)


def split_sentences(text: str) -> list[str]:
    """Sentences of a short answer, each keeping its markers.

    Punkt (the same splitter as chunking) knows "U.S." is not a sentence end; a marker written
    after the full stop ("... 2020. [1]") stays with the sentence before it."""
    sentences: list[str] = []
    for start, end in sentence_spans(text):
        piece = text[start:end].strip()
        if sentences and not _MARKER.sub("", piece).strip(" .,;"):
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
    return sentences


def _marker_numbers(inside: str) -> list[int]:
    """Numbers in a marker's brackets: "1", "1, 2", "1-3"."""
    numbers: list[int] = []
    for part in re.split(r"[,;]", inside):
        bounds = [int(b) for b in re.split(r"[\-–]", part) if b.strip()]
        if len(bounds) == 2 and bounds[0] <= bounds[1] <= bounds[0] + 20:
            numbers.extend(range(bounds[0], bounds[1] + 1))
        else:
            numbers.extend(bounds)
    return numbers


def _markers(sentence: str, n_sources: int) -> list[int]:
    numbers = [n for m in _MARKER.finditer(sentence) for n in _marker_numbers(m.group(1))]
    return [n - 1 for n in numbers if 1 <= n <= n_sources]


def _is_meta(sentence: str) -> bool:
    """A sentence only about where the answer was found ("This is stated in document [1].")."""
    words = terms(sentence)
    return bool(words) and all(w in META for w in words)


def _with_markers(sentence: str, numbers: Sequence[int]) -> str:
    marks = "".join(f"[{n}]" for n in numbers)
    stripped = sentence.rstrip()
    last_word = stripped.rsplit(" ", 1)[-1]
    if stripped[-1:] in (".", "!", "?") and "." not in last_word[:-1]:  # "U.S." keeps its period
        return f"{stripped[:-1]} {marks}{stripped[-1]}"
    return f"{stripped} {marks}"


def resolve_citations(
    answer: str,
    question: str,
    sources: Sequence[str],
    similarity: Similarity | None = None,
    judge: Judge | None = None,
    min_similarity: float = MIN_SIMILARITY,
) -> CitedAnswer:
    """Check each answer sentence against ``sources`` and keep only what they back, with markers.

    ``judge``, when given, has the last word on a sentence the lexical check passed (checks/judge.py)."""
    checker = SupportChecker(question, sources, similarity, min_similarity)
    kept: list[SupportedSentence] = []
    order: list[int] = []
    rendered: list[str] = []
    checked: list[CheckedSentence] = []
    for raw in split_sentences(_LABELLED_MARKER.sub(r" \1", answer)):
        hinted = _markers(raw, len(sources))
        text = _claim_text(raw)
        if not text or _is_meta(text):
            continue
        backing = _backed(text, hinted, checker, sources, judge)
        if not backing and (clause := main_clause(text)) is not None:
            clause_backing = _backed(clause, hinted, checker, sources, judge)
            if clause_backing:  # the claim holds; what the model added after it does not: drop that part
                checked.append(CheckedSentence(text=text, markers=[], supported=False))
                text, backing = clause, clause_backing
        if not backing:
            checked.append(CheckedSentence(text=text, markers=[], supported=False))
            continue
        kept.append(SupportedSentence(text=text, sources=backing))
        order.extend(src for src in backing if src not in order)
        markers = [order.index(src) + 1 for src in backing]
        rendered.append(_with_markers(text, markers))
        checked.append(CheckedSentence(text=text, markers=markers, supported=True))
    return CitedAnswer(text=" ".join(rendered), cited=order, sentences=kept, checked=checked)


def _claim_text(raw: str) -> str:
    """An answer sentence without its markers and the words that only point at them, as it is checked."""
    words = _POINTING_AT_MARKER.sub(" ", _MARKERS_SAY.sub(_keep_markers, raw))
    text = _DANGLING_PUNCTUATION.sub("", re.sub(r"\s+([.,;:!?])", r"\1", _MARKER.sub("", words)).strip())
    return text[:1].upper() + text[1:]  # "In [2], the team won" -> "The team won"


def _keep_markers(match: re.Match[str]) -> str:
    """The markers of a matched phrase without its words, so they still hint at the sentence's sources."""
    return " ".join(m.group() for m in _MARKER.finditer(match.group())) + " "


def _backed(
    text: str, hinted: Sequence[int], checker: SupportChecker, sources: Sequence[str], judge: Judge | None
) -> list[int]:
    """The sources backing the sentence, after the judge's word on them (none if it objects).

    A sentence whose sources have its winner lose is not backed, whatever the judge says (checks/polarity.py)."""
    backing = checker.backing(text, hinted)
    backers = [sources[s] for s in backing]
    if backing and (contradicts(text, backers) or (judge is not None and not judge(text, backers))):
        return []
    return backing


def main_clause(sentence: str) -> str | None:
    """The sentence without a trailing clause the model tacked on after a comma (", who was
    elected...", ", surpassing...", ", the all-singing hymn directed by...") or a second claim joined
    by "and", or None when it has none.

    The small model often states the answer and then adds a detail from its own memory; the
    sentence then fails as a whole although its claim is backed."""
    match = _TRAILING_CLAUSE.search(sentence)
    if match is None and _opens_with_name(sentence):
        match = _SECOND_CLAIM.search(sentence)
    if match is None:
        return None
    clause = sentence[: match.start()].rstrip()
    if len(clause.split()) < _MIN_CLAUSE_WORDS or _LEADING_PHRASE.match(clause):
        return None
    return clause + "."


def _opens_with_name(sentence: str) -> bool:
    """Whether the sentence's first word is a name ("Gal Gadot will..."), not "The", "Also" or "It"."""
    first = TOKEN.search(sentence)
    word = first.group() if first is not None else ""
    return word[:1].isupper() and word.lower() not in STOPWORDS and word.lower() not in META


def narrow_span(claims: Sequence[str], passage: str, question: str) -> tuple[int, int]:
    """Offsets inside ``passage`` of the sentence(s) that back the claims, so a citation quotes the
    evidence rather than the whole chunk. Falls back to the whole passage when no sentence helps."""
    spans = sentence_spans(passage)
    if len(spans) <= 1:
        return 0, len(passage)
    checker = SupportChecker(question, [passage[s:e] for s, e in spans])
    chosen: set[int] = set()
    directive = [is_directive(passage[s:e]) for s, e in spans]  # never quote text aimed at the model
    for claim in claims:
        scores = [0.0 if directive[i] else checker.coverage(claim, [i]) for i in range(len(spans))]
        # Of sentences holding the claim equally ("Alibaba" is in several), quote the one closest to
        # the question: it states the answer rather than merely naming it.
        ranked = sorted(range(len(spans)), key=lambda i: (-scores[i], -checker.shared_with_question(i), i))
        best = ranked[0]
        if scores[best] == 0:
            continue
        chosen.add(best)
        # A fact spread over two sentences: take the runner-up too if it adds missing words.
        runner_up = ranked[1]
        if scores[best] < 1 and checker.coverage(claim, [best, runner_up]) > scores[best]:
            chosen.add(runner_up)
    if not chosen:
        return 0, len(passage)
    return spans[min(chosen)][0], spans[max(chosen)][1]
