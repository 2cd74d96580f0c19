"""The settings of a multiclass audit and of candidate lists, checked when the config is built."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

TASKS = ("binary", "multiclass")


def task_problems(cfg: Any, origin: Callable[[str], str]) -> list[str]:
    """Every problem of ``task``, ``classes`` and ``candidates`` (an ``AuditConfig``'s)."""
    out: list[str] = []
    if cfg.task not in TASKS:
        out.append(f"{origin('task')} {cfg.task!r} is not one of: {', '.join(TASKS)}")
    elif cfg.task == "multiclass":
        if cfg.label is None or cfg.prediction is None:
            out.append("--task multiclass needs --label COLUMN and --prediction COLUMN, "
                       "both holding class values")
        elif cfg.label == cfg.prediction:
            out.append(f"--task multiclass: '{cfg.label}' is both the label and the "
                       "prediction; give two columns")
        if cfg.score is not None:
            out.append("--task multiclass takes the predicted class from --prediction; "
                       "leave out --score")
        if cfg.positive_label is not None:
            out.append("--positive-label names the positive class of a yes/no decision; with "
                       "--task multiclass every class is audited one-vs-rest: leave it out")
        if cfg.rank is not None or cfg.candidates is not None:
            out.append("--task multiclass and a shortlist (--rank, --candidates) are audited "
                       "apart; run them as two audits")
        if cfg.ranges:
            out.append("range checks need a yes/no decision; --task multiclass has none")
    if cfg.classes and cfg.task != "multiclass":
        out.append(f"{origin('classes')} names classes of --task multiclass; add it, or "
                   "leave the classes out")
    if any(not isinstance(c, str) or not c for c in cfg.classes):
        out.append(f"{origin('classes')}: a class is a non-empty value, such as --classes "
                   "low,medium,high")
    elif len(set(cfg.classes)) != len(cfg.classes):
        twice = next(c for c in cfg.classes if cfg.classes.count(c) > 1)
        out.append(f"{origin('classes')}: '{twice}' is named twice")
    if cfg.candidates is not None:
        if cfg.rank is not None:
            out.append("--rank and --candidates both give the true item's position; give one")
        if cfg.label is None:
            out.append("--candidates needs --label COLUMN, the true item to find in each list")
        if cfg.prediction is not None or cfg.score is not None:
            out.append("--candidates takes the true item from --label, which then holds "
                       "items, not a yes/no outcome; audit the decision in a run of its own")
    return out
