"""Bounded input, in process: arrays by their length first, ``details`` capped, numbers
and header bytes that cannot be handled are 4xx, unknown query parameters are named,
only stored answers are replayed; and a fuzz of query strings, headers and path ids
never gets a 5xx."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import orjson
from attrs import evolve
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rankion_api.bulk import BulkIdsBody
from rankion_server.convert import separators_max

from .conftest import Api, ClientFactory, config, start

GENERATE = {"prompt": "a lighthouse at dusk", "size": "256x256"}


async def test_an_array_is_refused_by_its_length_before_its_items(api: Api) -> None:
    answer = await api.post("/v1/generate/image", {"prompt": "p", "tags": [1] * 21})
    assert answer.status == 422
    assert answer.error["details"] == {"tags": "21 items, the limit is 20"}
    answer = await api.post("/v1/images/bulk/delete", {"ids": ["x"] * 201})
    assert answer.error["code"] == "bulk_limit_exceeded"
    assert answer.error["details"] == {"ids": "201 items, the limit is 200", "limit": 200}
    hook = {"url": "https://example.com/h", "events": ["job.succeeded"] * 50}
    answer = await api.post("/v1/webhooks", hook)
    assert answer.status == 422 and "events" in answer.error["details"]


async def test_a_body_with_more_values_than_possible_is_refused_unparsed(api: Api) -> None:
    high = separators_max(BulkIdsBody)
    raw = b'{"ids": [' + b",".join([b"1"] * (high + 2)) + b"]}"
    answer = await api.post("/v1/images/bulk/delete", raw=raw)
    assert answer.status == 422 and answer.error["code"] == "bulk_limit_exceeded"
    assert answer.error["details"] == {"body": f"more than {high} values"}
    # a valid body, however spaced out, passes
    spaced = b'{"ids": [' + b" ,\n ".join([b"1"] * 200) + b"]}"
    assert (await api.post("/v1/images/bulk/delete", raw=spaced)).status == 200


async def test_details_are_capped_at_20_with_a_count_of_the_rest(api: Api) -> None:
    answer = await api.post("/v1/images/bulk/export", {"ids": ["x"] * 100})
    details = answer.error["details"]
    assert len(details) == 21 and details["…"] == "and 80 more"
    answer = await api.post("/v1/projects", {f"k{i}": 1 for i in range(25)} | {"name": "x"})
    assert len(answer.error["details"]) == 21 and answer.error["details"]["…"] == "and 5 more"
    assert answer.error["details"]["k0"] == "unknown field"


async def test_long_numbers_and_huge_ids_are_4xx(api: Api) -> None:
    for query in ("page=" + "9" * 5000, "per_page=" + "1" * 20, f"project_id={2**63}"):
        assert (await api.get(f"/v1/images?{query}")).status == 422, query
    assert (await api.get(f"/v1/images/{2**63}")).status == 404
    assert (await api.get(f"/v1/images/{2**63 - 1}")).status == 404
    assert (await api.get("/v1/images/" + "9" * 5000)).status == 404
    raw = f'{{"ids": [{2**63}, {2**64}]}}'.encode()
    assert (await api.post("/v1/images/bulk/delete", raw=raw)).status == 422
    assert (await api.get("/files/x.png?sig=a&expires=" + "9" * 5000, anonymous=True)).status == 404


async def test_query_tags_are_counted_first(api: Api) -> None:
    many = "&".join(f"tags[]=t{i}" for i in range(21))
    answer = await api.get(f"/v1/images?{many}")
    assert answer.status == 422 and answer.error["details"] == {"tags[]": "at most 20 tags"}


async def test_unknown_query_parameters_on_every_v1_route(api: Api) -> None:
    for path in ("/v1/projects", "/v1/credits", "/v1/images/trash", "/v1/openapi.json"):
        answer = await api.get(f"{path}?bogus=1")
        assert answer.status == 422, path
        assert answer.error["details"] == {"bogus": "unknown parameter"}
    answer = await api.get("/v1/images/trash?per_pag=5")
    assert answer.error["details"] == {"per_pag": "unknown parameter; did you mean per_page?"}
    assert (await api.get("/healthz?x=1", anonymous=True)).status == 200


async def test_only_2xx_404_and_409_are_stored(aiohttp_client: ClientFactory) -> None:
    api = await start(aiohttp_client, evolve(config(), max_active_jobs=1, charge_rate=0))
    assert (await api.post("/v1/generate/image", GENERATE)).status == 202
    key = {"Idempotency-Key": "after-a-429"}
    limited = await api.post("/v1/generate/image", GENERATE, headers=key)
    assert limited.status == 429
    await api.run_jobs()
    retried = await api.post("/v1/generate/image", GENERATE, headers=key)
    assert retried.status == 202 and "Idempotent-Replayed" not in retried.headers
    replay = await api.post("/v1/generate/image", GENERATE, headers=key)
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.body == retried.body


async def test_numbers_compare_by_value_but_true_is_not_1(api: Api) -> None:
    key = {"Idempotency-Key": "by-value"}
    first = await api.post("/v1/generate/image", GENERATE | {"article_id": 3}, headers=key)
    again = await api.post("/v1/generate/image", GENERATE | {"article_id": 3.0}, headers=key)
    assert again.headers.get("Idempotent-Replayed") == "true" and again.body == first.body


# ---------------------------------------------------------------- fuzz

_NAMES = st.sampled_from(
    ["page", "per_page", "project_id", "from", "to", "tags[]", "status", "sort", "favorite", "q"]
)
_VALUES = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.integers(min_value=19, max_value=6000).map(lambda n: "9" * n),
    st.sampled_from(["", "1e3", "\uff10", "\u0663", "2026-02-30", "true", "-1", "0x10", " 1"]),
)
_PATHS = st.sampled_from(
    [
        "/v1/images",
        "/v1/images/trash",
        "/v1/projects",
        "/v1/credits/ledger",
        "/v1/projects/1/calendar",
        "/v1/projects/1/images",
        "/v1/webhooks",
    ]
)
_IDS = st.one_of(
    st.integers(min_value=0, max_value=2**70).map(str),
    st.text(alphabet="0123456789", min_size=1, max_size=60),
    st.text(max_size=10).map(lambda t: quote(t, safe="")),
)
_HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FF, exclude_characters="\x7f"),
    max_size=60,
)
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(path=_PATHS, query=st.lists(st.tuples(_NAMES, _VALUES), max_size=4))
def test_fuzzed_query_strings_never_5xx(api: Api, path: str, query: list[tuple[str, str]]) -> None:
    text = "&".join(f"{quote(n, safe='[]')}={quote(v, safe='')}" for n, v in query)
    answer = _run(api.get(f"{path}?{text}"))
    assert answer.status < 500, (path, text, answer.body[:300])


@FUZZ
@given(ident=_IDS, tail=st.sampled_from(["", "/forever", "/restore", "/edit", "/favorite"]))
def test_fuzzed_path_ids_never_5xx(api: Api, ident: str, tail: str) -> None:
    method = "DELETE" if tail in ("", "/forever") else "POST"
    for path in (f"/v1/images/{ident}{tail}", f"/v1/jobs/{ident}", f"/v1/calendar/{ident}"):
        answer = _run(api.call(method if "images" in path else "GET", path))
        assert answer.status < 500, (path, answer.body[:300])
        assert answer.status in (200, 202, 404, 405, 409, 422), (path, answer.status)


@FUZZ
@given(token=_HEADER_TEXT, key=_HEADER_TEXT)
def test_fuzzed_headers_never_5xx(api: Api, token: str, key: str) -> None:
    anonymous = _run(
        api.get("/v1/images", anonymous=True, headers={"Authorization": f"Bearer {token}"})
    )
    assert anonymous.status == 401 and anonymous.headers["WWW-Authenticate"] == "Bearer"
    answer = _run(api.post("/v1/generate/image", GENERATE, headers={"Idempotency-Key": key}))
    printable = 1 <= len(key) <= 255 and key.isascii() and key.isprintable()
    assert answer.status in ((202, 422, 429) if printable else (422,)), (key, answer.body[:300])


def _run(coro: Any) -> Any:
    return asyncio.get_event_loop().run_until_complete(coro)


async def test_header_bytes_that_are_not_utf8_are_401_and_422(api: Api) -> None:
    server = api.client.server
    for head, status in (
        (b"GET /v1/images HTTP/1.1\r\nAuthorization: Bearer rk_\xff\xfe\r\n", 401),
        (
            b"POST /v1/generate/image HTTP/1.1\r\nAuthorization: Bearer "
            + api.a.token.encode()
            + b"\r\nIdempotency-Key: k\xff\xfe\r\nContent-Length: 2\r\n",
            422,
        ),
    ):
        reader, writer = await asyncio.open_connection(server.host, server.port)
        body = b"{}" if b"Content-Length" in head else b""
        writer.write(head + b"Host: x\r\nConnection: close\r\n\r\n" + body)
        answer = await reader.read()
        writer.close()
        await writer.wait_closed()  # not left to the garbage collector as a live transport
        assert answer.split(b" ", 2)[1] == str(status).encode(), answer[:300]


async def test_a_header_that_must_come_once_is_400_when_repeated(api: Api) -> None:
    """Which of two ``Authorization`` (or ``Idempotency-Key``) values is meant is not
    ours to guess: a proxy in front may have checked the other one."""
    a, b = (f"Authorization: Bearer {team.token}" for team in (api.a, api.b))
    balance = (await api.get("/v1/credits")).data["balance"]
    for request, name in (
        (["GET /v1/images", a, b], "Authorization"),
        (["POST /v1/generate/image", a, b], "Authorization"),
        (
            ["POST /v1/generate/image", a, "Idempotency-Key: 1", "Idempotency-Key: 2"],
            "Idempotency-Key",
        ),
        (["GET /v1/images", "Cookie: rankion_session=x", "Cookie: rankion_session=y"], "Cookie"),
    ):
        body = b'{"prompt": "p", "size": "256x256"}' if request[0].startswith("POST") else b""
        head = "\r\n".join([request[0] + " HTTP/1.1", *request[1:], "Host: x", "Connection: close"])
        head += f"\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        server = api.client.server
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(head.encode() + body)
        answer = await reader.read()
        writer.close()
        await writer.wait_closed()
        status, _, rest = answer.partition(b"\r\n")
        assert status.split(b" ", 2)[1] == b"400", answer[:400]
        error = orjson.loads(rest.partition(b"\r\n\r\n")[2])["error"]
        assert error == {
            "code": "bad_request",
            "message": f"send {name} once",
            "details": {name: "given more than once"},
        }
    assert (await api.get("/v1/credits")).data["balance"] == balance  # nothing was charged
    assert (await api.get("/v1/images")).json["meta"]["total"] == 0
