"""Lexical support: does a source hold the words, names and numbers an answer sentence adds to its question?

Words are compared by Snowball stem; names and numbers must be the source's own (in a short/long or
demonym form); a paraphrase may pass on the embedding model's sentence similarity.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import Stemmer
from llama_index.core.base.embeddings.base import BaseEmbedding

from index.chunking import sentence_spans

TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+", re.UNICODE)
_NUMBER = re.compile(r"\d")
STOPWORDS = frozenset(
    "a an the and or but of to in on at by for with from as is are was were be been being it its this that these "
    "those he she they them his her their there which who whom what when where why how not no do does did has "
    "have had will would can could should may might also than then so such into about over after before".split()
)
# Words a model uses to talk about the sources rather than the news.
META = frozenset(
    "according source sources document documents article articles stated states mentioned provided "
    "information found text says said".split()
)
MIN_SUPPORT = 0.5  # share of a sentence's new words that its source must contain
MIN_SIMILARITY = 0.7  # cosine (MiniLM's scale) to a source sentence that lets a paraphrase count as backed

Similarity = Callable[[str, int], float]  # (answer sentence, source index) -> cosine similarity
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
    return [m.group().lower() for m in TOKEN.finditer(text)]


def terms(text: str) -> list[str]:
    return [t for t in _words(_spelled_out(text)) if t not in STOPWORDS]


def subtitled_titles(question: str) -> list[tuple[str, str]]:
    """The "Series: Subtitle" titles of a question as (series, subtitle), each its lowercased words, for
    subtitles with a word besides edition words ("Definitive Edition" alone names no work)."""
    titles = []
    for match in _SUBTITLED.finditer(question):
        series, subtitle = (" ".join(_words(part)) for part in match.groups())
        if set(subtitle.split()) - _EDITION_WORDS - STOPWORDS:
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
        self._question = {_stem(t) for t in terms(question)}
        self._subtitled = subtitled_titles(question)
        self._exact = [set(terms(src)) for src in sources]
        # The sources' words in order, to find a subtitle as a phrase: only for a question that has one.
        self._phrases = [f" {' '.join(_words(src))} " for src in sources] if self._subtitled else []
        self._stems = [{_stem(t) for t in terms} for terms in self._exact]
        self._similarity = similarity
        self._min_similarity = min_similarity

    def coverage(self, sentence: str, sources: Iterable[int]) -> float:
        """Share of the sentence's new words (those not already in the question) the sources hold."""
        words = [w for w in terms(sentence) if w not in META]
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
    tokens = list(TOKEN.finditer(sentence))
    names = []
    for i, match in enumerate(tokens):
        word = match.group()
        if not (word[0].isupper() or word[0].isdigit()) or word.lower() in STOPWORDS or word.lower() in META:
            continue
        if len(word) == 1 and not word.isdigit():  # an initial or a piece of "U. S.": no name on its own
            continue
        if i == 0 and not word[0].isdigit() and sentence[match.end() : match.end() + 1] == ",":
            continue
        names.append(word.lower())
    return names


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
