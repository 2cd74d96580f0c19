"""JUnit XML: one test case per gate, so that CI systems list the gates in their test panels.

The layout is the one CI systems read (Jenkins, GitLab, GitHub test-report
actions): ``<testsuites>`` holding one ``<testsuite>`` with ``tests``,
``failures``, ``errors``, ``skipped`` and ``time``; each ``<testcase>`` has
``classname`` ``fairaudit.<grouping>`` and ``name`` ``<kind> <criterion>``. A
failed gate is a ``<failure>`` naming value and threshold; an inconclusive or
skipped gate is ``<skipped>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..result import AuditResult
from ..text import printable
from . import view


def _text(value: object) -> str:
    # XML 1.0 cannot hold most control characters, escaped or not; they and every
    # other invisible character are shown as escapes, as in every report
    return printable(str(value))


def render(result: AuditResult) -> str:
    """The JUnit XML document, UTF-8, ending in a newline."""
    gates = result.gates
    failures = sum(1 for g in gates if view.status(g) == "fail")
    skipped = sum(1 for g in gates if view.status(g) in ("skipped", "inconclusive"))
    counts = {"tests": str(len(gates)), "failures": str(failures), "errors": "0",
              "skipped": str(skipped), "time": "0"}
    p = result.provenance
    root = ET.Element("testsuites", {"name": "fairaudit", **counts})
    suite = ET.SubElement(root, "testsuite", {"name": "fairaudit gates", **counts,
                                               "timestamp": _text(p.timestamp)})
    props = ET.SubElement(suite, "properties")
    for name, value in (("fairaudit.version", p.version), ("verdict", view.verdict(result)),
                        ("rows_audited", str(p.rows_used)),
                        *((f"input.{i}", f"{f.path} sha256:{f.sha256}" if f.sha256 else f.path)
                          for i, f in enumerate(p.files, 1))):
        ET.SubElement(props, "property", {"name": name, "value": _text(value)})
    for g in gates:
        case = ET.SubElement(suite, "testcase", {
            "classname": _text(f"fairaudit.{g.grouping}"),
            "name": _text(f"{g.kind} {g.criterion}"),
            "time": "0",
        })
        s = view.status(g)
        sentence = _text(view.gate_sentence(g))
        if s == "fail":
            failure = ET.SubElement(case, "failure", {"message": sentence,
                                                      "type": "fairness gate failed"})
            failure.text = sentence
        elif s in ("skipped", "inconclusive"):
            ET.SubElement(case, "skipped", {"message": _text(f"{s}: {sentence}")})
        else:
            out = ET.SubElement(case, "system-out")
            out.text = sentence
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
