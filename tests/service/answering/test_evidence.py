"""Evidence selection with the real embedder over a real article store (no LLM)."""

from __future__ import annotations

from service.answering.evidence import EvidencePolicy, SentenceVectors, lexical_scores, select_evidence, terms


def test_rare_question_terms_weigh_more_than_common_ones() -> None:
    sentences = ["the cat sat on the mat", "the memo was reviewed by the FT", "the dog ran"]
    scores = lexical_scores("the FT memo", sentences)
    assert scores.index(max(scores)) == 1
    assert scores[0] < 0.2  # "the" alone is in every sentence: worth little


def test_chinese_text_is_matched_by_character_pairs() -> None:
    assert "阿里" in terms("阿里巴巴被指控")
    scores = lexical_scores("阿里巴巴", ["华盛顿指控阿里巴巴", "今天天气很好"])
    assert scores[0] > scores[1] == 0.0


def test_selection_fits_the_budget_and_quotes_the_article_exactly(seed_engine) -> None:  # type: ignore[no-untyped-def]
    engine = seed_engine
    question = "Which newspaper reviewed the White House memo?"
    passages = engine.find_passages(question, 8)
    vectors = SentenceVectors(engine.embed_model.get_text_embedding_batch)
    counter = engine.token_counter
    for budget in (40, 120):
        evidence = select_evidence(
            question, engine.retriever.query_vector(question), passages, vectors, counter, EvidencePolicy(budget)
        )
        assert evidence, "the seed article answers this question"
        assert sum(counter.count([e.text for e in evidence])) <= budget
        assert [e.n for e in evidence] == list(range(1, len(evidence) + 1))
        for e in evidence:
            assert e.passage.article.article.text[e.start : e.end] == e.text
    assert any("FT" in e.text or "Financial Times" in e.text for e in evidence)


def test_a_pick_brings_only_the_sentence_right_before_it(seed_engine) -> None:  # type: ignore[no-untyped-def]
    from service.answering.evidence import _candidate_sentences, _previous

    engine = seed_engine
    passages = engine.find_passages("Which newspaper reviewed the White House memo?", 8)
    spans_of: dict[str, list[tuple[int, int]]] = {}
    candidates = _candidate_sentences(passages, spans_of)
    index_of = {(p.article.article.id, s): i for i, (p, s, _, _) in enumerate(candidates)}
    for i, candidate in enumerate(candidates):
        text = candidate[0].article.article.text
        j = _previous(candidate, index_of, spans_of[candidate[0].article.article.id])
        if j is not None:
            assert candidates[j][2] <= candidate[1] and not text[candidates[j][2] : candidate[1]].strip(), i
