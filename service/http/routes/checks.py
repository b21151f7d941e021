"""Claims in, verdicts out: /v1/check labels each sentence of a text by what the articles say."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request

from citewire.schemas import CheckResponse
from service.checking.claims import UncheckableText
from service.http.auth import GuardedRoute
from service.http.delivery import model_work
from service.http.schemas import CheckRequest, problems
from service.http.state import State, require_reader

router = APIRouter(tags=["checks"], dependencies=[Depends(require_reader)], route_class=GuardedRoute)


@router.post("/v1/check", response_model=CheckResponse, responses=problems(400, 401, 413, 422, 503, 504))
async def check(body: CheckRequest, state: State, http: Request) -> CheckResponse:
    """Check each claim (sentence) of a text against the articles: supported, contradicted or unmentioned,
    with the exact sentences that support or contradict it and the verifier's scores.

    Waits for the model like /v1/query (same queue, deadline, 503 and 504)."""
    where = body.filters.to_filter() if body.filters is not None else None
    try:
        return await model_work(http, state.checker.check, body.text, where)
    except UncheckableText as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
