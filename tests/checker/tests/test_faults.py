"""The nemesis runner's own logic, without services: answer classes and the table."""

from types import SimpleNamespace

from xbanku_check.faults import CI, SCENARIOS, Result, classes, render
from xbanku_check.transport import Answer


def op(status):
    return SimpleNamespace(answer=Answer(status) if status is not None else None)


def test_answers_are_counted_by_class_in_a_fixed_order():
    ops = [op(200), op(201), op(202), op(404), op(409), op(422), op(503), op(504), op(504), op(None), op(500)]
    assert classes(ops) == {"2xx": 3, "4xx": 3, "503": 1, "504": 2, "no answer": 1, "500": 1}
    assert list(classes(ops))[:5] == ["2xx", "4xx", "503", "504", "no answer"]
    assert classes([]) == {}


def test_scenarios_are_named_once_and_the_ci_run_picks_existing_ones():
    names = [s.name for s in SCENARIOS]
    assert len(names) == len(set(names))
    assert set(CI) <= set(names)
    assert sum(s.root for s in SCENARIOS) == 1, "only the full disk needs root"


def test_the_table_has_a_row_per_scenario_and_lists_violations():
    results = [Result("broker-kill", "broker SIGKILLed", {"2xx": 9, "503": 33}, {}, 1.84, "PASS", [], [], 100),
               Result("disk-full", "full", {}, {}, None, "FAIL", ["money-bound: off by 3"], ["ballast"], 10)]
    table = render(results)
    assert "| broker-kill | broker SIGKILLed | 2xx 9 · 503 33 | 1.8 s | PASS |" in table
    assert "| disk-full | full | — | — | FAIL |" in table
    assert "- disk-full: VIOLATION money-bound: off by 3" in table
    assert "- disk-full: ballast" in table
