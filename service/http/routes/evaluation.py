"""Batch evaluation over HTTP: POST questions as a job, poll it for progress, results and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from service.evaluation.dataset import QuestionFormatError, question_from_record
from service.evaluation.jobs import EvalOptions, evaluation_job
from service.http.auth import GuardedRoute
from service.http.schemas import EvalJob, EvalRequest, problems
from service.http.state import State, require_reader, require_writer
from service.jobs.queue import Job

router = APIRouter(tags=["evaluation"], route_class=GuardedRoute)


@router.post(
    "/v1/eval",
    response_model=EvalJob,
    status_code=202,
    dependencies=[Depends(require_writer)],
    responses=problems(400, 401, 413, 422, 503),
)
def start_eval(body: EvalRequest, state: State) -> EvalJob:
    """Start a batch evaluation over the indexed articles; poll GET /v1/eval/{id} for progress."""
    try:
        questions = [question_from_record(record) for record in body.questions]
    except QuestionFormatError as exc:
        raise HTTPException(status_code=422, detail=f"bad question: {exc}") from exc
    if len({q.id for q in questions}) != len(questions):
        raise HTTPException(status_code=422, detail="question ids must be unique")
    options = EvalOptions(**body.model_dump(exclude={"questions"}))
    try:
        job = state.jobs.submit(
            body.engine, evaluation_job(state.engine, questions, options, state.responder.gate), len(questions)
        )
    except OverflowError as exc:
        raise HTTPException(status_code=503, detail=str(exc), headers={"Retry-After": "60"}) from exc
    return _eval_job(job)


@router.get(
    "/v1/eval/{job_id}", response_model=EvalJob, dependencies=[Depends(require_reader)], responses=problems(401, 404)
)
def get_eval(job_id: str, state: State) -> EvalJob:
    """An evaluation job's status, its results so far and, once done, its summary metrics."""
    job = state.jobs.get(job_id)
    if job is None:
        raise HTTPException(status_code=404, detail=f"no evaluation job with id {job_id!r}")
    return _eval_job(job)


def _eval_job(job: Job) -> EvalJob:
    return EvalJob(
        id=job.id,
        status=job.status,  # type: ignore[arg-type]
        engine=job.kind,
        done=job.done,
        total=job.total,
        error=job.error,
        metrics=job.summary,
        results=list(job.results),
    )
