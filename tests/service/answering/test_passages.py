"""Tests for service.answering.passages.passage_window: the context shown around a cited span."""

from __future__ import annotations

import pytest

from service.answering.passages import passage_window

TEXT = (
    "First paragraph with a few words.\n\n"
    "The second paragraph has some words here and more words there, then it goes on.\n\n"
    "Third one."
)
SPAN = "some words"
START = TEXT.index(SPAN)
END = START + len(SPAN)


def _check_window(text: str, start: int, end: int, context: int) -> tuple[int, int]:
    lo, hi = passage_window(text, start, end, context)
    assert 0 <= lo <= start < end <= hi <= len(text)  # the span is always inside
    assert lo >= start - context and hi <= end + context  # never more context than asked for
    assert "\n\n" not in text[lo:start] and "\n\n" not in text[end:hi]  # no neighbouring paragraph
    assert lo in (0, start) or text[lo - 1].isspace()  # whole words at the edges
    assert hi in (len(text), end) or text[hi].isspace()
    return lo, hi


@pytest.mark.parametrize("context", [0, 1, 3, 5, 10, 20, 40, 300])
def test_window_properties(context: int) -> None:
    _check_window(TEXT, START, END, context)


def test_no_context_is_the_span_itself() -> None:
    assert passage_window(TEXT, START, END, 0) == (START, END)


def test_small_context_widens_to_whole_words_inside_the_limit() -> None:
    lo, hi = passage_window(TEXT, START, END, 10)
    assert TEXT[lo:hi] == "has some words here and"  # "paragraph" would start before START - 10


def test_large_context_stops_at_paragraph_breaks() -> None:
    lo, hi = passage_window(TEXT, START, END, 300)
    assert TEXT[lo:hi] == "The second paragraph has some words here and more words there, then it goes on."


def test_span_at_the_start_of_the_text() -> None:
    lo, hi = _check_window(TEXT, 0, 5, 12)
    assert lo == 0
    assert TEXT[lo:hi] == "First paragraph"


def test_span_at_the_end_of_the_text() -> None:
    lo, hi = _check_window(TEXT, len(TEXT) - 4, len(TEXT), 300)
    assert hi == len(TEXT)
    assert TEXT[lo:hi] == "Third one."


def test_whole_text() -> None:
    assert passage_window(TEXT, 0, len(TEXT), 0) == (0, len(TEXT))
    assert passage_window(TEXT, 0, len(TEXT), 300) == (0, len(TEXT))


def test_span_starting_a_paragraph_gets_no_text_from_the_one_before() -> None:
    start = TEXT.index("The second")
    lo, _ = passage_window(TEXT, start, start + 3, 300)
    assert lo == start


def test_span_ending_at_a_paragraph_break_gets_no_text_from_the_one_after() -> None:
    end = TEXT.index("\n\nThird")
    _, hi = passage_window(TEXT, end - 5, end, 300)
    assert hi == end


def test_span_across_a_paragraph_break_keeps_both_paragraphs() -> None:
    start, end = TEXT.index("few words"), TEXT.index("second") + len("second")
    lo, hi = _check_window(TEXT, start, end, 300)
    assert TEXT[lo:hi] == TEXT[: TEXT.index("\n\nThird")]


def test_long_word_at_the_edge_is_left_out_rather_than_cut() -> None:
    text = "Pneumonoultramicroscopic span Pneumonoultramicroscopic"
    start = text.index("span")
    lo, hi = passage_window(text, start, start + 4, 5)
    assert (lo, hi) == (start, start + 4)
