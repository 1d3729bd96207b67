"""The soak's arithmetic: histogram deltas and the flatness verdict."""

import math

from xbanku_check.soak import Interval, flatness, histogram_quantile


def test_histogram_quantile_of_an_interval():
    before = {0.005: 10, 0.01: 10, 0.1: 10, math.inf: 10}
    after = {0.005: 60, 0.01: 108, 0.1: 110, math.inf: 110}  # 100 more: 50 <= 5 ms, 98 <= 10 ms
    assert histogram_quantile(before, after, 0.5) == 0.005
    assert histogram_quantile(before, after, 0.99) == 0.1
    assert math.isnan(histogram_quantile(after, after, 0.99))


def row(t, rss, lag=0, ready=200, errors=0):
    return Interval(t, 100, errors, 0, 1.0, 2.0, 2.0, rss, 40, lag, lag, ready, 1.0)


def test_flatness():
    flat = [row(15, 20.0), row(30, 22.0), row(45, 23.0), row(60, 23.5)]
    assert flatness(flat, (40, 41), 24, 8, 2000) == []
    assert "RSS grew" in flatness(flat[:3] + [row(60, 60.0)], (40, 41), 24, 8, 2000)[0]
    assert "descriptors" in flatness(flat, (40, 60), 24, 8, 2000)[0]
    assert "lag" in flatness(flat[:3] + [row(60, 23.0, lag=5000)], (40, 41), 24, 8, 2000)[0]
    assert "readyz" in flatness(flat[:3] + [row(60, 23.0, ready=503)], (40, 41), 24, 8, 2000)[0]
