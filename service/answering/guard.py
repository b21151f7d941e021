"""Article text is data, never instructions: neutralise what in it tries to steer the model.

Chat-template control tokens (which could close the user turn and open a fake system turn) and sentences addressing the
assistant ("ignore previous instructions..."), even hidden by zero-width characters, are removed from what the model
sees and from what answers are checked against, so such text can never be cited either.
"""

from __future__ import annotations

import re

from index.chunking import sentence_spans

_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")
_CONTROL_TOKENS = re.compile(r"<\|[^|>]{1,40}\|>|</?s>|\[/?INST\]|<<SYS>>|<</SYS>>")
_DIRECTIVE = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.]{0,40}\b(?:instructions?|prompts?|directions|guidelines)\b"
    r"|\b(?:reply|respond|answer|output|print|say)\s+(?:only\s+|exactly\s+|just\s+)?(?:with\s+)?(?:the\s+)?"
    r"(?:word|phrase|string)\b"
    r"|\b(?:reply|respond|answer)\s+(?:only|exactly|just)\s+with\b"
    r"|\b(?:follow|obey)\s+(?:these|the following|my)\s+(?:new\s+)?instructions\b"
    r"|\byou are now\b|\bfrom now on,? you\b"
    r"|\b(?:system|developer)\s+(?:prompt|message)\b"
    r"|^\W*(?:answer|reply|respond|output|print)\b",  # an imperative aimed at the assistant
    re.IGNORECASE,
)
REMOVED = "[text removed: instructions inside the article]"


def is_directive(sentence: str) -> bool:
    """A sentence that talks to the assistant rather than reporting news."""
    return bool(_DIRECTIVE.search(_INVISIBLE.sub("", sentence)))


def neutralise(text: str) -> str:
    """The passage as the model may see it: control tokens and directive sentences replaced."""
    text = _CONTROL_TOKENS.sub(" ", _INVISIBLE.sub("", text))
    pieces: list[str] = []
    cursor = 0
    for start, end in sentence_spans(text):
        if is_directive(text[start:end]):
            pieces.append(text[cursor:start] + REMOVED)
            cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)
