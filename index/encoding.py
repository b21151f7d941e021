"""Bytes to text for article files: UTF-8, or a legacy encoding told apart with confidence, else a clear refusal.

Garbled text is worse than an error: it is indexed, quoted and cited as if the article said it. So a
file that is not UTF-8 is decoded only when one reading of its bytes clearly stands out: charset-normalizer
finds the candidates and the language, and among the encodings that language was written in, the reading
with the fewest letters foreign to it must win by a margin.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes
from charset_normalizer.md import mess_ratio

from index.articles import ArticleFormatError
from index.language import detect_language, foreign_letters

# UTF-32-LE's BOM starts with UTF-16-LE's, so the 32-bit ones are tried first.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Detector results this close count as a tie: the tied readings all go on to the language check.
_CHAOS_TIE = 0.01
_COHERENCE_TIE = 0.02
# Below this coherence the detector recognised no language (too little text): nothing to tell readings apart by.
_MIN_COHERENCE = 0.1
# The encodings each language's legacy files were written in: Windows code page, ISO sibling, Mac and DOS.
# The Mac and DOS ones are rivals to rule out rather than likely answers: the detector can pick them wrongly.
_WESTERN = ("cp1252", "latin_1", "iso8859_15", "mac_roman", "cp850", "cp437")
_CENTRAL = ("cp1250", "iso8859_2", "mac_latin2", "cp852")
_CYRILLIC = ("cp1251", "koi8_r", "koi8_u", "iso8859_5", "mac_cyrillic", "cp866", "cp855")
_BALTIC = ("cp1257", "iso8859_13", "iso8859_4")
_LEGACY_ENCODINGS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("en", "fr", "de", "es", "pt", "it", "nl", "da", "sv", "no", "fi", "ca", "id"), _WESTERN),
    **dict.fromkeys(("cs", "sk", "pl", "hu", "sl", "hr", "ro"), _CENTRAL),
    **dict.fromkeys(("ru", "uk", "bg", "mk"), _CYRILLIC),
    **dict.fromkeys(("lt", "lv", "et"), _BALTIC),
    "el": ("cp1253", "iso8859_7"),
    "tr": ("cp1254", "iso8859_9"),
    "he": ("cp1255", "iso8859_8"),
    "ar": ("cp1256", "iso8859_6"),
    "vi": ("cp1258",),
}
# The winning reading must have this much less foreign-letter cost (index.language.foreign_letters) than the next.
_FOREIGN_MARGIN = 0.5
_MAX_CONTROL_SHARE = 0.1
# Control characters (Unicode category Cc) other than the whitespace ones: \t \n \v \f \r.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_WIDE = ("utf_16", "utf_32")
# WHATWG: a page's declared charset is looked for in its first 1024 bytes; latin-1 and ASCII mean windows-1252.
_HTML_PRESCAN_BYTES = 1024
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.IGNORECASE)
_WINDOWS_1252_ALIASES = frozenset({"iso8859-1", "ascii"})
_CONVERT = "convert it to UTF-8"


def decode_text(data: bytes, *, declared: str | None = None) -> str:
    """Decode an article file; ``declared`` is the encoding the file itself names (an HTML meta charset).

    Raises ArticleFormatError for empty and binary files and for text whose encoding cannot be told apart.
    """
    text = _decode(data, declared)
    if not text.strip():
        raise ArticleFormatError("empty file")
    if len(_CONTROL.findall(text)) > _MAX_CONTROL_SHARE * len(text):
        raise ArticleFormatError("binary file (mostly control characters), not text")
    return text


def sniff_html_charset(data: bytes) -> str | None:
    """The Python codec a page declares in a ``<meta charset>`` (or http-equiv) tag, if any and known."""
    match = _META_CHARSET.search(data[:_HTML_PRESCAN_BYTES])
    if not match:
        return None
    try:
        name = codecs.lookup(match.group(1).decode("ascii")).name
    except LookupError:
        return None
    return "cp1252" if name in _WINDOWS_1252_ALIASES else name


def _decode(data: bytes, declared: str | None) -> str:
    if not data.strip():
        raise ArticleFormatError("empty file")
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)  # the codec reads the BOM for the byte order and drops it
            except UnicodeDecodeError as exc:
                raise ArticleFormatError(
                    f"starts with a {codec.upper()} byte-order mark but is not {codec.upper()} "
                    f"({exc.reason} at byte {exc.start}); {_CONVERT}"
                ) from exc
    if b"\x00" in data:  # never in UTF-8 or legacy text: UTF-16/32 without a BOM, or binary
        return _detect_wide(data)
    try:
        return data.decode("utf-8-sig")  # -sig: drop the BOM that Windows tools write
    except UnicodeDecodeError as exc:
        utf8_error = f"not UTF-8 ({exc.reason} at byte {exc.start})"
    if declared and not declared.startswith(("utf-8", "utf-16", "utf-32")):
        try:
            text = data.decode(declared)
        except UnicodeDecodeError:
            text = None
        if text is not None and not _has_controls(text):  # C0/C1 controls: the declaration is wrong too
            return text
    return _detect(data, utf8_error=utf8_error)


def _detect(data: bytes, *, utf8_error: str) -> str:
    """Decode a legacy-encoded file, but only when one reading stands out; else refuse."""
    results = list(from_bytes(data))
    tied = [m for m in results if m.chaos <= min(r.chaos for r in results) + _CHAOS_TIE]
    top = max((m.coherence for m in tied), default=0.0)
    leaders = {str(m) for m in tied if m.coherence >= top - _COHERENCE_TIE}
    text = _pick(data, leaders) if top >= _MIN_COHERENCE else None
    if text is None:
        guesses = ", ".join(sorted(m.encoding for m in tied)) or "none fits"
        raise ArticleFormatError(f"{utf8_error}, and its encoding could not be told apart ({guesses}); {_CONVERT}")
    return text


def _detect_wide(data: bytes) -> str:
    """NUL bytes: UTF-16/32 text without a byte-order mark, or a binary file."""
    best = from_bytes(data).best()
    if best is None or not best.encoding.startswith(_WIDE) or best.coherence < _MIN_COHERENCE:
        raise ArticleFormatError("binary file (NUL bytes), not text")
    return str(best)


def _pick(data: bytes, leaders: set[str]) -> str | None:
    """The one reading that stands out among the encodings of the text's language, else the detector's if unique.

    The detector's guesses often tie, and it skips code pages it deems similar to ones it tried
    (ISO-8859-15 against Windows-1252, DOS code pages): so once the language is known, the bytes are
    read in every encoding that language was written in, messy readings (by the detector's own
    measure) are dropped, and the reading with the fewest letters foreign to the language must win
    by a clear margin.
    """
    languages = {detect_language(text) for text in leaders}
    language = languages.pop() if len(languages) == 1 else None
    own = _LEGACY_ENCODINGS.get(language or "", ())
    if language is None or not own:
        return leaders.pop() if len(leaders) == 1 else None
    messes: dict[str, float] = {}
    for encoding in own:
        try:
            reading = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not _has_controls(reading):
            messes[reading] = mess_ratio(reading, maximum_threshold=1.0)
    least = min(messes.values(), default=0.0)
    costs = sorted((foreign_letters(r, language), r) for r, mess in messes.items() if mess <= least + _CHAOS_TIE)
    if not costs or (len(costs) > 1 and costs[1][0] - costs[0][0] < _FOREIGN_MARGIN):
        return None
    return costs[0][1]


def _has_controls(text: str) -> bool:
    """Control characters other than whitespace: never in real text, a sign of the wrong encoding."""
    return _CONTROL.search(text) is not None
