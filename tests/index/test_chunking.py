"""Tests for index.chunking with the real MiniLM tokenizer: exact offsets, budgets, coverage, overlap."""

from __future__ import annotations

import random
from itertools import pairwise
from pathlib import Path

import pytest

from index.chunking import Chunk, TokenCounter, _split_long, chunk_text, sentence_spans
from index.embedding import Embedder
from index.loaders import load_file

POLICIES = [(64, 16), (128, 32), (200, 0)]
JOIN_SLACK = 2  # tokens a join between sentences may add when the chunk text is re-tokenised

_WORDS = [
    "the",
    "minister",
    "said",
    "markets",
    "would",
    "react",
    "strongly",
    "to",
    "new",
    "tariffs",
    "on",
    "imported",
    "steel",
    "and",
    "aluminium",
    "while",
    "analysts",
    "expected",
    "slower",
    "growth",
    "in",
    "the",
    "coming",
    "quarter",
    "for",
    "exporters",
    "banks",
    "and",
    "retailers",
]

_CYRILLIC = (
    "Правительство объявило о новых мерах поддержки экономики. Министр финансов заявил, что бюджет будет "
    "сбалансирован! Аналитики ожидают роста инфляции в следующем году? Центральный банк сохранил ключевую "
    "ставку без изменений."
)


def _synthetic_long_text() -> tuple[str, str]:
    """A long article mixing ordinary sentences, one ~600-word sentence without punctuation and Russian."""
    rng = random.Random(20251118)
    english = " ".join(
        f"{' '.join(rng.choice(_WORDS) for _ in range(rng.randint(5, 30))).capitalize()}." for _ in range(25)
    )
    run_on = " ".join(rng.choice(_WORDS) for _ in range(600))  # one ~600-word sentence, no punctuation
    text = "\n\n".join(
        [
            "Markets in turmoil",
            english,
            run_on,
            _CYRILLIC,
            "The U.S. Treasury said on Monday it would respond. Officials declined to comment further.",
            (_CYRILLIC + " ") * 4,
            "Short closing line",
        ]
    )
    return text, run_on


@pytest.fixture(scope="module")
def counter(embedder: Embedder) -> TokenCounter:
    return embedder.counter


@pytest.fixture
def seed_text(seed_path: Path) -> str:
    return next(load_file(seed_path)).text


def _count(counter: TokenCounter, text: str) -> int:
    return counter.count([text])[0]


def _assert_chunk_invariants(
    text: str, chunks: list[Chunk], counter: TokenCounter, max_tokens: int, overlap_tokens: int
) -> None:
    assert chunks, "a non-empty text must give at least one chunk"
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert 0 <= chunk.start < chunk.end <= len(text)
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip(), "a chunk starts and ends on sentence text, not whitespace"
        real = _count(counter, chunk.text)
        assert real <= max_tokens + JOIN_SLACK, f"chunk {chunk.index} has {real} tokens > {max_tokens}"
        assert chunk.n_tokens <= max_tokens + JOIN_SLACK
        assert abs(chunk.n_tokens - real) <= JOIN_SLACK, "n_tokens must describe the chunk text"
    starts = [c.start for c in chunks]
    assert all(a < b for a, b in pairwise(starts)), "chunk starts must strictly increase"
    for prev, nxt in pairwise(chunks):
        if overlap_tokens == 0:
            assert nxt.start >= prev.end, f"chunks {prev.index} and {nxt.index} overlap with overlap_tokens=0"
        elif nxt.start < prev.end:
            assert _count(counter, text[nxt.start : prev.end]) <= overlap_tokens + JOIN_SLACK
    # Every non-blank character of every sentence lies inside some chunk (whitespace between the
    # pieces of a cut sentence may fall between chunks).
    covered = bytearray(len(text))
    for chunk in chunks:
        covered[chunk.start : chunk.end] = b"\x01" * (chunk.end - chunk.start)
    for start, end in sentence_spans(text):
        missing = [i for i in range(start, end) if not covered[i] and not text[i].isspace()]
        assert not missing, f"sentence {text[start:end][:60]!r} is not fully covered (offsets {missing[:5]})"


@pytest.mark.parametrize(("max_tokens", "overlap_tokens"), POLICIES)
def test_seed_chunks(seed_text: str, counter: TokenCounter, max_tokens: int, overlap_tokens: int) -> None:
    chunks = chunk_text(seed_text, counter, max_tokens, overlap_tokens)
    _assert_chunk_invariants(seed_text, chunks, counter, max_tokens, overlap_tokens)
    assert chunks[0].start == 0
    assert chunks[-1].end == len(seed_text)
    assert _count(counter, seed_text) > max_tokens, "the seed must need several chunks for the test to mean much"
    assert len(chunks) > 1


@pytest.mark.parametrize(("max_tokens", "overlap_tokens"), POLICIES)
def test_synthetic_long_text_chunks(counter: TokenCounter, max_tokens: int, overlap_tokens: int) -> None:
    text, run_on = _synthetic_long_text()
    chunks = chunk_text(text, counter, max_tokens, overlap_tokens)
    _assert_chunk_invariants(text, chunks, counter, max_tokens, overlap_tokens)
    run_on_start = text.index(run_on)
    run_on_end = run_on_start + len(run_on)
    assert _count(counter, run_on) > 3 * max_tokens
    inside = [c for c in chunks if run_on_start <= c.start and c.end <= run_on_end]
    assert len(inside) >= 3, "the run-on sentence must be cut into several chunks"


def test_overlap_repeats_trailing_sentences(counter: TokenCounter) -> None:
    text = " ".join(f"Prices rose {n} percent today." for n in range(60))
    with_overlap = chunk_text(text, counter, 64, 16)
    _assert_chunk_invariants(text, with_overlap, counter, 64, 16)
    overlapping = [(a, b) for a, b in pairwise(with_overlap) if b.start < a.end]
    assert overlapping, "with short sentences and overlap_tokens>0 consecutive chunks must share text"
    sentence_starts = {s for s, _ in sentence_spans(text)}
    for _, nxt in overlapping:
        assert nxt.start in sentence_starts, "the overlap is made of whole sentences"

    without = chunk_text(text, counter, 64, 0)
    _assert_chunk_invariants(text, without, counter, 64, 0)
    assert len(without) < len(with_overlap)


@pytest.mark.parametrize(("max_tokens", "overlap_tokens"), [(32, 32), (32, 40), (1, 1)])
def test_overlap_not_smaller_than_max_raises(counter: TokenCounter, max_tokens: int, overlap_tokens: int) -> None:
    with pytest.raises(ValueError, match="overlap_tokens"):
        chunk_text("A sentence.", counter, max_tokens, overlap_tokens)


def test_empty_and_blank_text_give_no_chunks(counter: TokenCounter) -> None:
    assert chunk_text("", counter, 64, 16) == []
    assert chunk_text(" \n\n \t\n", counter, 64, 16) == []


def test_short_text_is_one_chunk(counter: TokenCounter) -> None:
    text = "\n\nOne short sentence. And another.\n"
    chunks = chunk_text(text, counter, 64, 16)
    assert len(chunks) == 1
    assert chunks[0].text == "One short sentence. And another."
    assert text[chunks[0].start : chunks[0].end] == chunks[0].text


def test_sentence_spans_keep_lines_apart_and_know_abbreviations() -> None:
    text = "Heading without a stop\nThe U.S. economy grew. Markets rose.\n\nSecond paragraph here."
    sentences = [text[s:e] for s, e in sentence_spans(text)]
    assert sentences == [
        "Heading without a stop",
        "The U.S. economy grew.",
        "Markets rose.",
        "Second paragraph here.",
    ]


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Barty is world No. 1 again. Nadal was No. 2.", ["Barty is world No. 1 again.", "Nadal was No. 2."]),
        ("Voters said no. Biden won.", ["Voters said no.", "Biden won."]),  # no number: "no." ends it
        ("It came out Apr. 20, 2018. Gov. Newsom spoke.", ["It came out Apr. 20, 2018.", "Gov. Newsom spoke."]),
        ("See Vol. 3 of it.\nNo.\n1 here.", ["See Vol. 3 of it.", "No.", "1 here."]),  # lines stay apart
    ],
)
def test_abbreviations_that_punkt_splits_on(text: str, sentences: list[str]) -> None:
    assert [text[s:e] for s, e in sentence_spans(text)] == sentences


# -- long sentences, overlap edge cases (regressions) --------------------------------------------

_CYRILLIC_RUN_ON = " ".join(["экономическая политика правительства страны"] * 150)
_CJK_RUN_ON = "中国外交部发言人表示中方坚决反对美方的无理指控" * 30 + "。"


def _pieces(text: str, max_tokens: int, counter: TokenCounter) -> list[str]:
    """The pieces _split_long cuts the whole text into, checked to tile it (only whitespace between)."""
    spans = _split_long(text, (0, len(text)), max_tokens, counter)
    assert spans[0][0] == 0
    assert spans[-1][1] == len(text)
    for (_, prev_end), (start, _) in pairwise(spans):
        assert prev_end < start or prev_end == start
        assert not text[prev_end:start].strip()
    return [text[s:e] for s, e in spans]


def test_long_cyrillic_sentence_respects_budget(counter: TokenCounter) -> None:
    chunks = chunk_text(_CYRILLIC_RUN_ON, counter, 64, 0)
    _assert_chunk_invariants(_CYRILLIC_RUN_ON, chunks, counter, 64, 0)
    assert max(_count(counter, c.text) for c in chunks) <= 64 + JOIN_SLACK


@pytest.mark.parametrize("max_tokens", [16, 64, 128])  # each word is at most 13 tokens
def test_long_sentence_pieces_keep_words_whole_within_budget(counter: TokenCounter, max_tokens: int) -> None:
    pieces = _pieces(_CYRILLIC_RUN_ON, max_tokens, counter)
    assert len(pieces) > 1
    assert all(_count(counter, p) <= max_tokens for p in pieces), "a piece must never exceed the budget"
    words = set(_CYRILLIC_RUN_ON.split())
    assert all(set(p.split()) <= words for p in pieces), "with spaces to cut at, no word is cut in two"


def test_long_sentence_without_spaces_is_cut(counter: TokenCounter) -> None:
    chunks = chunk_text(_CJK_RUN_ON, counter, 64, 0)
    _assert_chunk_invariants(_CJK_RUN_ON, chunks, counter, 64, 0)
    pieces = _pieces(_CJK_RUN_ON, 64, counter)
    assert all(_count(counter, p) <= 64 for p in pieces)
    assert len(pieces) == -(-_count(counter, _CJK_RUN_ON) // 64), "cut at token ends, the budget is used in full"


@pytest.mark.parametrize("max_tokens", [1, 2, 3])
def test_word_cut_in_the_middle_stays_within_budget(counter: TokenCounter, max_tokens: int) -> None:
    text = "экономическая"  # one word, several tokens; its tail tokenises differently on its own
    pieces = _pieces(text, max_tokens, counter)
    assert "".join(pieces) == text
    assert all(_count(counter, p) <= max_tokens for p in pieces)


def test_every_chunk_adds_new_text(counter: TokenCounter) -> None:
    text = "Prices rose sharply today. Stocks fell too. " + " ".join(["markets"] * 200)
    chunks = chunk_text(text, counter, 64, 16)
    _assert_chunk_invariants(text, chunks, counter, 64, 16)
    assert all(nxt.end > prev.end for prev, nxt in pairwise(chunks)), "no chunk lies inside the one before"


def test_zero_token_line_does_not_overlap(counter: TokenCounter) -> None:
    text = "First sentence here.\n\u200b\nSecond sentence here."
    chunks = chunk_text(text, counter, 5, 0)
    assert all(nxt.start >= prev.end for prev, nxt in pairwise(chunks))
    assert [c.text for c in chunks] == ["First sentence here.", "Second sentence here."]


def test_invisible_lines_are_not_sentences() -> None:
    text = "First.\n\u200b\n\u2060 \u00ad\nSecond."
    assert [text[s:e] for s, e in sentence_spans(text)] == ["First.", "Second."]


def test_full_width_sentence_ends_split_chinese_text() -> None:
    from index.chunking import sentence_spans

    text = "华盛顿指控阿里巴巴。阿里巴巴否认了指控！这是第三句？"
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == ["华盛顿指控阿里巴巴。", "阿里巴巴否认了指控！", "这是第三句？"]
