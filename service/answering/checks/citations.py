"""Turn the model's answer into sentences that each carry a citation the sources actually back.

A small model cites the wrong source, leaves markers out, or adds facts from its own memory. So the
markers are treated as hints: every answer sentence is checked against the sources, lexically.
The information a sentence adds beyond the question must be found in the source it cites (or, if
that one does not hold it, in another source, which then becomes its citation); names and numbers
must appear verbatim. A sentence no source backs is dropped, or cut to its main clause when only a
clause tacked on after a comma is unbacked. Cited sources are renumbered 1..m in
order of first mention, so the reader's list has no gaps.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import Stemmer
from llama_index.core.base.embeddings.base import BaseEmbedding

from index.chunking import sentence_spans
from service.answering.checks.polarity import contradicts
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
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+", re.UNICODE)
_NUMBER = re.compile(r"\d")
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
_STOPWORDS = frozenset(
    "a an the and or but of to in on at by for with from as is are was were be been being it its this that these "
    "those he she they them his her their there which who whom what when where why how not no do does did has "
    "have had will would can could should may might also than then so such into about over after before".split()
)
# Words a model uses to talk about the sources rather than the news.
_META = frozenset(
    "according source sources document documents article articles stated states mentioned provided "
    "information found text says said".split()
)
MIN_SUPPORT = 0.5  # share of a sentence's new words that its source must contain
MIN_SIMILARITY = 0.7  # cosine (MiniLM's scale) to a source sentence that lets a paraphrase count as backed

Similarity = Callable[[str, int], float]  # (answer sentence, source index) -> cosine similarity
Judge = Callable[[str, Sequence[str]], bool]  # (answer sentence, its backing sources' texts) -> backed?
_STEM = 5  # compare words by the first letters of their Snowball stem: "alleged"/"allegedly", "poses"/"posed"
# Endings that turn a place into its people or adjective: "Europe"/"European", "China"/"Chinese".
_DEMONYM_ENDINGS = ("an", "ian", "n", "ese", "ish", "i")
_ENGLISH = Stemmer.Stemmer("english")
# Names news prints short as often as in full: "Dec 14" is "December 14", "The Walt Disney Co." the company.
_SHORT_FORMS = {
    **{month.lower(): {month[:3].lower()} for month in calendar.month_name if len(month) > 3},
    "september": {"sep", "sept"},
    "company": {"co"},
    "corporation": {"corp"},
    "incorporated": {"inc"},
    "limited": {"ltd"},
}
_LONG_FORMS = {short: long for long, shorts in _SHORT_FORMS.items() for short in shorts}
# "Q3 2019" in a question or answer is "the third quarter" in most reports (and "3" is no name to find).
_QUARTER = re.compile(r"\bQ([1-4])\b", re.IGNORECASE)
_ORDINALS = {"1": "first", "2": "second", "3": "third", "4": "fourth"}
# "10/27/2017" (a shop page's "Release Date:10/27/2017"): month first, or day first when it cannot be a month.
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/((?:1[89]|20)\d{2})\b")
# "The Legend of Zelda: Breath of the Wild": a work titled "Series: Subtitle", which news often names by
# its subtitle alone ("Nintendo has revealed that Breath of the Wild will release on March 3, 2017").
_TITLE_WORDS = r"(?:[A-Z][\w'’]*|\d+)(?:\s+(?:(?:of|the|a|an|and|in|on|to|for|&)\s+)*(?:[A-Z][\w'’]*|\d+))*"
_SUBTITLED = re.compile(rf"({_TITLE_WORDS}):\s+({_TITLE_WORDS})")
# Words that name an edition, not a work: "Xenoblade Chronicles: Definitive Edition" is not "Definitive Edition".
_EDITION_WORDS = frozenset(
    "edition editions remaster remastered remake collection deluxe anniversary complete ultimate definitive "
    "goty hd version".split()
)


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
    return bool(_REFUSAL.search(text)) or not _TOKEN.search(text)


def _spelled_out(text: str) -> str:
    """The text with quarters and numeric dates written in words ("Q3" -> "Third quarter", "10/27/2017"
    -> "October 27 2017"), as sources and answers mostly print them; capitalised, so each stays a name
    the source must hold."""
    text = _QUARTER.sub(lambda m: f"{_ORDINALS[m.group(1)].title()} quarter", text)
    return _NUMERIC_DATE.sub(_date_in_words, text)


def _date_in_words(match: re.Match[str]) -> str:
    month, day, year = (int(g) for g in match.groups())
    if month > 12:
        month, day = day, month
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return match.group()
    return f"{calendar.month_name[month]} {day} {year}"


def _words(text: str) -> list[str]:
    return [m.group().lower() for m in _TOKEN.finditer(text)]


def _terms(text: str) -> list[str]:
    return [t for t in _words(_spelled_out(text)) if t not in _STOPWORDS]


def subtitled_titles(question: str) -> list[tuple[str, str]]:
    """The "Series: Subtitle" titles of a question as (series, subtitle), each its lowercased words, for
    subtitles with a word besides edition words ("Definitive Edition" alone names no work)."""
    titles = []
    for match in _SUBTITLED.finditer(question):
        series, subtitle = (" ".join(_words(part)) for part in match.groups())
        if set(subtitle.split()) - _EDITION_WORDS - _STOPWORDS:
            titles.append((series, subtitle))
    return titles


def _stem(word: str) -> str:
    return word if _NUMBER.search(word) else _ENGLISH.stemWord(word)[:_STEM]


def name_forms(name: str) -> set[str]:
    """A name and its demonym forms, either way round: a source saying "European regulators" backs
    "Europe will require...", and one saying "Europe" backs "the European plan"; and its short or
    long form ("Dec"/"December", "Co"/"Company")."""
    forms = {name} | _SHORT_FORMS.get(name, set())
    if name in _LONG_FORMS:
        forms.add(_LONG_FORMS[name])
    if _NUMBER.search(name) or len(name) < 4:
        return forms
    for ending in _DEMONYM_ENDINGS:
        forms.update((name + ending, name[:-1] + ending))
        if name.endswith(ending) and len(name) - len(ending) >= 4:
            root = name[: -len(ending)]
            forms.update((root, root + "a", root + "e"))
    return forms


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


class SupportChecker:
    """Decides which sources back a sentence, given the question it answers."""

    def __init__(
        self,
        question: str,
        sources: Sequence[str],
        similarity: Similarity | None = None,
        min_similarity: float = MIN_SIMILARITY,
    ) -> None:
        """``min_similarity`` is on the scale of the model behind ``similarity`` (its Calibration)."""
        self._question = {_stem(t) for t in _terms(question)}
        self._subtitled = subtitled_titles(question)
        self._exact = [set(_terms(src)) for src in sources]
        # The sources' words in order, to find a subtitle as a phrase: only for a question that has one.
        self._phrases = [f" {' '.join(_words(src))} " for src in sources] if self._subtitled else []
        self._stems = [{_stem(t) for t in terms} for terms in self._exact]
        self._similarity = similarity
        self._min_similarity = min_similarity

    def coverage(self, sentence: str, sources: Iterable[int]) -> float:
        """Share of the sentence's new words (those not already in the question) the sources hold."""
        words = [w for w in _terms(sentence) if w not in _META]
        new = [w for w in words if _stem(w) not in self._question] or words
        if not new:
            return 0.0
        stems = set().union(*(self._stems[s] for s in sources))
        return sum(_stem(w) in stems for w in new) / len(new)

    def shared_with_question(self, source: int) -> int:
        """How many of the question's words (by stem) the source has: its closeness to what was asked."""
        return len(self._stems[source] & self._question)

    def support(self, sentence: str, source: int) -> float:
        """Coverage by one source; 0 if a name or number of the sentence is missing from it."""
        # Names and numbers must be the source's own, even when the question brought them in: a false
        # premise ("What did the EU decide?") must not pass on the strength of other words. (Letting a
        # question's name stand in any retrieved source instead raised RGB accuracy from 57% to 62% but
        # answers on removed-evidence questions from 22% to 67%: docs/EVALUATION.md.)
        names = set(_names(sentence))
        for series, subtitle in self._subtitled:  # a title the question gives, named by its subtitle alone
            if f" {subtitle} " in self._phrases[source]:
                names -= set(series.split())
        if any(self._exact[source].isdisjoint(name_forms(name)) for name in names):
            return 0.0
        lexical = self.coverage(sentence, [source])
        if self._similarity is None or lexical >= MIN_SUPPORT or lexical < MIN_SUPPORT / 2:
            return lexical
        # A paraphrase: half the words are the source's and the meaning matches one of its sentences.
        return MIN_SUPPORT if self._similarity(sentence, source) >= self._min_similarity else lexical

    def backing(self, sentence: str, hinted: Sequence[int]) -> list[int]:
        """Sources that back the sentence: the hinted ones that do, unless a better-ranked source backs
        it at least as well; else the best other one, the better-ranked on a tie.

        Sources come in retrieval order. A small model's marker is a loose hint: it often cites a later
        source that repeats what the first, better-matching article says, and the reader is better
        served by the article retrieved as closest to the question."""
        scores = [self.support(sentence, s) for s in range(len(self._exact))]
        hinted_ok = [s for s in dict.fromkeys(hinted) if scores[s] >= MIN_SUPPORT]
        best = min(range(len(scores)), key=lambda s: (-scores[s], s), default=-1)
        if best < 0 or scores[best] < MIN_SUPPORT:
            return []
        if hinted_ok and not (best < min(hinted_ok) and scores[best] >= max(scores[s] for s in hinted_ok)):
            return hinted_ok
        return [best]


def _names(sentence: str) -> list[str]:
    """Capitalised words and numbers, lowercased. The first word counts unless it is a common word
    or an opener followed by a comma ("Previously, ..."), since any sentence starts with a capital."""
    sentence = _spelled_out(sentence)
    tokens = list(_TOKEN.finditer(sentence))
    names = []
    for i, match in enumerate(tokens):
        word = match.group()
        if not (word[0].isupper() or word[0].isdigit()) or word.lower() in _STOPWORDS or word.lower() in _META:
            continue
        if len(word) == 1 and not word.isdigit():  # an initial or a piece of "U. S.": no name on its own
            continue
        if i == 0 and not word[0].isdigit() and sentence[match.end() : match.end() + 1] == ",":
            continue
        names.append(word.lower())
    return names


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
    words = _terms(sentence)
    return bool(words) and all(w in _META for w in words)


def _with_markers(sentence: str, numbers: Sequence[int]) -> str:
    marks = "".join(f"[{n}]" for n in numbers)
    stripped = sentence.rstrip()
    last_word = stripped.rsplit(" ", 1)[-1]
    if stripped[-1:] in (".", "!", "?") and "." not in last_word[:-1]:  # "U.S." keeps its period
        return f"{stripped[:-1]} {marks}{stripped[-1]}"
    return f"{stripped} {marks}"


class SentenceSimilarity:
    """Cosine of an answer sentence to the closest sentence of a source, with the embedding model.

    Source sentences are embedded once, in one batch, and only if a sentence needs it."""

    def __init__(self, embed_model: BaseEmbedding, sources: Sequence[str]) -> None:
        self._model = embed_model
        self._sentences = [[src[a:b] for a, b in sentence_spans(src)] or [src] for src in sources]
        self._matrix: list[np.ndarray] | None = None
        self._queries: dict[str, np.ndarray] = {}  # a sentence is compared with several sources

    def __call__(self, sentence: str, source: int) -> float:
        if self._matrix is None:
            flat = [s for group in self._sentences for s in group]
            vectors = np.asarray(self._model.get_text_embedding_batch(flat), dtype=np.float32)
            bounds = np.cumsum([0] + [len(g) for g in self._sentences])
            self._matrix = [vectors[bounds[i] : bounds[i + 1]] for i in range(len(self._sentences))]
        query = self._queries.get(sentence)
        if query is None:
            query = self._queries[sentence] = np.asarray(self._model.get_text_embedding(sentence), dtype=np.float32)
        rows = self._matrix[source]
        norms = np.linalg.norm(rows, axis=1) * (np.linalg.norm(query) or 1.0)
        return float(np.max(rows @ query / np.where(norms == 0, 1.0, norms)))


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
    first = _TOKEN.search(sentence)
    word = first.group() if first is not None else ""
    return word[:1].isupper() and word.lower() not in _STOPWORDS and word.lower() not in _META


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
