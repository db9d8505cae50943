"""The instructor dashboard's aggregation, as pure functions of rows (no database)."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from lessons.dashboard import minute_bars, prediction_counts, progress_grid, state_text, stuck_count

NOW = datetime(2026, 11, 29, 10, 30, 45, tzinfo=UTC)


class Row(SimpleNamespace):
    def state(self, now):
        return self.fixed_state


def step(pk, number):
    return SimpleNamespace(pk=pk, number=number, title=f"Step {number}")


def test_each_member_gets_a_cell_per_step_with_its_state_and_a_passed_count():
    lesson = SimpleNamespace(title="Cold starts")
    columns = [(lesson, [step(1, 1), step(2, 2)])]
    ada = SimpleNamespace(user_id=10, display_name="Ada")
    bob = SimpleNamespace(user_id=11, display_name="Bob")
    started = NOW - timedelta(minutes=7)
    progress = {
        (10, 1): Row(fixed_state="passed", attempts=1, started=started),
        (10, 2): Row(fixed_state="stuck", attempts=4, started=started),
    }
    grid = progress_grid([ada, bob], columns, progress, NOW)
    assert [c["state"] for c in grid[0]["cells"]] == ["passed", "stuck"]
    assert [c["state"] for c in grid[1]["cells"]] == ["none", "none"]
    assert grid[0]["passed"] == 1 and grid[1]["passed"] == 0
    title = grid[0]["cells"][1]["title"]
    assert title == "Ada · Cold starts · step 2: Step 2 — stuck: 4 attempt(s) over 7 min"
    assert "not started" in grid[1]["cells"][0]["title"]
    assert stuck_count(grid) == 1


def test_minute_bars_cover_the_last_ten_minutes_oldest_first_scaled_to_the_peak():
    this_minute = NOW.replace(second=0, microsecond=0)
    before = this_minute - timedelta(minutes=10)
    per_minute = {this_minute: 8, this_minute - timedelta(minutes=9): 2, before: 99}
    bars = minute_bars(per_minute, NOW)
    assert len(bars) == 10
    assert bars[0] == {"label": "10:21", "n": 2, "pct": 25}
    assert bars[-1] == {"label": "10:30", "n": 8, "pct": 100}
    assert sum(b["n"] for b in bars) == 10  # the minute before the window is not counted


def test_an_idle_class_draws_empty_bars_not_a_division_by_zero():
    assert {b["pct"] for b in minute_bars({}, NOW)} == {0}


def test_state_text_says_what_an_instructor_needs():
    row = SimpleNamespace(attempts=2, started=NOW - timedelta(minutes=3))
    assert state_text("attempted", row, NOW) == "2 attempt(s)"
    assert state_text("started", row, NOW) == "opened, no check yet"
    assert state_text("none", None, NOW) == "not started"


def test_predictions_show_as_right_or_wrong_and_are_counted():
    lesson = SimpleNamespace(title="Scaling")
    columns = [(lesson, [step(1, 1), step(2, 2)])]
    ada = SimpleNamespace(user_id=10, display_name="Ada")
    started = NOW - timedelta(minutes=1)
    progress = {
        (10, 1): Row(fixed_state="passed", attempts=1, started=started, predicted_right=True),
        (10, 2): Row(fixed_state="attempted", attempts=1, started=started, predicted_right=False),
    }
    grid = progress_grid([ada], columns, progress, NOW)
    assert [c["predicted"] for c in grid[0]["cells"]] == [True, False]
    assert grid[0]["cells"][1]["title"].endswith("· predicted wrong")
    assert prediction_counts(grid) == (1, 1)
