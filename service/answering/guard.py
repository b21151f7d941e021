"""Article text is data, never instructions: neutralise what in it tries to steer the model.

Chat-template control tokens (which could close the user turn and open a fake system turn) and sentences addressing the
assistant ("ignore previous instructions..."), even hidden by invisible characters or spelt with look-alike letters, are
removed from what the model sees and from what answers are checked against, so such text can never be cited either.
This list of English phrasings is a first filter only: what stops an injected claim is that every claim must be backed
by the article's own statements (the citation checks and the verifier), tested in tests/e2e/test_injection.py.
"""

from __future__ import annotations

import re
import unicodedata

from index.chunking import sentence_spans

# Zero-width and joiner characters, bidirectional controls (embeddings, overrides, isolates U+2066-2069),
# variation selectors and Unicode tag characters (U+E0000-E007F: text no reader sees).
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufe00-\ufe0f\ufeff\U000e0000-\U000e007f]")
# Latin look-alikes from Cyrillic and Greek, folded before directives are looked for ("Іgnоrе" is "Ignore").
_CONFUSABLES = str.maketrans(
    "АВЕКМНОРСТХІЈЅаеорсухіїјѕԁɡΑΒΕΗΙΚΜΝΟΡΤΥΧΖοιν",
    "ABEKMHOPCTXIJSaeopcyxiijsdgABEHIKMNOPTYXZoiv",
)
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
    folded = unicodedata.normalize("NFKC", _INVISIBLE.sub("", sentence)).translate(_CONFUSABLES)
    return bool(_DIRECTIVE.search(folded))


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
