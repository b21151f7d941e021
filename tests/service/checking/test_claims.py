"""Cutting a text into claims: sentences with their offsets, and the limits."""

from __future__ import annotations

import pytest

from service.checking.claims import UncheckableText, split_claims


def test_claims_are_the_sentences_with_their_offsets() -> None:
    text = "  Alibaba denied the claims. The memo came out in November!\n\n--\nHuawei is blacklisted."
    claims = split_claims(text, max_claims=10, max_chars=200)
    assert [c.text for c in claims] == [
        "Alibaba denied the claims.",
        "The memo came out in November!",
        "Huawei is blacklisted.",
    ]
    assert all(text[c.start : c.end] == c.text for c in claims)


def test_claims_of_a_script_without_spaces() -> None:
    text = "阿里巴巴否认了指控。白宫发布了备忘录。"
    claims = split_claims(text, max_claims=10, max_chars=200)
    assert [c.text for c in claims] == ["阿里巴巴否认了指控。", "白宫发布了备忘录。"]


def test_too_many_claims_or_too_long_a_claim_is_refused() -> None:
    with pytest.raises(UncheckableText, match="3 claims"):
        split_claims("One. Two. Three.", max_claims=2, max_chars=200)
    with pytest.raises(UncheckableText, match="offset 6"):
        split_claims("Fine. " + "word " * 50 + "end.", max_claims=5, max_chars=100)
