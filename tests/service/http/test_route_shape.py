"""Every documented route is a thin handler with a user-facing docstring and a declared response model."""

from __future__ import annotations

from fastapi.routing import APIRoute

from service.http.routes import answers, articles, evaluation, openai, service

ROUTERS = (service.router, answers.router, openai.router, articles.read, articles.write, evaluation.router)


def test_every_route_in_the_schema_has_a_docstring_and_a_response_model() -> None:
    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute) and r.include_in_schema]
    assert len(routes) >= 15
    for route in routes:
        assert (route.endpoint.__doc__ or "").strip(), f"{route.path} has no docstring"
        assert route.response_model is not None, f"{route.path} declares no response model"
