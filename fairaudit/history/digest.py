"""The config a stored run was judged with: its canonical form, its digest, and back.

The **config digest** names the settings that decide an audit's figures and
verdicts, so that two runs with the same digest can be compared, pooled and
re-judged alike. It is the SHA-256 (hex) of the canonical JSON of
:func:`figure_config`: the resolved config (:meth:`AuditConfig.as_dict`)
without the keys that change nothing in the figures (``inputs``: the data of a
night, not how it is judged; ``digest``: whether the files are hashed;
``fail_on_inconclusive``: the exit code only). Canonical JSON is UTF-8,
keys sorted, no whitespace (``","`` and ``":"``), no NaN, non-ASCII text as
is; ``threshold`` and ``confidence`` are written as floats (``1`` in a file
and ``1.0`` on the command line are one setting). docs/history.md says the same.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from ..config import AuditConfig, build

# settings that never change a figure or a verdict
NOT_FIGURES = ("inputs", "digest", "fail_on_inconclusive")
_FLOATS = ("threshold", "confidence")


def figure_config(config: AuditConfig | Mapping[str, Any]) -> dict[str, Any]:
    """The settings that decide the figures: ``as_dict()`` less :data:`NOT_FIGURES`."""
    values = config.as_dict() if isinstance(config, AuditConfig) else dict(config)
    out = {k: v for k, v in values.items() if k not in NOT_FIGURES}
    for key in _FLOATS:
        if isinstance(out.get(key), int) and not isinstance(out[key], bool):
            out[key] = float(out[key])
    return out


def canonical(value: Any) -> bytes:
    """Canonical JSON: sorted keys, no whitespace, UTF-8, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def config_digest(config: AuditConfig | Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of :func:`figure_config`."""
    return hashlib.sha256(canonical(figure_config(config))).hexdigest()


def config_from_dict(values: Mapping[str, Any], origin: str = "history") -> AuditConfig:
    """The :class:`AuditConfig` a stored ``as_dict()`` describes (inputs left out).

    Every value reads as if from a config file named ``origin``, so that a
    problem names where the settings came from.
    """
    # a setting left unset is left out, as a config file leaves it (it cannot hold null)
    file_values = {k: v for k, v in values.items() if k != "inputs" and v is not None}
    ranges = file_values.get("ranges")
    if isinstance(ranges, Mapping):  # an open end is left out, as a config file leaves it
        file_values["ranges"] = {f: {k: v for k, v in spec.items() if v is not None}
                                 for f, spec in ranges.items()}
    return build(file_values, None, {})
