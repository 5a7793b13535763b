"""``/metrics``: Prometheus text, one registry per app, labelled by route template."""

from __future__ import annotations

import attrs
from prometheus_client.parser import text_string_to_metric_families

from .conftest import Api, ClientFactory, config, start


async def scrape(api: Api, **kw: object) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    answer = await api.get("/metrics", anonymous=True, **kw)  # type: ignore[arg-type]
    assert answer.status == 200, answer.body
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(answer.body.decode()):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_requests_are_counted_by_route_template_and_status(api: Api) -> None:
    await api.get("/v1/images")
    await api.get("/v1/images/12345")
    await api.get("/v1/images/67890")
    await api.get("/no/such/path")
    samples = await scrape(api)
    req = "rankion_http_requests_total"
    assert value(samples, req, method="GET", route="/v1/images", status="200") == 1
    assert value(samples, req, method="GET", route="/v1/images/{id}", status="404") == 2
    assert value(samples, req, method="GET", route="unmatched", status="404") == 1
    latency = "rankion_http_request_duration_seconds_count"
    assert value(samples, latency, method="GET", route="/v1/images/{id}") == 2
    assert not any("12345" in str(key) for key in samples)  # never a raw path


async def test_jobs_queue_depth_and_provider_latency(api: Api) -> None:
    await api.generate(run=False)
    await api.generate(run=False)
    assert value(await scrape(api), "rankion_jobs_queue_depth") == 2
    await api.run_jobs()
    samples = await scrape(api)
    assert value(samples, "rankion_jobs_queue_depth") == 0
    assert value(samples, "rankion_jobs_total", kind="generate", status="succeeded") == 2
    assert value(samples, "rankion_job_duration_seconds_count", kind="generate") == 2
    provider = "rankion_provider_request_duration_seconds_count"
    assert value(samples, provider, provider="procedural", operation="generate", outcome="ok") == 2


async def test_each_app_has_its_own_registry(api: Api, aiohttp_client: ClientFactory) -> None:
    other = await start(aiohttp_client, config())
    await api.get("/v1/images")
    assert (
        value(
            await scrape(other),
            "rankion_http_requests_total",
            method="GET",
            route="/v1/images",
            status="200",
        )
        == 0
    )


async def test_a_metrics_token_closes_the_endpoint(aiohttp_client: ClientFactory) -> None:
    api = await start(aiohttp_client, attrs.evolve(config(), metrics_token="scrape-me-please"))
    assert (await api.get("/metrics", anonymous=True)).status == 401
    wrong = await api.get("/metrics", anonymous=True, headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await api.get("/metrics", team=api.a)).status == 401  # an API token is not it
    await scrape(api, headers={"Authorization": "Bearer scrape-me-please"})


async def test_the_provider_is_timed_from_the_start_and_never_swapped(
    aiohttp_client: ClientFactory,
) -> None:
    api = await start(aiohttp_client, config())
    provider = api.rankion.deps.provider
    assert type(provider).__name__ == "TimedProvider"
    await api.client.close()
    assert api.rankion.deps.provider is provider
