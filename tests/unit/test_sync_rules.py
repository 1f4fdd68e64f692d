"""The sync cursor (api/sync/rules.py): text the phone sends back unread, that every pattern match decodes."""

from __future__ import annotations

import re
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.sync.rules import AFTER_ALL, CURSOR_PATTERN, START, Cursor, InvalidCursor, Position

BIG = 10**18 - 1
txids = st.integers(-1, BIG)
ids = st.integers(0, BIG)
entries = st.tuples(txids, ids)
positions = st.builds(Position, txids, ids, st.integers(0, AFTER_ALL), st.uuids())


@given(position=positions, pass_start=entries, watermark=entries)
def test_a_mid_pass_cursor_reads_back_as_it_was_written(position, pass_start, watermark):
    cursor = Cursor(position, pass_start=Position(*pass_start), watermark=watermark)

    encoded = cursor.encode()

    assert re.match(CURSOR_PATTERN, encoded)
    assert Cursor.decode(encoded) == cursor


@given(entry=entries)
def test_between_passes_a_cursor_is_the_log_position_it_always_was(entry):
    encoded = Cursor(Position(*entry)).encode()

    assert encoded == f"{entry[0]}.{entry[1]}"
    assert Cursor.decode(encoded) == Cursor(Position(*entry))


def test_no_cursor_starts_at_the_beginning():
    assert Cursor.decode(None) == Cursor.decode("") == Cursor(START)
    assert not Cursor.decode(None).mid_pass


@given(raw=st.from_regex(CURSOR_PATTERN, fullmatch=True))
def test_every_string_the_documented_pattern_allows_decodes(raw):
    Cursor.decode(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "12",
        "1.2.3",
        "1.x",
        " 1.2",
        "1.2\n",
        f"1.2.{AFTER_ALL + 1}." + "0" * 32 + ".1.2.3.4",
        "1.2.1." + "A" * 32 + ".1.2.3.4",
    ],
)
def test_anything_else_is_refused(raw):
    with pytest.raises(InvalidCursor):
        Cursor.decode(raw)


def test_positions_order_as_the_stream_does():
    entry, first, second = Position(5, 7, 0, uuid.UUID(int=9)), Position(5, 8, 1), Position(5, 8, 2)

    assert entry < first < second < Position(5, 8) < Position(6, 0, 0)
    assert Position(5, 8, 2).end_of_entry() == Position(5, 8, AFTER_ALL)
