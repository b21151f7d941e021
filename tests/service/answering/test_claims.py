from service.answering.claims import Claim, is_refusal, read_claims
from service.answering.grammar import answer_grammar


def test_claims_carry_the_ids_cited_after_them() -> None:
    raw = "FT reviewed the memo [2]. Alibaba denied it [3][1]."
    assert read_claims(raw, 3) == [Claim("FT reviewed the memo.", (2,)), Claim("Alibaba denied it.", (3, 1))]


def test_ids_that_name_no_evidence_are_dropped_and_text_without_markers_cites_nothing() -> None:
    raw = "FT reviewed the memo [7]. It was secret"
    assert read_claims(raw, 3) == [Claim("FT reviewed the memo.", ()), Claim("It was secret", ())]


def test_comma_lists_and_full_width_stops_are_read() -> None:
    assert read_claims("金融时报审阅了备忘录[1, 2]。", 2) == [Claim("金融时报审阅了备忘录。", (1, 2))]


def test_refusal() -> None:
    assert is_refusal("NOT IN SOURCES")
    assert is_refusal("  ")
    assert not is_refusal("FT reviewed the memo [1].")


def test_grammar_lists_exactly_the_evidence_ids() -> None:
    grammar = answer_grammar(3)
    assert '"3" | "2" | "1"' in grammar
    assert '"4"' not in grammar
    assert "NOT IN SOURCES" in grammar
