"""Print the tests a pytest run skipped, one line per reason: ``SKIPPED <n> test(s): <reason>``.

``python scripts/pytest_skips.py JUNIT_XML``, for the summary of ``scripts/test.sh``: a green
summary must say what did not run and, through the reason (which names what to install), how to
run it. Reads the ``--junitxml`` report pytest wrote (pytest-xdist merges its workers' results).
"""

from __future__ import annotations

import collections
import sys
import xml.etree.ElementTree as ET  # noqa: S405 - our own pytest's report, not untrusted input


def skip_lines(report: str) -> list[str]:
    """One line per distinct skip reason, most skipped first."""
    tree = ET.parse(report)  # noqa: S314 - see the import
    reasons = collections.Counter(
        " ".join((skipped.get("message") or "no reason given").split())
        for skipped in tree.iter("skipped")
    )
    return [
        f"SKIPPED {count} test{'s' if count > 1 else ''}: {reason}"
        for reason, count in reasons.most_common()
    ]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/pytest_skips.py JUNIT_XML")
    for line in skip_lines(sys.argv[1]):
        print(line)
