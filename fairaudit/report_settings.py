"""Report files and terminal settings from a config file: where the reports go, and how
much the terminal shows.

They are no part of the audit (its figures, config digest and history key never
depend on them), so they live apart from :class:`fairaudit.config.AuditConfig`;
the command line merges them with its flags, which override the file. A relative
report path in a config file is read against the config file's folder, as
``inputs`` is, so that a project's reports land in the same place wherever
fairaudit is started from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError

PATHS = ("json", "html", "markdown", "junit", "gitlab_codequality")
SWITCHES = ("github_summary", "quiet", "progress")

EXPECTED = {
    "json": "a path for the JSON report ('-' for stdout), relative to the config file",
    "html": "a path for the HTML report, relative to the config file",
    "markdown": "a path for the Markdown report, relative to the config file",
    "junit": "a path for the JUnit XML report, relative to the config file",
    "gitlab_codequality": "a path for the GitLab Code Quality report, relative to the "
                          "config file",
    "github_summary": "true or false: append the Markdown report to $GITHUB_STEP_SUMMARY",
    "quiet": "true or false: print only the verdict line and the failing gates",
    "progress": "true or false: a progress bar on a terminal (default: true)",
}


def split(data: Mapping[str, Any], path: str, prefix: str = "") -> tuple[dict[str, Any],
                                                                         dict[str, Any]]:
    """The audit's settings, and the report settings (checked, paths resolved), of ``data``
    read from the config file ``path``; ``prefix`` is where they sit in the file."""
    audit = {k: v for k, v in data.items() if k not in EXPECTED}
    reports: dict[str, Any] = {}
    base = os.path.dirname(path)
    for key in PATHS:
        if key in data:
            value = data[key]
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{path}: key '{prefix}{key}' must be {EXPECTED[key]}, not "
                                  f"{value!r}")
            reports[key] = value if key == "json" and value == "-" else \
                os.path.normpath(os.path.join(base, os.path.expanduser(value)))
    for key in SWITCHES:
        if key in data:
            if not isinstance(data[key], bool):
                raise ConfigError(f"{path}: key '{prefix}{key}' must be true or false, not "
                                  f"{data[key]!r}")
            reports[key] = data[key]
    return audit, reports


def merged(flags: Mapping[str, Any], file: Mapping[str, Any]) -> dict[str, Any]:
    """Each report setting from its flag when given (not None), else from the file."""
    return {key: flags[key] if flags.get(key) is not None else file.get(key)
            for key in (*PATHS, *SWITCHES)}
