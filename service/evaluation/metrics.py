"""Scoring as pure functions over plain values, so every reported number can be re-derived from the results file alone.

A metric that does not apply is ``None``, never 0 (a report must not show "0%" for "not measured"). Retrieval counts
distinct articles, each at its first rank. Answers compare after SQuAD-style normalisation, number words as digits, no
``[n]`` markers. Answer and citation metrics cover answerable questions only; an abstention there scores as wrong.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from service.answering.checks.citations import strip_markers
from service.answering.normalize import normalize_answer

HIT_KS = (1, 5, 10)
MRR_K = 10


# -- answers -------------------------------------------------------------------------------


def token_f1(prediction: str, gold: str) -> float:
    """Token-overlap F1 of two strings after normalisation (0.0 when either is empty)."""
    pred = normalize_answer(strip_markers(prediction)).split()
    ref = normalize_answer(gold).split()
    common = sum((Counter(pred) & Counter(ref)).values())
    if not pred or not ref or common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def best_f1(prediction: str, golds: Sequence[str]) -> float:
    """Max token F1 over the accepted answers."""
    return max((token_f1(prediction, g) for g in golds), default=0.0)


def contains_answer(prediction: str, golds: Sequence[str]) -> bool:
    """Whether some normalised gold answer occurs in the normalised prediction, on word boundaries.

    A two-word name counts in either order: "Liu Yifei" (family name first) is RGB's "Yifei Liu"."""
    pred = f" {normalize_answer(strip_markers(prediction))} "
    return any(f" {form} " in pred for norm in map(normalize_answer, golds) if norm for form in _name_orders(norm))


def _name_orders(norm: str) -> tuple[str, ...]:
    words = norm.split()
    if len(words) == 2 and all(word.isalpha() for word in words):
        return norm, f"{words[1]} {words[0]}"
    return (norm,)


def choose_option(prediction: str, choices: Sequence[str]) -> int | None:
    """The option the answer picks: the choice with the highest token F1, or None on a tie or no overlap."""
    if not choices:
        return None
    scores = [token_f1(prediction, c) for c in choices]
    best = max(scores)
    if best <= 0.0 or scores.count(best) > 1:
        return None
    return scores.index(best)


# -- retrieval -----------------------------------------------------------------------------


def ranked_articles(article_ids: Iterable[str]) -> list[str]:
    """Article ids in rank order, each kept at its first (best) rank."""
    return list(dict.fromkeys(article_ids))


def hit_at_k(ranked: Sequence[str], gold: Iterable[str], k: int) -> bool | None:
    """Whether any gold article is among the first ``k`` distinct articles; None without gold."""
    gold_set = set(gold)
    if not gold_set:
        return None
    return any(a in gold_set for a in ranked_articles(ranked)[:k])


def reciprocal_rank(ranked: Sequence[str], gold: Iterable[str], k: int = MRR_K) -> float | None:
    """1/rank of the first gold article among the first ``k`` distinct articles (0.0 if none); None without gold."""
    gold_set = set(gold)
    if not gold_set:
        return None
    for rank, article in enumerate(ranked_articles(ranked)[:k], start=1):
        if article in gold_set:
            return 1.0 / rank
    return 0.0


# -- citations -----------------------------------------------------------------------------


def citation_precision(
    cited: Sequence[str], gold: Iterable[str], quotes: Sequence[str] = (), answers: Sequence[str] = ()
) -> float | None:
    """Share of citations (one per citation, not per article) that are right; None if none or no gold.

    A citation is right when its article is gold, or when its quote (``quotes[i]`` for ``cited[i]``)
    states a gold answer: other outlets' reports of the same story back the same sentence."""
    gold_set = set(gold)
    if not cited or not gold_set:
        return None
    states = [bool(answers) and i < len(quotes) and contains_answer(quotes[i], answers) for i in range(len(cited))]
    return sum(1 for a, s in zip(cited, states, strict=True) if a in gold_set or s) / len(cited)


def citation_recall(cited: Sequence[str], gold: Iterable[str]) -> float | None:
    """Share of gold articles cited at least once; None without gold."""
    gold_set = set(gold)
    if not gold_set:
        return None
    return len(gold_set & set(cited)) / len(gold_set)


# -- abstention ----------------------------------------------------------------------------


def abstention_scores(pairs: Iterable[tuple[bool, bool]]) -> dict[str, float | None]:
    """Scores for ``(expect_abstain, abstained)`` pairs; the positive class is "should abstain".

    F1 is 2TP / (2TP + FP + FN), which is 0 (not undefined) when the system never abstains but
    should have. The two rates are the issue's failure modes: abstaining when an answer was there,
    and answering when it was not.
    """
    tp = fp = fn = tn = 0
    for expected, abstained in pairs:
        if expected and abstained:
            tp += 1
        elif abstained:
            fp += 1
        elif expected:
            fn += 1
        else:
            tn += 1
    return {
        "abstain_precision": _ratio(tp, tp + fp),
        "abstain_recall": _ratio(tp, tp + fn),
        "abstain_f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "abstained_when_answerable": _ratio(fp, fp + tn),
        "answered_when_unanswerable": _ratio(fn, fn + tp),
    }


# -- latency -------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (numpy's default linear interpolation), None for no values."""
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=float), q))


# -- per question and per run --------------------------------------------------------------


def score_question(
    *,
    answer: str,
    abstained: bool,
    cited_article_ids: Sequence[str],
    ranked_article_ids: Sequence[str],
    context_article_ids: Sequence[str],
    gold_answers: Sequence[str],
    gold_article_ids: Sequence[str],
    choices: Sequence[str] | None,
    answer_index: Sequence[int] | None,
    expect_abstain: bool,
    cited_quotes: Sequence[str] = (),
) -> dict[str, Any]:
    """Every per-question value ``summarise`` aggregates (quote integrity is added by the runner)."""
    answerable = not expect_abstain
    scores: dict[str, Any] = {}
    for k in HIT_KS:
        scores[f"hit@{k}"] = hit_at_k(ranked_article_ids, gold_article_ids, k) if answerable else None
    scores[f"rr@{MRR_K}"] = reciprocal_rank(ranked_article_ids, gold_article_ids) if answerable else None
    gold_seen = any(a in set(gold_article_ids) for a in context_article_ids)
    scores["gold_in_context"] = gold_seen if answerable and gold_article_ids else None

    said = "" if abstained else answer
    scores["answer_contains"] = contains_answer(said, gold_answers) if answerable else None
    scores["answer_f1"] = round(best_f1(said, gold_answers), 4) if answerable else None
    multiple_choice = answerable and bool(choices) and bool(answer_index)
    chosen = choose_option(said, choices or []) if multiple_choice else None
    scores["mc_chosen"] = chosen
    scores["mc_correct"] = (chosen is not None and chosen in (answer_index or [])) if multiple_choice else None

    cites = answerable and not abstained and bool(gold_article_ids)
    precision = citation_precision(cited_article_ids, gold_article_ids, cited_quotes, gold_answers) if cites else None
    scores["citation_precision"] = None if precision is None else round(precision, 4)
    recall = citation_recall(cited_article_ids, gold_article_ids) if cites else None
    scores["citation_recall"] = None if recall is None else round(recall, 4)
    scores["abstention_correct"] = abstained == expect_abstain
    return scores


def summarise(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """All run-level metrics from per-question results (the runner's JSON objects).

    Averages are macro (per question) over the questions where the metric applies; ``n_*``
    fields say how many that was. Generation latency is over questions where the model was
    called (generate > 0), verification latency over questions that were checked (verify > 0):
    a gated abstention is neither.
    """
    scores = [r.get("scores", {}) for r in results]
    timings = [r.get("timings_ms", {}) for r in results]
    expect = [bool(r.get("gold", {}).get("expect_abstain")) for r in results]
    summary: dict[str, Any] = {
        "n_questions": len(results),
        "n_answerable": expect.count(False),
        "n_unanswerable": expect.count(True),
        "n_abstained": sum(1 for r in results if r.get("abstained")),
        "n_errors": sum(1 for r in results if r.get("error")),
    }
    for k in HIT_KS:
        summary[f"retrieval_hit@{k}"] = _mean(s.get(f"hit@{k}") for s in scores)
    summary[f"retrieval_mrr@{MRR_K}"] = _mean(s.get(f"rr@{MRR_K}") for s in scores)
    summary["gold_in_context"] = _mean(s.get("gold_in_context") for s in scores)
    summary["n_retrieval"] = _count(s.get("hit@1") for s in scores)
    summary["answer_contains"] = _mean(s.get("answer_contains") for s in scores)
    summary["answer_f1"] = _mean(s.get("answer_f1") for s in scores)
    summary["mc_accuracy"] = _mean(s.get("mc_correct") for s in scores)
    summary["n_multiple_choice"] = _count(s.get("mc_correct") for s in scores)
    summary["citation_precision"] = _mean(s.get("citation_precision") for s in scores)
    summary["citation_recall"] = _mean(s.get("citation_recall") for s in scores)
    summary["n_cited_answers"] = _count(s.get("citation_recall") for s in scores)
    summary.update(abstention_scores(zip(expect, (bool(r.get("abstained")) for r in results), strict=True)))
    summary["citations"] = sum(len(r.get("citations") or []) for r in results)
    summary["quote_mismatches"] = sum(int(s.get("quote_mismatches") or 0) for s in scores)
    summary["unresolved_markers"] = sum(int(s.get("unresolved_markers") or 0) for s in scores)
    for phase in ("total", "retrieve", "generate", "verify"):
        values = [float(t[phase]) for t in timings if t.get(phase) is not None]
        if phase in ("generate", "verify"):
            values = [v for v in values if v > 0]
        for q in (50, 95):
            value = percentile(values, q)
            summary[f"latency_{phase}_p{q}_ms"] = None if value is None else round(value, 1)
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()}


def _mean(values: Iterable[float | bool | None]) -> float | None:
    kept = [float(v) for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def _count(values: Iterable[Any]) -> int:
    return sum(1 for v in values if v is not None)


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


# Per-question values compared between two engines over the same questions.
PAIRED = ("answer_contains", "mc_correct", "abstention_correct")


def paired_bootstrap(
    a: Sequence[float], b: Sequence[float], reps: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """mean(a) - mean(b) and its 95% interval, resampling the paired questions with replacement."""
    if len(a) != len(b) or not a:
        raise ValueError("paired samples must be non-empty and of equal length")
    rng = random.Random(seed)
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    n = len(diffs)
    means = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(reps))
    return sum(diffs) / n, means[int(0.025 * reps)], means[min(reps - 1, int(0.975 * reps))]


def paired_differences(
    results: Sequence[Mapping[str, Any]], baseline: Sequence[Mapping[str, Any]]
) -> dict[str, tuple[int, float, float, float]]:
    """For each of ``PAIRED``: (questions compared, difference, low, high) over questions both scored."""
    theirs = {r["id"]: r.get("scores", {}) for r in baseline}
    out: dict[str, tuple[int, float, float, float]] = {}
    for metric in PAIRED:
        pairs = [
            (float(r["scores"][metric]), float(theirs[r["id"]][metric]))
            for r in results
            if r.get("scores", {}).get(metric) is not None and theirs.get(r["id"], {}).get(metric) is not None
        ]
        if pairs:
            out[metric] = (len(pairs), *paired_bootstrap([p[0] for p in pairs], [p[1] for p in pairs]))
    return out
