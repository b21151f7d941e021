"""Evaluation questions: load a questions JSONL, and choose which gold articles to hold out.

The format is the one under ``../shared/eval/*/questions.jsonl``: ``{id, question, answer,
evidence: [{article_id, ...}], choices?, answer_index?, question_date?, ...}``. Only what scoring needs is kept;
unknown fields are ignored so richer datasets load unchanged. Errors name the file and line, like
``index.loaders`` does for articles, so a broken line in a 200-question file is found at once.
"""

from __future__ import annotations

import calendar
import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, NamedTuple

from index.sparse import SparseDoc, SparseIndex, tokenize
from service.answering.checks.support import name_forms
from service.answering.normalize import normalize_answer

ANSWER_SEARCH_DEPTH = 20  # articles per held-out question searched for other copies of its answer


class QuestionFormatError(ValueError):
    """A questions file or line that cannot be read; the message says where and why."""


@dataclass(frozen=True)
class EvalQuestion:
    """One question with what it is scored against."""

    id: str
    question: str
    answer: str | list[str]  # one accepted answer, or several
    gold_article_ids: list[str]  # from evidence[].article_id, first occurrence order
    choices: list[str] | None = None  # multiple choice options, when the dataset has them
    answer_index: list[int] | None = None  # indices of the correct choices
    as_of: date | None = None  # the day the question was asked ("question_date"), when the dataset says

    @property
    def answers(self) -> list[str]:
        """The accepted answers as a list, whichever form the file used."""
        return [self.answer] if isinstance(self.answer, str) else list(self.answer)


def question_from_record(record: Any) -> EvalQuestion:
    """Validate one parsed JSON line; raises QuestionFormatError saying which field is wrong."""
    if not isinstance(record, dict):
        raise QuestionFormatError("each line must be a JSON object")
    qid = record.get("id")
    if isinstance(qid, int) and not isinstance(qid, bool):
        qid = str(qid)
    if not isinstance(qid, str) or not qid.strip():
        raise QuestionFormatError("'id' must be a non-empty string")
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise QuestionFormatError("'question' must be a non-empty string")
    answer = _decoded_answer(record.get("answer"))
    if isinstance(answer, list):
        if not answer or not all(isinstance(a, str) for a in answer):
            raise QuestionFormatError("'answer' must be a string or a non-empty list of strings")
    elif not isinstance(answer, str):
        raise QuestionFormatError("'answer' must be a string or a non-empty list of strings")
    choices = record.get("choices")
    if choices is not None and (not isinstance(choices, list) or not all(isinstance(c, str) for c in choices)):
        raise QuestionFormatError("'choices' must be a list of strings or null")
    return EvalQuestion(
        id=qid.strip(),
        question=question.strip(),
        answer=answer,
        gold_article_ids=_gold_ids(record.get("evidence")),
        choices=choices or None,
        answer_index=_answer_index(record.get("answer_index"), choices),
        as_of=_question_date(record.get("question_date")),
    )


def _question_date(raw: Any) -> date | None:
    """RealTime QA writes "2022/06/16" (and, in later files, "2024-06-21"); either gives the day."""
    if raw is None:
        return None
    try:
        return date.fromisoformat(str(raw)[:10].replace("/", "-"))
    except ValueError:
        raise QuestionFormatError(f"'question_date' must be a day like 2022/06/16, not {str(raw)[:40]!r}") from None


def _decoded_answer(answer: Any) -> Any:
    """Accepted answers, flattened. Some datasets (RGB) store them as a JSON-encoded nested list
    inside a string, e.g. "[[\"May 15 2012\", \"May 15, 2012\"]]"; scoring needs the strings."""
    if isinstance(answer, str) and answer.lstrip().startswith("["):
        try:
            answer = json.loads(answer)
        except json.JSONDecodeError:
            return answer
    if isinstance(answer, list):
        flat: list[Any] = []
        stack = list(reversed(answer))
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
            else:
                flat.append(item)
        return list(dict.fromkeys(flat)) if all(isinstance(a, str) for a in flat) else answer
    return answer


def _gold_ids(evidence: Any) -> list[str]:
    if evidence is None:
        return []
    if not isinstance(evidence, list):
        raise QuestionFormatError("'evidence' must be a list of objects with an 'article_id'")
    ids: list[str] = []
    for item in evidence:
        aid = item.get("article_id") if isinstance(item, dict) else None
        if not isinstance(aid, str) or not aid.strip():
            raise QuestionFormatError("every 'evidence' item needs a string 'article_id'")
        ids.append(aid.strip())
    return list(dict.fromkeys(ids))


def _answer_index(raw: Any, choices: list[str] | None) -> list[int] | None:
    if raw is None:
        return None
    indices = [raw] if isinstance(raw, int) and not isinstance(raw, bool) else raw
    if not isinstance(indices, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in indices):
        raise QuestionFormatError("'answer_index' must be an integer, a list of integers or null")
    if not choices:
        raise QuestionFormatError("'answer_index' needs 'choices'")
    if not indices or any(not 0 <= i < len(choices) for i in indices):
        raise QuestionFormatError(f"'answer_index' {indices} is out of range for {len(choices)} choices")
    return indices


def load_questions(path: Path) -> list[EvalQuestion]:
    """All questions of a JSONL file, in file order; blank lines skipped, duplicate ids rejected."""
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise QuestionFormatError(f"{path}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise QuestionFormatError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    questions: list[EvalQuestion] = []
    first_line: dict[str, int] = {}
    for lineno, line in enumerate(raw.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            question = question_from_record(json.loads(line))
        except json.JSONDecodeError as exc:
            raise QuestionFormatError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from exc
        except QuestionFormatError as exc:
            raise QuestionFormatError(f"{path}:{lineno}: {exc}") from exc
        if question.id in first_line:
            raise QuestionFormatError(
                f"{path}:{lineno}: duplicate id {question.id!r} (first on line {first_line[question.id]})"
            )
        first_line[question.id] = lineno
        questions.append(question)
    return questions


Split = Literal["tune", "check"]
_DIGITS = re.compile(r"(\d+)")


def split_questions(questions: Sequence[EvalQuestion], which: Split) -> list[EvalQuestion]:
    """One half of a development set, by id: *tune* holds the ids that sort into the first half
    (numbers compared as numbers, so RGB's tune split is ids 0-49), *check* the rest. Prompts, budgets
    and thresholds are chosen on tune; results are reported on check."""
    ordered = sorted(questions, key=lambda q: [int(p) if p.isdigit() else p for p in _DIGITS.split(q.id)])
    tune = {q.id for q in ordered[: (len(ordered) + 1) // 2]}
    return [q for q in questions if (q.id in tune) == (which == "tune")]


class Holdout(NamedTuple):
    """Gold articles to leave out of the corpus, and the questions that then have no answer in it."""

    drop_article_ids: frozenset[str]
    expect_abstain: frozenset[str]  # question ids


def holdout(questions: Sequence[EvalQuestion], fraction: float, seed: int) -> Holdout:
    """Turn a share of the questions into abstention cases by removing their gold articles.

    ``round(fraction * n)`` questions with gold articles are drawn (at least one when the fraction
    is positive) with a seeded RNG, so a run can be repeated. Every question whose gold articles
    were *all* dropped then expects an abstention, including questions that merely share them.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"the hold-out fraction must be between 0 and 1, got {fraction}")
    candidates = [q for q in questions if q.gold_article_ids]
    count = round(fraction * len(candidates))
    if fraction > 0 and candidates:
        count = max(count, 1)
    picked = random.Random(seed).sample(candidates, count)
    dropped = frozenset(aid for q in picked for aid in q.gold_article_ids)
    return Holdout(dropped, expect_abstain_for(questions, dropped))


def expect_abstain_for(questions: Iterable[EvalQuestion], dropped: frozenset[str]) -> frozenset[str]:
    """Ids of the questions whose gold articles are all in ``dropped`` (none when they have no gold)."""
    return frozenset(q.id for q in questions if q.gold_article_ids and all(a in dropped for a in q.gold_article_ids))


def answer_bearing(
    articles: Iterable[tuple[str, str]],
    questions: Iterable[EvalQuestion],
    held_out: Holdout,
    depth: int = ANSWER_SEARCH_DEPTH,
) -> frozenset[str]:
    """Ids of the ``(id, text)`` articles that tell a held-out question's story and state its answer,
    so they can be held out too: a news corpus carries other outlets' reports of the same event, and
    a question whose answer is still in the corpus is not an abstention case.

    "Tells its story" is "among the ``depth`` articles a BM25 search for the question ranks first",
    so a common answer ("White House", "China") does not take every article that names it. Gold
    articles of questions still asked are never taken. An answer that normalises to under two
    characters is not used: it would match almost anything. A name's last word also counts in its
    demonym and plural forms ("Sri Lankan officials" state "Sri Lanka")."""
    questions = list(questions)
    keep = {aid for q in questions if q.id not in held_out.expect_abstain for aid in q.gold_article_ids}
    candidates = [(aid, text) for aid, text in articles if aid not in keep and aid not in held_out.drop_article_ids]
    search = SparseIndex(
        docs=[
            SparseDoc(chunk_id=aid, article_id=aid, tokens=tuple(tokens))
            for (aid, _), tokens in zip(candidates, tokenize([text for _, text in candidates]), strict=True)
        ]
    )
    texts = dict(candidates)
    found: set[str] = set()
    for q in questions:
        if q.id not in held_out.expect_abstain:
            continue
        who = bool(_WHO.search(q.question))
        normalised = [(raw, norm) for raw in q.answers if len(norm := normalize_answer(raw)) >= 2]
        forms = {form for raw, norm in normalised for form in _forms(raw, norm, who)}
        answers = [f" {form} " for form in forms]
        for aid, _score in search.search(q.question, depth).top if answers else ():
            text = f" {normalize_answer(texts[aid])} "
            if any(answer in text for answer in answers):
                found.add(aid)
    return frozenset(found)


def _forms(raw: str, answer: str, who: bool = False) -> set[str]:
    """A normalised answer, the same with its last word's demonym and plural forms, a date's day
    without its year ("nov 12" states "November 12 2020") and, answering ``who``, a surname ("Nadal")."""
    *first, last = answer.split()
    forms = {" ".join([*first, form]) for word in name_forms(last) for form in (word, word + "s")}
    return forms | _day_forms(answer) | (_surname(raw) if who else set())


_MONTHS = {name.lower(): name[:3].lower() for name in calendar.month_name if name}
_DAY_ANSWER = re.compile(r"^(?:(?P<month>[a-z]+) (?P<day>\d{1,2})|(?P<day2>\d{1,2}) (?P<month2>[a-z]+)) \d{4}$")
_WHO = re.compile(r"\bwho(m|se)?\b", re.IGNORECASE)
_PERSON = re.compile(r"^[A-Z][a-z]+(?:[ -][A-Z][a-z]+){1,2}$")


def _day_forms(answer: str) -> set[str]:
    """A "month day year" answer's day written the ways news prints it without the year."""
    match = _DAY_ANSWER.match(answer)
    if match is None:
        return set()
    month, day = match["month"] or match["month2"], match["day"] or match["day2"]
    short = _MONTHS.get(month) or (month if month in _MONTHS.values() else None)
    if short is None:
        return set()
    suffix = {"1": "st", "2": "nd", "3": "rd"}.get(day[-1], "th") if day not in ("11", "12", "13") else "th"
    days = (day, day + suffix)
    return {f"{m} {d}" for m in (month, short) for d in days} | {f"{d} {m}" for m in (month, short) for d in days}


def _surname(raw: str) -> set[str]:
    """A two- or three-word personal name's last word, when long enough not to be a common word."""
    raw = raw.strip()
    last = raw.split()[-1].split("-")[-1].lower() if _PERSON.match(raw) else ""
    return {last} if len(last) >= 4 else set()
