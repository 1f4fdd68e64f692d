"""CSV that a spreadsheet opens as data, never as formulas (OWASP's CSV injection guidance).

A council officer opens an export in Excel or LibreOffice, which run a cell that starts with =, +, -, @, a tab
or a carriage return as a formula. Cohort names, districts and staff names are typed by people, so every text
cell that starts that way is prefixed with a single quote, and every field is quoted. A number (an int, a float,
or text that is only a number, such as a negative change "-1.50") is left as it is: it cannot be a formula, and a
quote would turn it into text.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def neutralised(value: Any) -> Any:
    """The value as a spreadsheet should hold it: a formula-leading text prefixed with a single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """A header and the rows (keys not in `columns` are left out), every field quoted and neutralised."""
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=columns, lineterminator="\r\n", extrasaction="ignore", quoting=csv.QUOTE_ALL
    )
    writer.writerow({column: neutralised(column) for column in columns})
    for row in rows:
        writer.writerow({key: neutralised(value) for key, value in row.items()})
    return out.getvalue()
