"""The instructor dashboard's numbers, as pure functions of rows already loaded: who is where
in which step, and how busy the class has been minute by minute."""

from datetime import timedelta

STATE_TEXT = {
    "passed": "passed",
    "attempted": "{attempts} attempt(s)",
    "stuck": "stuck: {attempts} attempt(s) over {minutes} min",
    "started": "opened, no check yet",
}


def state_text(state, row, now):
    if row is None:
        return "not started"
    minutes = int((now - row.started).total_seconds() // 60)
    return STATE_TEXT[state].format(attempts=row.attempts, minutes=minutes)


def progress_grid(members, columns, progress, now):
    """One row per member, one cell per step of every lesson (in `columns` order).

    `progress` maps (user id, step id) to a StepProgress-like row with `state(now)`,
    `attempts` and `started`.
    """
    grid = []
    for member in members:
        cells = []
        for lesson, steps in columns:
            for step in steps:
                row = progress.get((member.user_id, step.pk))
                state = row.state(now) if row else "none"
                predicted = getattr(row, "predicted_right", None)
                title = (
                    f"{member.display_name} · {lesson.title} · step "
                    f"{step.number}: {step.title} — {state_text(state, row, now)}"
                )
                if predicted is not None:
                    title += f" · predicted {'right' if predicted else 'wrong'}"
                cells.append({"state": state, "title": title, "predicted": predicted})
        passed = sum(1 for c in cells if c["state"] == "passed")
        grid.append({"member": member, "cells": cells, "passed": passed})
    return grid


def minute_bars(per_minute, now, minutes=10):
    """The last `minutes` minutes (oldest first) as bars: label, count, percent of the peak."""
    start = now.replace(second=0, microsecond=0) - timedelta(minutes=minutes - 1)
    bars = []
    for i in range(minutes):
        moment = start + timedelta(minutes=i)
        bars.append({"label": moment.strftime("%H:%M"), "n": per_minute.get(moment, 0)})
    peak = max([b["n"] for b in bars] + [1])
    for bar in bars:
        bar["pct"] = round(100 * bar["n"] / peak)
    return bars


def prediction_counts(grid):
    """(right, wrong) predictions across the class."""
    marks = [cell["predicted"] for row in grid for cell in row["cells"] if cell["predicted"] is not None]
    return sum(marks), len(marks) - sum(marks)


def stuck_count(grid):
    return sum(1 for row in grid for cell in row["cells"] if cell["state"] == "stuck")
