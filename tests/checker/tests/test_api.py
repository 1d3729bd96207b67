"""Small pieces of the HTTP side: Prometheus text, degraded answers, dot-only command ids."""

import asyncio

import httpx

from xbanku_check.api import Instance, parse_metrics

METRICS = """# HELP xbanku_consumer_lag Records between the view's next offset and the high watermark
# TYPE xbanku_consumer_lag gauge
xbanku_consumer_lag{partition="0"} 0
xbanku_consumer_lag{partition="5"} 17
xbanku_outbox_pending 2
xbanku_http_requests_total{route="/accounts/{id}",code="200"} 1e+03
"""


def test_parse_metrics():
    samples = parse_metrics(METRICS)
    lag = {s.labels["partition"]: s.value for s in samples if s.name == "xbanku_consumer_lag"}
    assert lag == {"0": 0.0, "5": 17.0}
    assert [s.value for s in samples if s.name == "xbanku_outbox_pending"] == [2.0]
    assert samples[-1].labels == {"route": "/accounts/{id}", "code": "200"} and samples[-1].value == 1000.0


def test_degraded_answers_are_retried_and_counted():
    answers = [httpx.Response(503, json={}), httpx.Response(200, json={}, headers={"X-Stale": "true"}),
               httpx.Response(200, json={"accounts": [], "next": None}), httpx.Response(404, json={})]
    seen = []

    def handle(request):
        seen.append(request.url.raw_path)
        return answers[len(seen) - 1]

    async def run():
        async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
            instance = Instance("http://x", client, patience=5)
            assert await instance.all_accounts() == []
            assert (await instance.command("..")).status_code == 404
            return instance.degraded

    assert asyncio.run(run()) == 2
    assert seen[-1] == b"/commands/%2E%2E"  # not a dot-segment the client would drop
