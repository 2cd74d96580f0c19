"""Every metric, gap and criterion against fairlearn, on COMPAS and on random data.

fairlearn (with scikit-learn) is the oracle: each fairaudit figure must equal
the value fairlearn computes from the raw rows, to 1e-12, wherever both define
it. The two differ on purpose in one place: where a rate's denominator is 0,
fairlearn and scikit-learn return 0 and fairaudit returns None. The checks
below assert exactly that (fairaudit None, denominator 0, fairlearn 0), and
take gaps over the groups whose rate is defined, which is how fairaudit takes
them.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equal_opportunity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_negative_rate,
    true_positive_rate,
)
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, precision_score

import fairaudit
from fairaudit.metrics import CRITERIA, METRICS
from tests.conftest import COMPAS_PARQUET

TOL = 1e-12
SENTINEL = "(missing)"  # what a missing group value becomes on the fairlearn side
LABEL, PREDICTION = "y", "yhat"

Array = Any  # numpy arrays of 0/1 handed over by MetricFrame


def _zero_if_empty(numerator: int, denominator: int) -> float:
    # scikit-learn's zero_division=0 convention, so that the custom metrics
    # behave like fairlearn's own rates on an empty denominator
    return numerator / denominator if denominator else 0.0


def _base_rate(y: Array, p: Array) -> float:
    return _zero_if_empty(int((y == 1).sum()), len(y))


def _npv(y: Array, p: Array) -> float:
    return _zero_if_empty(int(((y == 0) & (p == 0)).sum()), int((p == 0).sum()))


def _fdr(y: Array, p: Array) -> float:
    return _zero_if_empty(int(((y == 0) & (p == 1)).sum()), int((p == 1).sum()))


def _for(y: Array, p: Array) -> float:
    return _zero_if_empty(int(((y == 1) & (p == 0)).sum()), int((p == 0).sum()))


def _error_rate(y: Array, p: Array) -> float:
    return _zero_if_empty(int((y != p).sum()), len(y))


Fn = Callable[[Array, Array], float]

# metric name -> (the rate as fairlearn/scikit-learn compute it, the rows its
# denominator counts)
ORACLE: dict[str, tuple[Fn, str]] = {
    "base_rate": (_base_rate, "rows"),
    "selection_rate": (partial(selection_rate, pos_label=1), "rows"),
    "tpr": (partial(true_positive_rate, pos_label=1), "y == 1"),
    "fpr": (partial(false_positive_rate, pos_label=1), "y == 0"),
    "tnr": (partial(true_negative_rate, pos_label=1), "y == 0"),
    "fnr": (partial(false_negative_rate, pos_label=1), "y == 1"),
    "precision": (partial(precision_score, pos_label=1, zero_division=0), "p == 1"),
    "npv": (_npv, "p == 0"),
    "fdr": (_fdr, "p == 1"),
    "for": (_for, "p == 0"),
    "accuracy": (accuracy_score, "rows"),
    "error_rate": (_error_rate, "rows"),
}

# fairlearn's named criteria, by fairaudit criterion name
FAIRLEARN_CRITERIA: dict[str, tuple[Callable[..., float], Callable[..., float]]] = {
    "demographic_parity": (demographic_parity_difference, demographic_parity_ratio),
    "equalized_odds": (equalized_odds_difference, equalized_odds_ratio),
    "equal_opportunity": (equal_opportunity_difference, equal_opportunity_ratio),
}


def test_every_metric_has_an_oracle():
    assert set(ORACLE) == {m.name for m in METRICS}


# -- the comparison --------------------------------------------------------------


def _show(value: Any) -> str:
    return SENTINEL if value is None or value is pd.NA else str(value)


def _close(got: float | None, expected: float | None, what: str) -> None:
    if expected is None or math.isnan(expected):
        assert got is None, f"{what}: fairaudit {got}, expected undefined"
    else:
        assert got is not None, f"{what}: fairaudit undefined, expected {expected}"
        assert abs(got - expected) <= TOL, f"{what}: fairaudit {got}, expected {expected}"


def _spread(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Difference and ratio as fairlearn's MetricFrame takes them: max - min, min / max."""
    if len(values) < 2:
        return None, None
    hi, lo = max(values), min(values)
    return hi - lo, (lo / hi if hi > 0 else None)


def check_against_fairlearn(df: pd.DataFrame, result: fairaudit.AuditResult,
                            groups: Sequence[str]) -> Counter[str]:
    """Assert every figure of ``result`` equals fairlearn's on ``df``.

    Returns how many figures of each kind were compared, so that callers can
    see the check did work.
    """
    # scikit-learn's argument checks dominate the run time on tiny groups and
    # change no result
    with sklearn.config_context(skip_parameter_validation=True, assume_finite=True):
        return _check(df, result, groups)


def _check(df: pd.DataFrame, result: fairaudit.AuditResult,
           groups: Sequence[str]) -> Counter[str]:
    tally: Counter[str] = Counter()
    # fairaudit drops rows with a missing label; fairlearn is given the rest
    kept = df[df[LABEL].notna()]
    y = kept[LABEL].astype("int64").to_numpy()
    p = kept[PREDICTION].astype("int64").to_numpy()
    metric_fns: dict[str, Fn] = {"n": count}
    metric_fns.update({f"rate:{name}": rate for name, (rate, _) in ORACLE.items()})
    # the denominators, counted row by row with pandas
    selects = {"rows": np.ones(len(y), dtype=bool), "y == 1": y == 1, "y == 0": y == 0,
               "p == 1": p == 1, "p == 0": p == 0}
    indicators = pd.DataFrame({f"den:{name}": selects[rows].astype("int64")
                               for name, (_, rows) in ORACLE.items()})
    names = [m.name for m in METRICS]
    groupings = [(g,) for g in groups]
    if len(groups) > 1:
        groupings.append(tuple(groups))

    for columns in groupings:
        grouping = result.grouping("&".join(columns))
        sf = pd.DataFrame({c: [_show(v) for v in kept[c].tolist()] for c in columns})
        mf = MetricFrame(metrics=metric_fns, y_true=y, y_pred=p, sensitive_features=sf)
        denominators = pd.concat([sf, indicators], axis=1).groupby(list(columns)).sum()
        by_group = mf.by_group.join(denominators)
        overall = pd.concat([mf.overall, indicators.sum()])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 ratios
            fl_difference, fl_ratio = mf.difference(), mf.ratio()

        # the groups are exactly the combinations of values in the data,
        # with their types kept (an integer group stays an integer)
        present = {tuple(None if pd.isna(v) else v for v in r)
                   for r in df[list(columns)].astype(object).itertuples(index=False)}
        keys = [tuple(g.key[c] for c in columns) for g in grouping.groups]
        assert len(keys) == len(set(keys))
        assert set(keys) == present
        for key in keys:
            for c, value in zip(columns, key, strict=True):
                integer = pd.api.types.is_integer_dtype(df[c].dtype)
                assert value is None or isinstance(value, int if integer else str)

        # per group and overall
        usable: dict[tuple[Any, ...], bool] = {}
        for g, key in zip(grouping.groups, keys, strict=True):
            found = _lookup(by_group, key)
            n = 0 if found is None else int(found["n"])
            assert g.count == n, f"{grouping.name} {key}: count"
            usable[key] = n > 0
            assert g.small == (n < 1)
            for name in names:
                rate = g.metrics[name]
                if n == 0:
                    # every row of the group was dropped: nothing to compare with
                    assert rate.value is None and rate.denominator == 0
                    tally["undefined rates"] += 1
                    continue
                _compare_rate(rate, found, name, f"{grouping.name} {key} {name}", tally)
        for name in names:
            _compare_rate(grouping.overall[name], overall, name,
                          f"{grouping.name} overall {name}", tally)

        # per-metric gaps, over the groups whose rate is defined; fairlearn
        # sees the groups with at least one row left
        seen = [k for k in keys if usable[k]]
        expected_gap: dict[str, tuple[float | None, float | None]] = {}
        all_defined: dict[str, bool] = {}
        for name in names:
            defined = [k for k in seen if _row(by_group, k)[f"den:{name}"] > 0]
            all_defined[name] = len(defined) == len(seen)
            values = [float(_row(by_group, k)[f"rate:{name}"]) for k in defined]
            diff, ratio = _spread(values)
            if all_defined[name] and len(seen) >= 2:
                # fairlearn's own gap functions apply unchanged
                diff = float(fl_difference[f"rate:{name}"])
                ratio = float(fl_ratio[f"rate:{name}"])
            expected_gap[name] = (diff, None if ratio is None or math.isnan(ratio) else ratio)
            gap = grouping.gaps[name]
            _close(gap.difference, diff, f"{grouping.name} {name} difference")
            _close(gap.ratio, expected_gap[name][1], f"{grouping.name} {name} ratio")
            assert gap.groups_used == len(defined)
            excluded = {" & ".join(_show(v) for v in k) for k in keys if k not in defined}
            assert {e.group for e in gap.excluded} == excluded
            assert (gap.reason is None) == (len(defined) >= 2)
            tally["gaps"] += 2

        # criteria: the largest difference and the smallest ratio of their metrics
        for criterion in CRITERIA:
            parts = [expected_gap[m] for m in criterion.metrics]
            diffs = [d for d, _ in parts]
            ratios = [r for _, r in parts]
            diff = None if None in diffs else max(d for d in diffs if d is not None)
            ratio = None if None in ratios else min(r for r in ratios if r is not None)
            got = grouping.criteria[criterion.name]
            _close(got.difference, diff, f"{grouping.name} {criterion.name} difference")
            _close(got.ratio, ratio, f"{grouping.name} {criterion.name} ratio")
            tally["criteria"] += 2
            fl = FAIRLEARN_CRITERIA.get(criterion.name)
            if fl is None or len(seen) < 2 or not all(all_defined[m] for m in criterion.metrics):
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                fl_diff = fl[0](y, p, sensitive_features=sf)
                fl_ratio = fl[1](y, p, sensitive_features=sf)
            _close(got.difference, float(fl_diff), f"{grouping.name} {criterion.name} fairlearn")
            # fairlearn's equalized_odds_ratio is Python's min() of the TPR and
            # FPR ratios, which skips an undefined (NaN) FPR ratio but not an
            # undefined TPR ratio; fairaudit calls the criterion undefined if
            # either part is, so compare only where both parts are defined.
            if None not in ratios:
                _close(got.ratio, float(fl_ratio), f"{grouping.name} {criterion.name} fairlearn")
            tally[f"{grouping.name}: fairlearn {criterion.name}"] += 1
    return tally


def _lookup(by_group: pd.DataFrame, key: tuple[Any, ...]) -> pd.Series | None:
    """fairlearn's row for a fairaudit group key; None if fairlearn has no rows of it."""
    shown = tuple(_show(v) for v in key)
    try:
        found = by_group.loc[shown if len(shown) > 1 else shown[0]]
    except KeyError:
        return None
    # fairlearn lists every combination of the values it saw, absent ones as NaN
    return None if pd.isna(found["n"]) else found


def _row(by_group: pd.DataFrame, key: tuple[Any, ...]) -> pd.Series:
    found = _lookup(by_group, key)
    assert found is not None
    return found


def _compare_rate(rate: fairaudit.Rate, expected: pd.Series, name: str, what: str,
                  tally: Counter[str]) -> None:
    den = int(expected[f"den:{name}"])
    fl = float(expected[f"rate:{name}"])
    assert rate.denominator == den, f"{what}: denominator {rate.denominator} != {den}"
    if den == 0:
        # the one intended difference: fairlearn/scikit-learn give 0 for 0/0
        assert rate.value is None, f"{what}: {rate.value} with an empty denominator"
        assert rate.reason
        assert fl == 0.0
        tally["undefined rates"] += 1
    else:
        _close(rate.value, fl, what)
        assert rate.numerator / rate.denominator == rate.value
        tally["rates"] += 1


# -- random data -------------------------------------------------------------------

_STRINGS = ["a", "b", "<x>", "é z"]
_INTS = [-1, 0, 7]


@st.composite
def predictions(draw: st.DrawFn) -> tuple[pd.DataFrame, list[str]]:
    """A small predictions table: 1 to 3 group columns of few levels, tiny groups."""
    ncols = draw(st.integers(1, 3))
    names, kinds, levels = [], [], []
    for c in range(ncols):
        kind = draw(st.sampled_from(["str", "int"]))
        values: list[Any] = draw(st.lists(st.sampled_from(_STRINGS if kind == "str" else _INTS),
                                          min_size=1, max_size=3, unique=True))
        if draw(st.booleans()):
            values.append(None)
        names.append(f"g{c}")
        kinds.append(kind)
        levels.append(values)
    # some tables hold one label class or one decision only, so that whole
    # gaps are undefined; tiny groups give the same per group
    label_values: list[Any] = list(draw(st.sampled_from([(0, 1), (0,), (1,)])))
    if draw(st.booleans()):
        label_values.append(None)
    decisions = draw(st.sampled_from([(0, 1), (0,), (1,)]))
    rows = draw(st.lists(
        st.tuples(*[st.sampled_from(v) for v in levels], st.sampled_from(label_values),
                  st.sampled_from(decisions)),
        min_size=1, max_size=30))
    assume(any(r[-2] is not None for r in rows))
    data: dict[str, Any] = {}
    for c, (name, kind) in enumerate(zip(names, kinds, strict=True)):
        column = [r[c] for r in rows]
        data[name] = (pd.array(column, dtype="Int64") if kind == "int"
                      else pd.Series(column, dtype=object))
    labels = [r[-2] for r in rows]
    data[LABEL] = pd.array(labels, dtype="Int64") if None in labels else labels
    data[PREDICTION] = [r[-1] for r in rows]
    return pd.DataFrame(data), names


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(predictions())
def test_random_data_equals_fairlearn(case):
    df, groups = case
    result = fairaudit.audit(df, label=LABEL, prediction=PREDICTION, groups=groups,
                             min_group_size=1)
    tally = check_against_fairlearn(df, result, groups)
    assert tally["rates"] > 0
    assert tally["gaps"] == 12 * 2 * len(result.groupings)
    for kind in ("undefined rates", "rates"):
        if tally[kind]:
            event(kind)
    if any(g.key[c] is None for grouping in result.groupings for g in grouping.groups
           for c in grouping.columns):
        event("missing group value")


def test_random_data_check_can_fail():
    """The checker notices a wrong figure (so the property above is not vacuous)."""
    df = pd.DataFrame({"g0": ["a", "a", "b", "b"], LABEL: [1, 0, 1, 0],
                       PREDICTION: [1, 0, 0, 0]})
    result = fairaudit.audit(df, label=LABEL, prediction=PREDICTION, groups=["g0"],
                             min_group_size=1)
    check_against_fairlearn(df, result, ["g0"])
    wrong = df.assign(**{PREDICTION: [1, 1, 0, 0]})
    with pytest.raises(AssertionError):
        check_against_fairlearn(wrong, result, ["g0"])


# -- COMPAS ---------------------------------------------------------------------------


def test_compas_equals_fairlearn():
    df = pd.read_parquet(COMPAS_PARQUET, columns=["race", "sex", "age_cat", "two_year_recid",
                                                  "prediction"])
    df = df.rename(columns={"two_year_recid": LABEL, "prediction": PREDICTION})
    groups = ["race", "sex", "age_cat"]
    result = fairaudit.audit(df, label=LABEL, prediction=PREDICTION, groups=groups,
                             min_group_size=1)
    tally = check_against_fairlearn(df, result, groups)
    # 6 races + 2 sexes + 3 age bands + the intersections present, plus 4
    # overalls, each with 12 rates; 12 gaps and 7 criteria per grouping, two
    # figures each
    groups_seen = 6 + 2 + 3 + len(df.groupby(groups, observed=True))
    assert tally["rates"] + tally["undefined rates"] == (groups_seen + 4) * 12
    assert tally["gaps"] == 4 * 12 * 2
    assert tally["criteria"] == 4 * 7 * 2
    # fairlearn's named criteria are checked on every single column (no
    # undefined rate there); on the intersection only demographic parity, as
    # some tiny intersections have no actual positives or negatives
    for column in groups:
        for name in FAIRLEARN_CRITERIA:
            assert tally[f"{column}: fairlearn {name}"] == 1
    assert tally["race&sex&age_cat: fairlearn demographic_parity"] == 1
