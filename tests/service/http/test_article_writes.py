"""The articles API with real parts (on-disk Chroma, BM25, MiniLM; the model is scripted): adding,
uploading, replacing, deleting and listing articles, duplicates, jobs, access control and limits."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from index.embedding import Embedder
from index.loaders import articles_from_bytes
from service.components import build_components, build_engine
from service.http.app import create_app
from service.settings import Settings
from tests.conftest import SEED_PATH
from tests.index.test_html import CANONICAL, FURNITURE, NEWS_PAGE, PARAGRAPHS
from tests.service.fakes import ScriptedLLM

KEY = "s3cret-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
STORY = (
    "The city council approved a new tram line on Monday. The line will connect the harbour with the "
    "university and open in 2027, the mayor said. Construction starts in spring."
)


@dataclass
class Service:
    client: TestClient
    settings: Settings
    data_dir: Path


def _service(tmp: Path, embedder: Embedder, **overrides: Any) -> Iterator[Service]:
    settings = Settings(data_dir=tmp, **overrides)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("service.components.load_embedder", lambda name, batch_size=32: embedder)
        components = build_components(settings)
    app = create_app(settings, engine=build_engine(components, llm=ScriptedLLM()), components=components)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Service(client, settings, tmp)


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, restore_torch_threads: None) -> Iterator[Service]:
    yield from _service(
        tmp_path_factory.mktemp("articles-api"),
        embedder,
        api_key=KEY,
        sync_ingest_articles=3,
        max_batch_articles=50,
        max_upload_bytes=20_000,
        max_request_bytes=200_000,
        max_article_chars=50_000,
    )


def _post(svc: Service, payload: Any, **kw: Any) -> Any:
    return svc.client.post("/v1/articles", json=payload, headers=AUTH, **kw)


def _article(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"story-{i}",
        "title": f"Story {i}",
        "text": f"{STORY} Story number {i} adds its own detail.",
        **extra,
    }


def _assert_4xx_with_detail(response: Any, status: int | None = None) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    if status is not None:
        assert response.status_code == status, response.text
    assert response.json()["detail"]


# -- add, replace, duplicates -----------------------------------------------------------------------


def test_one_article_is_created_then_unchanged_then_replaced(svc: Service) -> None:
    first = _post(svc, _article(1, source="City News", author="A. Writer"))
    assert first.status_code == 200, first.text
    assert first.json()["results"] == [
        {"id": "story-1", "title": "Story 1", "outcome": "created", "duplicate_of": None}
    ]
    assert (
        _post(svc, _article(1, source="City News", author="A. Writer")).json()["results"][0]["outcome"] == "unchanged"
    )
    changed = _article(1, source="City News", text=STORY + " The budget is 300 million euros.")
    assert _post(svc, changed).json()["results"][0]["outcome"] == "replaced"
    stored = svc.client.get("/v1/articles/story-1").json()
    assert "300 million" in stored["text"] and stored["source"] == "City News"


def test_the_same_text_under_another_name_is_stored_once(svc: Service) -> None:
    _post(svc, _article(2))
    copy = {**_article(2), "id": "story-2-copy", "title": "STORY  2"}
    copy["text"] = "  " + copy["text"].upper().replace(" ", "  ") + "\n"  # spacing and case differ
    result = _post(svc, copy).json()["results"][0]
    assert result == {"id": "story-2-copy", "title": "STORY  2", "outcome": "unchanged", "duplicate_of": "story-2"}
    assert svc.client.get("/v1/articles/story-2-copy").status_code == 404
    untitled = {**_article(2), "id": "story-2-untitled", "title": ""}  # its title is then the text's first line
    assert _post(svc, untitled).json()["results"][0]["duplicate_of"] == "story-2"


def test_the_same_text_under_another_headline_is_another_article(svc: Service) -> None:
    """A paywall or newsletter template scraped under many headlines: each headline is its own page."""
    _post(svc, _article(3))
    other = {**_article(3), "id": "story-3-other", "title": "Another headline"}
    result = _post(svc, other).json()["results"][0]
    assert result == {"id": "story-3-other", "title": "Another headline", "outcome": "created", "duplicate_of": None}
    assert svc.client.get("/v1/articles/story-3-other").json()["title"] == "Another headline"


def test_the_same_url_with_new_text_replaces_the_old_version(svc: Service) -> None:
    url = "https://news.example/tram-line"
    a = _post(svc, {"url": url, "title": "Tram line", "text": STORY}).json()["results"][0]
    b = _post(svc, {"url": url, "title": "Tram line", "text": STORY + " Update: opening moved to 2028."}).json()
    assert a["outcome"] == "created" and b["results"][0] == {**a, "outcome": "replaced"}


def test_put_stores_under_the_path_id_and_refuses_a_different_body_id(svc: Service) -> None:
    response = svc.client.put("/v1/articles/put-1", json={"title": "Put", "text": STORY + " Put."}, headers=AUTH)
    assert response.status_code == 200 and response.json()["outcome"] == "created"
    clash = svc.client.put("/v1/articles/put-1", json={"id": "other", "text": STORY}, headers=AUTH)
    _assert_4xx_with_detail(clash, 422)
    bad = svc.client.put("/v1/articles/..%2Fetc", json={"text": STORY}, headers=AUTH)
    assert bad.status_code in (404, 422)


def test_delete_removes_an_article_from_both_indexes(svc: Service) -> None:
    _post(svc, _article(9, text="Zebras escaped from the zoo in Quokkaville on Friday evening, keepers said."))
    engine = svc.client.app.state.citewire.engine  # type: ignore[attr-defined]
    assert any(p.article.article.id == "story-9" for p in engine.find_passages("zebras Quokkaville"))
    response = svc.client.delete("/v1/articles/story-9", headers=AUTH)
    assert response.status_code == 200 and response.json() == {"id": "story-9", "deleted": True}
    assert not any(p.article.article.id == "story-9" for p in engine.find_passages("zebras Quokkaville"))
    assert not any(cid.startswith("story-9::") for cid in engine.store.sparse.chunk_ids())  # BM25 too
    assert not engine.store.chunks.get(where={"article_id": "story-9"})["ids"]  # and Chroma
    _assert_4xx_with_detail(svc.client.delete("/v1/articles/story-9", headers=AUTH), 404)


# -- batches and jobs -------------------------------------------------------------------------------


def test_a_small_batch_is_stored_before_the_response(svc: Service) -> None:
    response = _post(svc, {"articles": [_article(i) for i in (20, 21)]})
    assert response.status_code == 200
    assert response.json()["counts"] == {"created": 2, "unchanged": 0, "replaced": 0}


def test_a_large_batch_runs_as_a_job_with_progress(svc: Service) -> None:
    response = _post(svc, {"articles": [_article(i) for i in range(30, 36)]})
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["total"] == 6 and job["status"] in ("queued", "running", "done")
    deadline = time.monotonic() + 60
    while job["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = svc.client.get(f"/v1/jobs/{job['id']}").json()
    assert job["status"] == "done" and job["done"] == 6
    assert job["counts"] == {"created": 6, "unchanged": 0, "replaced": 0}
    assert [r["id"] for r in job["results"]] == [f"story-{i}" for i in range(30, 36)]
    _assert_4xx_with_detail(svc.client.get("/v1/jobs/nope"), 404)


# -- uploads ----------------------------------------------------------------------------------------


def test_upload_of_text_markdown_and_jsonl_files(svc: Service) -> None:
    records = [_article(40)]  # three articles in all: under the sync limit of this app
    files = [
        ("files", ("seed.txt", SEED_PATH.read_bytes(), "text/plain")),
        ("files", ("notes.md", f"# Harbour news\n\n{STORY} Markdown.".encode(), "text/markdown")),
        ("files", ("batch.jsonl", "\n".join(json.dumps(r) for r in records).encode(), "application/jsonl")),
    ]
    response = svc.client.post("/v1/articles/upload", files=files, headers=AUTH)
    assert response.status_code == 200, response.text
    ids = [r["id"] for r in response.json()["results"]]
    assert ids[0] == "seed" and ids[2:] == ["story-40"]
    assert svc.client.get("/v1/articles/seed").json()["title"] == "Chinese giant Alibaba accused by Washington"


def test_upload_of_an_html_page_and_a_legacy_encoded_text(svc: Service) -> None:
    """The page's own metadata, its body without navigation or ads; a cp1251 Russian text read as such."""
    russian = "Центробанк сохранил ключевую ставку\n\nЦентробанк сохранил ставку во вторник, сославшись на инфляцию."
    files = [
        ("files", ("strike.html", NEWS_PAGE.encode("utf-8"), "text/html")),
        ("files", ("rate.txt", (russian * 3).encode("cp1251"), "text/plain")),
    ]
    response = svc.client.post("/v1/articles/upload", files=files, headers=AUTH)
    assert response.status_code == 200, response.text
    page_id, text_id = (r["id"] for r in response.json()["results"])
    page = svc.client.get(f"/v1/articles/{page_id}").json()
    assert (page["title"], page["author"], page["url"]) == (
        "Port strike halts grain exports",
        "Maria Keller",
        CANONICAL,
    )
    assert page["published_at"].startswith("2025-03-14")
    assert page["text"] == "\n".join(PARAGRAPHS)
    assert not any(furniture in page["text"] for furniture in FURNITURE)
    text = svc.client.get(f"/v1/articles/{text_id}").json()
    assert text["title"] == "Центробанк сохранил ключевую ставку" and text["lang"] == "ru"
    assert "сославшись на инфляцию" in text["text"]


def test_an_upload_name_never_reaches_the_filesystem(svc: Service) -> None:
    before = sorted(p.relative_to(svc.data_dir.parent) for p in svc.data_dir.parent.rglob("*") if p.is_file())
    files = [("files", ("../../../../tmp/evil.txt", f"Evil\n\n{STORY} Traversal.".encode(), "text/plain"))]
    response = svc.client.post("/v1/articles/upload", files=files, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["id"] == "evil"
    assert not Path("/tmp/evil.txt").exists()
    after = sorted(p.relative_to(svc.data_dir.parent) for p in svc.data_dir.parent.rglob("*") if p.is_file())
    assert all(str(p).startswith(svc.data_dir.name) for p in set(after) - set(before))


@pytest.mark.parametrize(
    ("name", "data", "status"),
    [
        ("empty.txt", b"", 422),
        ("blank.txt", b"  \n\n ", 422),
        ("picture.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, 422),
        ("nul.txt", b"Title\n\nText with a \x00 NUL byte in the middle of it all.", 422),
        ("program.exe", b"MZ\x90\x00", 422),
        ("big.txt", b"word " * 5000, 413),
        ("broken.jsonl", b'{"text": "ok"}\n{not json', 422),
    ],
)
def test_bad_uploads_get_a_clear_4xx(svc: Service, name: str, data: bytes, status: int) -> None:
    response = svc.client.post("/v1/articles/upload", files=[("files", (name, data, "text/plain"))], headers=AUTH)
    _assert_4xx_with_detail(response, status)


# -- listing ----------------------------------------------------------------------------------------


def test_list_pages_and_filters(svc: Service) -> None:
    _post(
        svc,
        {
            "articles": [
                _article(50, source="Wire A", published_at="2025-01-05"),
                _article(51, source="Wire A", published_at="2025-02-05"),
                _article(52, source="Wire B", published_at="2025-03-05"),
            ]
        },
    )
    body = svc.client.get("/v1/articles", params={"source": "Wire A"}).json()
    assert body["total"] == 2 and [a["id"] for a in body["articles"]] == ["story-51", "story-50"]
    page = svc.client.get("/v1/articles", params={"published_after": "2025-02-01", "limit": 1, "offset": 0}).json()
    assert page["total"] >= 2 and len(page["articles"]) == 1 and page["limit"] == 1
    assert svc.client.get("/v1/articles", params={"offset": 10_000}).json()["articles"] == []
    _assert_4xx_with_detail(svc.client.get("/v1/articles", params={"published_after": "2025-13-45"}), 422)
    _assert_4xx_with_detail(svc.client.get("/v1/articles", params={"limit": 0}), 422)


# -- access control ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer "},
        {"Authorization": KEY},
        {"Authorization": f"Basic {KEY}"},
    ],
)
def test_writes_need_the_key(svc: Service, headers: dict[str, str]) -> None:
    calls = [
        svc.client.post("/v1/articles", json=_article(60), headers=headers),
        svc.client.put("/v1/articles/story-60", json=_article(60), headers=headers),
        svc.client.delete("/v1/articles/story-1", headers=headers),
        svc.client.post(
            "/v1/articles/upload", files=[("files", ("a.txt", b"A\n\n" + STORY.encode()))], headers=headers
        ),
        svc.client.post(
            "/v1/eval", json={"questions": [{"id": "q", "question": "Why?", "answer": "x"}]}, headers=headers
        ),
    ]
    for response in calls:
        _assert_4xx_with_detail(response, 401)
        assert response.headers["www-authenticate"] == "Bearer"
    assert svc.client.get("/v1/articles/story-1").status_code == 200  # nothing was deleted; reads stay open


def test_reads_can_require_the_key_too(tmp_path: Path, embedder: Embedder, restore_torch_threads: None) -> None:
    for guarded in _service(tmp_path, embedder, api_key=KEY, protect_reads=True):
        _assert_4xx_with_detail(guarded.client.get("/v1/articles"), 401)
        _assert_4xx_with_detail(guarded.client.post("/v1/query", json={"question": "Why?"}), 401)
        assert guarded.client.get("/v1/articles", headers=AUTH).status_code == 200
        assert guarded.client.get("/healthz").status_code == 200


def test_without_a_key_setting_writes_need_the_generated_key(
    tmp_path: Path, embedder: Embedder, restore_torch_threads: None
) -> None:
    for closed in _service(tmp_path, embedder):
        _assert_4xx_with_detail(closed.client.post("/v1/articles", json=_article(70)), 401)
        key_file = tmp_path / "api_key"
        assert key_file.stat().st_mode & 0o777 == 0o600
        key = key_file.read_text().strip()
        assert len(key) >= 32
        authorized = {"Authorization": f"Bearer {key}"}
        assert closed.client.post("/v1/articles", json=_article(70), headers=authorized).status_code == 200
    for restarted in _service(tmp_path, embedder):  # the same key next time
        headers = {"Authorization": f"Bearer {key}"}
        assert restarted.client.put("/v1/articles/story-70", json=_article(70), headers=headers).status_code == 200


def test_the_key_is_checked_before_the_body_is_parsed(svc: Service) -> None:
    broken = b'{"text": ' + b"[" * 50_000  # FastAPI would answer 422 after parsing it
    for path in ("/v1/articles", "/v1/articles/upload", "/v1/eval"):
        response = svc.client.post(path, content=broken, headers={"content-type": "application/json"})
        _assert_4xx_with_detail(response, 401)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Origin": "http://127.0.0.1:9999"}, "origin"),
        ({"Origin": "null"}, "origin"),
        ({"Sec-Fetch-Site": "cross-site"}, "cross-site"),
        ({"Sec-Fetch-Site": "same-site"}, "same-site"),
        ({"Origin": "http://rebound.example:8000", "Host": "rebound.example:8000"}, "host name"),
    ],
    ids=["another origin", "an opaque origin", "cross-site", "another port", "DNS rebinding"],
)
def test_a_web_page_of_another_origin_cannot_write_even_with_the_key(
    svc: Service, headers: dict[str, str], reason: str
) -> None:
    response = svc.client.put("/v1/articles/story-80", json=_article(80), headers={**AUTH, **headers})
    _assert_4xx_with_detail(response, 403)
    assert reason in response.json()["detail"]
    assert svc.client.get("/v1/articles/story-80").status_code == 404


def test_the_servers_own_page_and_listed_origins_may_write(
    tmp_path: Path, embedder: Embedder, restore_torch_threads: None
) -> None:
    allowed = "http://127.0.0.1:9999"
    for served in _service(tmp_path, embedder, api_key=KEY, allowed_origins=[allowed]):
        own = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
        for n, origin in enumerate([own, {"Origin": allowed}]):
            headers = {**AUTH, **origin, "Host": "testserver"}
            response = served.client.put(f"/v1/articles/story-{81 + n}", json=_article(81 + n), headers=headers)
            assert response.status_code == (403 if n == 0 else 200), response.text  # 'testserver' is no known host
        served.settings.allowed_hosts.append("testserver")
        response = served.client.put("/v1/articles/story-81", json=_article(81), headers={**AUTH, **own})
        assert response.status_code == 200, response.text


def test_too_many_requests_get_429_with_retry_after(
    tmp_path: Path, embedder: Embedder, restore_torch_threads: None
) -> None:
    for limited in _service(tmp_path, embedder, api_key=KEY, rate_limit_per_minute=6, rate_limit_burst=3):
        statuses = [limited.client.get("/v1/articles").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        refused = limited.client.get("/v1/articles")
        _assert_4xx_with_detail(refused, 429)
        assert 1 <= int(refused.headers["retry-after"]) <= 10
        assert limited.client.get("/healthz").status_code == 200  # probes are not counted
        # The key's holder has a bucket of its own, apart from the address's.
        assert limited.client.get("/v1/articles", headers=AUTH).status_code == 200


# -- limits and hostile input -----------------------------------------------------------------------


def test_a_body_over_the_limit_gets_413_before_it_is_read(svc: Service) -> None:
    huge = {"text": "x" * 300_000}
    _assert_4xx_with_detail(_post(svc, huge), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"text": "'
        for _ in range(30):
            yield b"y" * 10_000
        yield b'"}'

    response = svc.client.post("/v1/articles", content=chunks(), headers={**AUTH, "content-type": "application/json"})
    _assert_4xx_with_detail(response, 413)


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"text": ""}, 422),
        ({"text": "   "}, 422),
        ({"text": "nul \x00 byte"}, 422),
        ({"text": 42}, 422),
        ({"text": STORY, "title": ["a"]}, 422),
        ({"text": STORY, "unknown": 1}, 422),
        ({"id": "../../etc/passwd", "text": STORY}, 422),
        ({"articles": []}, 422),
        ({"articles": [{"text": STORY}] * 51}, 413),
        ({"text": "z" * 50_001}, 413),
        ([1, 2, 3], 422),
        ("just a string", 422),
    ],
)
def test_bad_articles_get_a_clear_4xx(svc: Service, payload: Any, status: int) -> None:
    _assert_4xx_with_detail(_post(svc, payload), status)


def test_malformed_json_gets_422(svc: Service) -> None:
    response = svc.client.post(
        "/v1/articles", content=b'{"text": "unterminated', headers={**AUTH, "content-type": "application/json"}
    )
    _assert_4xx_with_detail(response, 422)


# -- parsing in worker processes --------------------------------------------------------------------


def test_uploads_parsed_in_workers_give_the_articles_parsing_gives(svc: Service) -> None:
    """.txt, .md, .html and .jsonl files go through the parse pool; what is stored is what the loader reads."""
    files = {
        "pool-seed.txt": SEED_PATH.read_bytes() + b"\nAnalysts expect the dispute to last into next year.\n",
        "pool-notes.md": f"# Tram works begin\n\n{STORY} Works begin in May.".encode(),
        "pool-page.html": NEWS_PAGE.encode("utf-8"),
        "pool-feed.jsonl": json.dumps(
            _article(80, source="Wire C", url="https://example.com/2025/04/02/tram")
        ).encode(),
    }
    results: list[dict[str, Any]] = []
    for batch in (["pool-seed.txt", "pool-notes.md", "pool-page.html"], ["pool-feed.jsonl"]):  # at most 3: no job
        upload = [("files", (name, files[name], "application/octet-stream")) for name in batch]
        response = svc.client.post("/v1/articles/upload", files=upload, headers=AUTH)
        assert response.status_code == 200, response.text
        results += response.json()["results"]
    fields = ("title", "text", "source", "url", "published_at", "section", "author", "lang")
    for (name, data), result in zip(files.items(), results, strict=True):
        (expected,) = articles_from_bytes(name, data)
        assert result["id"] == expected.id
        stored = svc.client.get(f"/v1/articles/{result['duplicate_of'] or expected.id}").json()  # a copy is stored once
        assert {f: stored[f] for f in fields} == {f: getattr(expected, f) for f in fields}, name


def test_the_article_limit_counts_across_files_and_stops_reading(svc: Service) -> None:
    """50 articles at most: 30 + 30 is over, and a file over the limit is refused before its broken end."""
    lines = [json.dumps({"text": f"Tram line item {i}."}) for i in range(300)]
    thirty = "\n".join(lines[:30]).encode()
    response = svc.client.post(
        "/v1/articles/upload", files=[("files", ("a.jsonl", thirty)), ("files", ("b.jsonl", thirty))], headers=AUTH
    )
    _assert_4xx_with_detail(response, 413)
    assert "more than 50 articles" in response.json()["detail"]
    many = "\n".join([*lines, "{not json"]).encode()  # read to its end, this file would get 422
    _assert_4xx_with_detail(
        svc.client.post("/v1/articles/upload", files=[("files", ("many.jsonl", many))], headers=AUTH), 413
    )


def test_a_file_that_parses_too_long_gets_422_while_the_server_keeps_answering(
    tmp_path: Path, embedder: Embedder, restore_torch_threads: None
) -> None:
    """A 2 MB page of table rows takes trafilatura over ten seconds: its worker is killed at the limit (1 s),
    and /healthz is answered at once all along."""
    slow_page = b"<html><body><table>" + b"<tr><td>cell text words</td></tr>" * 60_000 + b"</table></body></html>"
    limits = {"max_upload_bytes": 3_000_000, "max_request_bytes": 4_000_000, "parse_timeout_s": 1.0}
    for big in _service(tmp_path, embedder, api_key=KEY, **limits):
        outcome: dict[str, Any] = {}

        def upload(client: TestClient, outcome: dict[str, Any]) -> None:
            started = time.monotonic()
            files = [("files", ("slow.html", slow_page, "text/html"))]
            outcome["response"] = client.post("/v1/articles/upload", files=files, headers=AUTH)
            outcome["seconds"] = time.monotonic() - started

        uploading = threading.Thread(target=upload, args=(big.client, outcome))
        uploading.start()
        latencies: list[float] = []
        while uploading.is_alive():
            asked = time.monotonic()
            assert big.client.get("/healthz").status_code == 200
            if uploading.is_alive():
                latencies.append(time.monotonic() - asked)
            time.sleep(0.05)
        uploading.join()
        response = outcome["response"]
        _assert_4xx_with_detail(response, 422)
        assert response.json()["detail"].startswith("slow.html: parsing took longer than the limit of 1 s")
        assert outcome["seconds"] < 10  # a worker's start (not counted) and the second the limit allows
        assert len(latencies) >= 5 and max(latencies) < 1.0, latencies
        notes = [("files", ("after.md", f"# After the kill\n\n{STORY}".encode(), "text/markdown"))]
        after = big.client.post("/v1/articles/upload", files=notes, headers=AUTH)  # on a new pool
        assert after.status_code == 200 and after.json()["results"][0]["title"] == "After the kill", after.text
