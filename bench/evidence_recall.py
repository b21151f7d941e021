"""Evidence recall: how often the gold evidence survives evidence-sentence selection, per token budget.

No model is loaded. For every development question of RealTime QA and RGB (en_fact), the engine's own
retrieval runs as ``EvidenceEngine.draft`` runs it (``find_passages`` with a pool of
``max(top_k, evidence_passages)``, ``anchor=question``, as of the question's day when it has one; the
relevance gate, then ``p.relevant(min_relevance)``), and ``select_evidence`` picks the sentences under
each policy. A question the gate turns away is shown nothing, and counts as a miss everywhere.

Per setting and per split (``split_questions``: tune / check), two recalls over the questions:

- ``answer``: the selected sentences, joined, contain an accepted answer (``contains_answer``:
  normalised text, on word boundaries);
- ``gold art.``: some selected sentence comes from a gold article (an article the store keeps under a
  twin's id, the same text ingested once, counts by that id);

and ``tokens``: the mean embedder tokens shown, over all questions of the dataset (0 when gated).
Settings: the default ``EvidencePolicy`` at budgets 50..400 embedder tokens (its weights for lexical
overlap, passage cosine and neighbours' scores; the sentence before the best pick; at most 12
sentences of at most 80 tokens each), then at 200 without the sentence before the best pick
(``neighbours`` 0), with lexical weight 0 and 1, and with passage or neighbour weight 0; last, the
ceilings: every sentence of the passages up to 80 tokens, and every sentence whatever its length
(budget = infinity).

Corpora: all 969 RGB snippets; for RealTime QA, the development corpus of ``bench/eval_corpus.py`` for
every question's quiz date (all gold articles plus the distractors of those dates). Each is indexed
with the project's ingest into ``--data-dir``/<dataset>; a later run with the same corpus and settings
finds the store full and skips indexing.

    python -m bench.evidence_recall                  # both sets; 15-30 min to index RealTime QA on first run
    python -m bench.evidence_recall --datasets rgb_en_fact --limit 20

The numbers are printed as one table per dataset and written to ``bench/baselines/evidence_recall.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from llama_index.core.llms import MockLLM
from tqdm import tqdm

from bench.common import REPO_ROOT, command_line, format_table, machine_info, print_header, settings_with
from bench.eval_corpus import build_corpus
from index.filters import ArticleFilter
from service.answering.evidence import EvidencePolicy, select_evidence
from service.answering.evidence_engine import EvidenceEngine
from service.answering.rules_engine import with_choices
from service.components import Components, build_components, build_engine, configure_for_serving
from service.evaluation.dataset import EvalQuestion, Split, load_questions, split_questions
from service.evaluation.metrics import contains_answer
from service.evaluation.runner import index_corpus
from service.settings import Settings

EVAL_DIR = Path(__file__).resolve().parents[2] / "shared" / "eval"
DATASETS = ("realtimeqa", "rgb_en_fact")
BUDGETS = (50, 100, 150, 200, 300, 400)
SPLITS: tuple[Split, ...] = ("tune", "check")
OUT = REPO_ROOT / "bench" / "baselines" / "evidence_recall.json"
DEFAULT_DATA_DIR = Path("/tmp/citewire-bench/evidence-recall")
_UNLIMITED = 10**9
_MARKER = "evidence_recall_store.json"  # in the data dir: what was indexed there, to skip it next time


def settings_rows() -> list[tuple[str, EvidencePolicy]]:
    """The policies measured, labelled; the engine's default is ``EvidencePolicy(budget_tokens=200)``."""
    rows = [(f"budget {b}", EvidencePolicy(budget_tokens=b)) for b in BUDGETS]
    rows += [
        ("budget 200, neighbours 0", EvidencePolicy(budget_tokens=200, neighbours=0)),
        ("budget 200, lexical 0", EvidencePolicy(budget_tokens=200, lexical_weight=0.0)),
        ("budget 200, lexical 1.0", EvidencePolicy(budget_tokens=200, lexical_weight=1.0)),
        ("budget 200, passage weight 0", EvidencePolicy(budget_tokens=200, passage_weight=0.0)),
        (
            "all sentences <= 80 tok",
            EvidencePolicy(budget_tokens=_UNLIMITED, max_sentences=_UNLIMITED),
        ),
        (
            "all sentences (ceiling)",
            EvidencePolicy(budget_tokens=_UNLIMITED, max_sentences=_UNLIMITED, max_sentence_tokens=_UNLIMITED),
        ),
    ]
    return rows


@dataclass
class Outcome:
    """One question under one policy."""

    answer: bool
    gold: bool
    tokens: int


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.evidence_recall", description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=EVAL_DIR, help="folder with realtimeqa/ and rgb_en_fact/")
    parser.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="stores go to <data-dir>/<dataset>, kept for re-use"
    )
    parser.add_argument("--datasets", default=",".join(DATASETS), help=f"comma-separated, of {', '.join(DATASETS)}")
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions of each set (default: all)")
    parser.add_argument(
        "--with-choices", action="store_true", help="ask with the multiple-choice options appended (eval's flag)"
    )
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the JSON numbers")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    if unknown := [n for n in names if n not in DATASETS]:
        parser.error(f"unknown dataset(s) {', '.join(unknown)} (use {', '.join(DATASETS)})")
    for name in names:
        if not (args.eval_dir / name / "articles.jsonl").is_file():
            parser.error(f"{args.eval_dir / name} has no articles.jsonl (the shared evaluation data is not here)")

    command = command_line("bench.evidence_recall")
    machine = machine_info()
    print_header("evidence recall: gold evidence in the selected sentences, no model", command, machine)
    results: dict[str, Any] = {}
    for name in names:
        results[name] = run_dataset(name, args.eval_dir / name, args.data_dir / name, args.limit, args.with_choices)
        print()
        print(f"-- {name}: {results[name]['summary']}")
        print(format_table(TABLE_HEADERS, table_rows(results[name]["rows"])))

    payload = {
        "benchmark": "evidence_recall",
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": command,
        "machine": machine,
        "with_choices": args.with_choices,
        "limit": args.limit or None,
        "datasets": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nresults : {args.out}")
    return 0


TABLE_HEADERS = [
    "setting",
    "tune answer",
    "tune gold art.",
    "check answer",
    "check gold art.",
    "tokens",
]


def table_rows(rows: dict[str, Any]) -> list[list[object]]:
    return [
        [
            label,
            *(f"{row[split][metric]:.1%}" for split in SPLITS for metric in ("answer_recall", "gold_article_recall")),
            row["mean_tokens"],
        ]
        for label, row in rows.items()
    ]


def run_dataset(name: str, eval_dir: Path, data_dir: Path, limit: int, ask_choices: bool) -> dict[str, Any]:
    """Index (or re-use) the dataset's corpus, then score every policy on every question."""
    settings = settings_with(data_dir, answerer="evidence")
    components = build_components(settings)
    questions = load_questions(eval_dir / "questions.jsonl")
    corpus, counts = corpus_lines(name, eval_dir, len(questions))
    stored_as = index_once(corpus, components, data_dir, settings)
    configure_for_serving()  # queries as the server runs them: torch on one thread
    engine = build_engine(components, llm=MockLLM())  # retrieval and selection only: no model is asked
    assert isinstance(engine, EvidenceEngine), "settings_with(answerer='evidence') builds the evidence engine"
    if limit:
        questions = questions[:limit]
    policies = settings_rows()
    by_split: dict[str, list[dict[str, Outcome]]] = {}
    gated: dict[str, int] = {}
    for split in SPLITS:
        asked = split_questions(questions, split)
        scored = [
            score_question(engine, q, policies, stored_as, ask_choices)
            for q in tqdm(asked, desc=f"{name} {split}", unit="q")
        ]
        missed = {label: Outcome(False, False, 0) for label, _ in policies}  # gated: nothing shown
        by_split[split] = [o if o is not None else missed for o in scored]
        gated[split] = sum(1 for o in scored if o is None)
    every = [o for outcomes in by_split.values() for o in outcomes]
    rows: dict[str, Any] = {}
    for label, policy in policies:
        row: dict[str, Any] = {"policy": _policy_json(policy)}
        for split in SPLITS:
            outcomes = [o[label] for o in by_split[split]]
            n = len(outcomes) or 1
            row[split] = {
                "n": len(outcomes),
                "answer_recall": round(sum(o.answer for o in outcomes) / n, 4),
                "gold_article_recall": round(sum(o.gold for o in outcomes) / n, 4),
            }
        row["mean_tokens"] = round(sum(o[label].tokens for o in every) / (len(every) or 1), 1)
        rows[label] = row
    summary = (
        f"{components.store.count_articles()} articles stored of {len(corpus)} "
        f"({', '.join(f'{v} {k}' for k, v in counts.items())}), {components.store.count_chunks()} chunks; "
        f"questions tune {len(by_split['tune'])}, check {len(by_split['check'])}; "
        f"shown nothing (gate) tune {gated['tune']}, check {gated['check']}"
    )
    return {
        "summary": summary,
        "corpus": {
            "articles_in_file": len(corpus),
            **counts,
            "stored_articles": components.store.count_articles(),
            "stored_chunks": components.store.count_chunks(),
        },
        "engine": {
            "embed_model": settings.embed_model,
            "top_k": engine.top_k,
            "evidence_passages": engine.evidence_passages,
            "min_relevance": engine.min_relevance,
            "chunk_tokens": settings.chunk_tokens,
            "chunk_overlap_tokens": settings.chunk_overlap_tokens,
            "as_of_question_date": True,
            "with_choices": ask_choices,
        },
        "gated": gated,
        "rows": rows,
    }


def corpus_lines(name: str, eval_dir: Path, n_questions: int) -> tuple[list[str], dict[str, int]]:
    """The articles file's lines to index: RGB whole, RealTime QA's development corpus for every question."""
    if name == "realtimeqa":
        return build_corpus(eval_dir / "questions.jsonl", eval_dir / "articles.jsonl", n_questions)
    lines = [line for line in (eval_dir / "articles.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    return lines, {"all": len(lines)}


def index_once(corpus: list[str], components: Components, data_dir: Path, settings: Settings) -> dict[str, str]:
    """Index the corpus unless the store already holds exactly it (same lines, same embedder and chunking).

    Returns the ids stored under a twin's id (same text, ingested once) -> that id. The corpus file is
    written into the data dir (outside the repository), as ``citewire eval --corpus`` would read it."""
    fingerprint = hashlib.sha256(
        json.dumps(
            [settings.embed_model, settings.chunk_tokens, settings.chunk_overlap_tokens, settings.collection, corpus]
        ).encode("utf-8")
    ).hexdigest()
    marker = data_dir / _MARKER
    if marker.is_file():
        done = json.loads(marker.read_text(encoding="utf-8"))
        if done.get("fingerprint") == fingerprint and done.get("articles") == components.store.count_articles():
            print(f"store   : {data_dir} already holds this corpus ({done['articles']} articles): not indexed again")
            return dict(done["duplicate_of"])
    path = data_dir / "corpus.jsonl"
    path.write_text("\n".join(corpus) + "\n", encoding="utf-8")
    bar = tqdm(total=len(corpus), desc=f"index {data_dir.name}", unit="article")
    report = index_corpus(path, components, on_article=lambda *_: bar.update())
    bar.close()
    marker.write_text(
        json.dumps(
            {
                "fingerprint": fingerprint,
                "articles": components.store.count_articles(),
                "duplicate_of": report.ingest.duplicate_of,
            }
        ),
        encoding="utf-8",
    )
    return dict(report.ingest.duplicate_of)


def score_question(
    engine: EvidenceEngine,
    q: EvalQuestion,
    policies: Sequence[tuple[str, EvidencePolicy]],
    stored_as: dict[str, str],
    ask_choices: bool,
) -> dict[str, Outcome] | None:
    """Retrieve once as ``EvidenceEngine.draft`` does, then select under every policy; None when the
    relevance gate turns the question away (the engine abstains and the model is shown nothing)."""
    where = ArticleFilter(as_of=q.as_of) if q.as_of is not None else None
    asked = with_choices(q.question, q.choices or () if ask_choices else ())
    pool = max(engine.top_k, engine.evidence_passages)
    retrieved = engine.find_passages(asked, pool, where, anchor=q.question)
    if not retrieved or max(p.score for p in retrieved) < engine.min_relevance:
        return None
    relevant = [p for p in retrieved if p.relevant(engine.min_relevance)]
    counter = engine.token_counter
    assert counter is not None, "evidence budgets are counted in the embedder's tokens"
    vector = engine.retriever.query_vector(asked)
    gold = {stored_as.get(g, g) for g in q.gold_article_ids}
    out: dict[str, Outcome] = {}
    for label, policy in policies:
        evidence = select_evidence(asked, vector, relevant, engine.vectors, counter, policy)
        texts = [e.text for e in evidence]
        out[label] = Outcome(
            answer=contains_answer(" ".join(texts), q.answers),
            gold=any(e.passage.article.article.id in gold for e in evidence),
            tokens=sum(counter.count(texts)) if texts else 0,
        )
    return out


def _policy_json(policy: EvidencePolicy) -> dict[str, Any]:
    """The policy's fields, with the unlimited ones as null (JSON has no infinity)."""
    return {k: (None if isinstance(v, int) and v >= _UNLIMITED else v) for k, v in asdict(policy).items()}


if __name__ == "__main__":
    raise SystemExit(main())
