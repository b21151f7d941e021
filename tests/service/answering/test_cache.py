from dataclasses import dataclass, field

from service.answering.cache import AnswerCache, served_from_cache


@dataclass
class _Answer:
    text: str
    timings_ms: dict[str, float] = field(default_factory=dict)


def test_least_recently_used_answers_go_first() -> None:
    cache = AnswerCache(capacity=2)
    cache.put("a", _Answer("A"))
    cache.put("b", _Answer("B"))
    assert cache.get("a") is not None  # a is now the most recent
    cache.put("c", _Answer("C"))
    assert cache.get("b") is None
    assert cache.get("a") is not None and cache.get("c") is not None


def test_zero_capacity_keeps_nothing() -> None:
    cache = AnswerCache(capacity=0)
    cache.put("a", _Answer("A"))
    assert cache.get("a") is None


def test_a_served_answer_reports_no_model_time() -> None:
    served = served_from_cache(_Answer("A", {"generate": 900.0, "total": 1000.0}), 1.5)
    assert served.timings_ms == {"retrieve": 0.0, "generate": 0.0, "verify": 0.0, "total": 1.5}
