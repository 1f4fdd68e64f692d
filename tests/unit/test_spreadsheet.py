"""CSV exports open in a spreadsheet as data: formula-leading text is quoted, numbers stay numbers."""

import pytest

from api.spreadsheet import csv_text, neutralised


@pytest.mark.parametrize("text", ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", "-", "=", "-1.5x", "+44 7700"])
def test_text_a_spreadsheet_would_run_is_prefixed_with_a_quote(text):
    assert neutralised(text) == "'" + text


@pytest.mark.parametrize("value", ["-1.50", "+2", "12", "Medway", "a=b", " =1", "", None, -2, 3.5])
def test_numbers_and_ordinary_text_are_left_as_they_are(value):
    assert neutralised(value) == value


def test_every_field_is_quoted_and_a_negative_number_stays_a_number():
    text = csv_text(["change", "name", "note"], [{"change": "-1.50", "name": "-1.5x", "note": -2, "extra": "x"}])

    assert text == '"change","name","note"\r\n"-1.50","\'-1.5x","-2"\r\n'
