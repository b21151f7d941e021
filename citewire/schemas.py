"""The HTTP API's wire models that clients read: one definition, used by the server and by ``citewire.client``.

Pure pydantic (no service imports), so a client installs and imports without the service's heavy parts.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

ClaimLabel = Literal["supported", "contradicted", "unmentioned"]


class CheckSpan(BaseModel):
    """A sentence of an article that bears on a claim: exactly article text[start:end]."""

    article_id: str
    title: str
    source: str | None
    url: str | None
    published_at: str | None
    chunk_id: str = Field(description="The retrieved chunk the sentence was found in.")
    quote: str = Field(description="The sentence: article text[start:end].")
    start: int
    end: int
    support: float = Field(description="The verifier's P(true): how surely this sentence states the claim.")
    contradiction: float = Field(description="The verifier's P(false): how surely this sentence says otherwise.")


class ClaimCheck(BaseModel):
    text: str = Field(description="The claim: text[start:end] of the checked text.")
    start: int = Field(description="Offset of the claim in the checked text.")
    end: int
    label: ClaimLabel = Field(
        description="supported: an article states it; contradicted: an article says otherwise; unmentioned: neither."
    )
    support: float = Field(description="The best support score among the sentences checked, in [0, 1].")
    contradiction: float = Field(description="The best contradiction score among the sentences checked, in [0, 1].")
    supporting: list[CheckSpan] = Field(description="Sentences that state the claim, best first.")
    contradicting: list[CheckSpan] = Field(description="Sentences that say otherwise, best first.")


class CheckTimings(BaseModel):
    retrieve: float
    verify: float
    total: float


class CheckResponse(BaseModel):
    score: float = Field(description="Overall grounding: the claims' mean support score, in [0, 1].")
    supported: int = Field(description="Claims labelled supported.")
    contradicted: int
    unmentioned: int
    claims: list[ClaimCheck] = Field(description="The text's claims (its sentences), in order.")
    timings_ms: CheckTimings
