"""Loading instrument definitions from JSON, filling SWEMWBS wording from a licensee's file, and proving that
the repository ships no SWEMWBS wording.

SWEMWBS wording is licensed and must not be published, so these tests use placeholder wording
("Placeholder item 1" ...) and recognise the real wording only by SHA-256 digests of its items.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from api.wellbeing.instruments import SHIPPED_INSTRUMENTS, load_instruments
from api.wellbeing.rules import ChangeUnit, MeaningfulChange, ScoringRule
from api.wellbeing.scoring import score

REPOSITORY = Path(__file__).resolve().parents[2]
PLACEHOLDER_WORDING = {f"item_{number}": f"Placeholder item {number}" for number in range(1, 8)}


def shipped_definition(key: str) -> dict[str, object]:
    return json.loads((SHIPPED_INSTRUMENTS / f"{key}.json").read_text(encoding="utf-8"))


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def wording_file(tmp_path: Path) -> Path:
    return write_json(tmp_path / "swemwbs-wording.json", PLACEHOLDER_WORDING)


class TestShippedInstruments:
    def test_three_instruments_are_shipped_keyed_by_name(self):
        instruments = load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None)

        assert list(instruments) == ["gbo", "ons4", "swemwbs"]

    def test_ons4_ships_its_four_questions_with_crown_copyright_and_the_open_government_licence(self):
        ons4 = load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None)["ons4"]

        assert ons4.scoring is ScoringRule.PER_ITEM
        assert ons4.has_wording
        assert [(item.key, item.min_response, item.max_response) for item in ons4.items] == [
            ("life_satisfaction", 0, 10),
            ("worthwhile", 0, 10),
            ("happy_yesterday", 0, 10),
            ("anxious_yesterday", 0, 10),
        ]
        assert ons4.item("life_satisfaction").prompt == "Overall, how satisfied are you with your life nowadays?"
        assert ons4.item("anxious_yesterday").prompt is not None
        assert "how anxious did you feel yesterday?" in ons4.item("anxious_yesterday").prompt
        assert ons4.item("anxious_yesterday").lower_is_better
        assert (ons4.min_age, ons4.max_age) == (10, None)
        assert ons4.all_items_required
        assert "Crown copyright" in ons4.licence
        assert "Open Government Licence" in ons4.licence
        assert "Office for National Statistics" in ons4.credit
        assert "Open Government Licence v3.0" in ons4.credit

    def test_gbo_ships_three_goals_rated_0_to_10_credited_to_law_and_jacob_2015(self):
        gbo = load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None)["gbo"]

        assert gbo.scoring is ScoringRule.PER_GOAL
        assert gbo.has_wording
        assert [(item.key, item.min_response, item.max_response) for item in gbo.items] == [
            ("goal_1", 0, 10),
            ("goal_2", 0, 10),
            ("goal_3", 0, 10),
        ]
        assert not gbo.all_items_required
        assert gbo.meaningful_change == MeaningfulChange(Decimal("2.5"), ChangeUnit.RATING_POINTS)
        assert gbo.credit.startswith("Goal Based Outcomes: Law, D. and Jacob, J. (2015)")

    def test_swemwbs_ships_its_scale_table_and_credit_but_no_wording(self):
        swemwbs = load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None)["swemwbs"]

        assert swemwbs.scoring is ScoringRule.SUM_THEN_TABLE
        assert [(item.key, item.prompt, item.min_response, item.max_response) for item in swemwbs.items] == [
            (f"item_{number}", None, 1, 5) for number in range(1, 8)
        ]
        assert swemwbs.instructions is None
        assert not swemwbs.has_wording
        assert swemwbs.all_items_required
        assert (swemwbs.min_age, swemwbs.max_age) == (13, None)
        assert swemwbs.meaningful_change == MeaningfulChange(Decimal(3), ChangeUnit.METRIC_POINTS)
        assert swemwbs.credit == "© NHS Health Scotland, University of Warwick and University of Edinburgh, 2006"
        assert "registration" in swemwbs.licence
        assert "must not be changed or published" in swemwbs.licence
        assert swemwbs.score_table is not None
        assert (swemwbs.score_table[7], swemwbs.score_table[8], swemwbs.score_table[35]) == (
            Decimal("7.00"),
            Decimal("9.51"),
            Decimal("35.00"),
        )

    def test_the_definitions_and_the_check_in_page_are_packaged_with_the_api(self):
        pyproject = (REPOSITORY / "pyproject.toml").read_text(encoding="utf-8")

        package_data = pyproject.split("[tool.setuptools.package-data]\n", 1)[1].split("\n\n", 1)[0]
        for pattern in ("wellbeing/instruments/*.json", "wellbeing/templates/checkin/*.html", "wellbeing/static/*.css"):
            assert f'"{pattern}"' in package_data


class TestLicensedWording:
    def test_the_licensees_file_fills_in_every_swemwbs_prompt(self, wording_file):
        swemwbs = load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=wording_file)["swemwbs"]

        assert swemwbs.has_wording
        assert [item.prompt for item in swemwbs.items] == [f"Placeholder item {number}" for number in range(1, 8)]

    def test_wording_changes_nothing_else(self, wording_file):
        plain = load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=None)
        worded = load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=wording_file)
        answers = {f"item_{number}": 3 for number in range(1, 8)}

        assert worded["ons4"] == plain["ons4"]
        assert worded["gbo"] == plain["gbo"]
        assert score(worded["swemwbs"], answers) == score(plain["swemwbs"], answers)

    def test_wording_for_only_some_items_is_refused_naming_the_first_missing_item(self, tmp_path):
        partial = {key: wording for key, wording in PLACEHOLDER_WORDING.items() if key != "item_5"}

        with pytest.raises(ValueError, match=r"^partial\.json: item_5: wording is missing"):
            load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=write_json(tmp_path / "partial.json", partial))

    def test_wording_for_an_item_that_does_not_exist_is_refused(self, tmp_path):
        extra = {**PLACEHOLDER_WORDING, "item_8": "Placeholder item 8"}

        with pytest.raises(ValueError, match=r"^extra\.json: item_8: no shipped instrument"):
            load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=write_json(tmp_path / "extra.json", extra))

    def test_the_file_cannot_replace_wording_the_product_ships(self, tmp_path):
        reworded = {**PLACEHOLDER_WORDING, "life_satisfaction": "Placeholder"}

        with pytest.raises(ValueError, match=r"^reworded\.json: life_satisfaction: no shipped instrument"):
            load_instruments(
                SHIPPED_INSTRUMENTS, licensed_wording_file=write_json(tmp_path / "reworded.json", reworded)
            )

    @pytest.mark.parametrize(
        ("content", "problem"),
        [
            ({**PLACEHOLDER_WORDING, "item_3": ""}, "item_3: must be a non-empty string"),
            ({**PLACEHOLDER_WORDING, "item_3": 3}, "item_3: must be a non-empty string"),
            (list(PLACEHOLDER_WORDING.values()), "must be an object mapping item key to wording"),
            ({}, "must be an object mapping item key to wording"),
        ],
    )
    def test_a_malformed_wording_file_is_refused(self, tmp_path, content, problem):
        path = write_json(tmp_path / "wording.json", content)

        with pytest.raises(ValueError, match=f"^wording\\.json: {problem}"):
            load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=path)

    def test_a_missing_wording_file_is_refused_by_name(self, tmp_path):
        with pytest.raises(ValueError, match=r"^absent\.json: cannot be read"):
            load_instruments(SHIPPED_INSTRUMENTS, licensed_wording_file=tmp_path / "absent.json")

    def test_an_item_key_shared_by_two_unworded_instruments_is_ambiguous(self, tmp_path, wording_file):
        directory = tmp_path / "instruments"
        directory.mkdir()
        write_json(directory / "swemwbs.json", shipped_definition("swemwbs"))
        twin = {**shipped_definition("swemwbs"), "key": "twin"}
        write_json(directory / "twin.json", twin)

        with pytest.raises(ValueError, match="item_1: matches unworded items of swemwbs and twin"):
            load_instruments(directory, licensed_wording_file=wording_file)


def with_change(data: dict, path: tuple[object, ...], value: object) -> dict:
    """A deep copy of a definition with one field replaced (or removed, when value is REMOVE)."""
    changed = copy.deepcopy(data)
    target = changed
    for step in path[:-1]:
        target = target[step]
    if value is REMOVE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return changed


REMOVE = object()


class TestMalformedDefinitions:
    @pytest.mark.parametrize(
        ("key", "path", "value", "problem"),
        [
            ("ons4", ("name",), REMOVE, "name: is missing"),
            ("ons4", ("colour",), "blue", "colour: is not a known field"),
            ("ons4", ("items", 1, "max"), "10", r"items\[1\]\.max: must be a whole number"),
            ("ons4", ("items", 1, "min"), False, r"items\[1\]\.min: must be a whole number"),
            ("ons4", ("items", 1, "min"), 0.5, r"items\[1\]\.min: must be a whole number"),
            ("ons4", ("items", 2, "wording"), "x", r"items\[2\]\.wording: is not a known field"),
            ("ons4", ("items", 3, "lower_is_better"), "yes", r"items\[3\]\.lower_is_better: must be true or false"),
            ("ons4", ("items", 0, "prompt"), "", r"items\[0\]\.prompt: must be a non-empty string"),
            ("ons4", ("items", 0), "life", r"items\[0\]: must be an object"),
            ("ons4", ("items",), [], "items: must be a non-empty list"),
            ("ons4", ("scoring",), "average", "scoring: must be one of per_item, sum_then_table, per_goal"),
            ("ons4", ("meaningful_change", "threshold"), 0, "meaningful_change.threshold: must be above zero"),
            ("ons4", ("meaningful_change", "threshold"), "2", "meaningful_change.threshold: must be a number"),
            ("ons4", ("meaningful_change", "unit"), "points", "meaningful_change.unit: must be one of"),
            ("ons4", ("meaningful_change", "unit"), "metric_points", "per_item scoring measures change in"),
            ("ons4", ("meaningful_change",), 2, "meaningful_change: must be an object"),
            ("ons4", ("min_age",), "10", "min_age: must be a whole number"),
            ("ons4", ("items_required",), 1, "items_required: must be true or false"),
            ("ons4", ("licence",), None, "licence: must be a non-empty string"),
            ("ons4", ("items", 1, "key"), "life_satisfaction", "item 'life_satisfaction' is listed twice"),
            ("gbo", ("score_table",), {"0": 0}, "only sum_then_table scoring uses a score table"),
            ("swemwbs", ("score_table", "35"), REMOVE, "every raw total from 7 to 35"),
            ("swemwbs", ("score_table", "20"), "18.59", "score_table.20: must be a number"),
            ("swemwbs", ("score_table", "20"), 99, "never go down"),
            ("swemwbs", ("score_table",), [7.0], "score_table: must be an object"),
            ("swemwbs", ("score_table", "x"), 1, "score_table: 'x' is not a raw total"),
            ("swemwbs", ("score_table",), None, "needs a score table"),
        ],
    )
    def test_a_malformed_definition_is_refused_naming_the_file_and_field(self, tmp_path, key, path, value, problem):
        write_json(tmp_path / f"{key}.json", with_change(shipped_definition(key), path, value))

        with pytest.raises(ValueError, match=f"^{key}\\.json: .*{problem}"):
            load_instruments(tmp_path, licensed_wording_file=None)

    def test_a_file_must_be_named_after_its_instrument(self, tmp_path):
        write_json(tmp_path / "wellbeing.json", shipped_definition("ons4"))

        with pytest.raises(ValueError, match=r"^wellbeing\.json: key: 'ons4' must match the file name"):
            load_instruments(tmp_path, licensed_wording_file=None)

    def test_a_field_given_twice_is_refused(self, tmp_path):
        text = (SHIPPED_INSTRUMENTS / "ons4.json").read_text(encoding="utf-8")
        (tmp_path / "ons4.json").write_text(text.replace('"version": "1",', '"version": "1", "version": "2",'))

        with pytest.raises(ValueError, match=r"^ons4\.json: version: given twice"):
            load_instruments(tmp_path, licensed_wording_file=None)

    def test_a_file_that_is_not_json_is_refused_with_its_line(self, tmp_path):
        (tmp_path / "ons4.json").write_text('{\n  "key": "ons4",\n}\n', encoding="utf-8")

        with pytest.raises(ValueError, match=r"^ons4\.json: not valid JSON \(.* at line 3\)"):
            load_instruments(tmp_path, licensed_wording_file=None)

    def test_nan_is_not_a_threshold(self, tmp_path):
        text = (SHIPPED_INSTRUMENTS / "gbo.json").read_text(encoding="utf-8")
        (tmp_path / "gbo.json").write_text(text.replace('"threshold": 2.5', '"threshold": NaN'), encoding="utf-8")

        with pytest.raises(ValueError, match=r"^gbo\.json: NaN is not a number"):
            load_instruments(tmp_path, licensed_wording_file=None)

    def test_a_definition_that_is_not_an_object_is_refused(self, tmp_path):
        write_json(tmp_path / "ons4.json", [shipped_definition("ons4")])

        with pytest.raises(ValueError, match=r"^ons4\.json: must be an object"):
            load_instruments(tmp_path, licensed_wording_file=None)

    def test_a_directory_without_definitions_is_refused(self, tmp_path):
        with pytest.raises(ValueError, match="no instrument definitions"):
            load_instruments(tmp_path, licensed_wording_file=None)
        with pytest.raises(ValueError, match="no instrument definitions"):
            load_instruments(tmp_path / "absent", licensed_wording_file=None)


# SHA-256 of each SWEMWBS item's wording, normalised by words() below, with its number of words. The wording
# itself must never be committed, so it is recognised by digest.
SWEMWBS_ITEM_DIGESTS = {
    (7, "6bb73c165a471ad1d274b33f8532c6831d836fafeb0667cf176748080d7bbe25"),
    (4, "b5df9f204f43dd5c1eb6118ed83bcfc3a166fd77aa9f6de11826f3bb503c0818"),
    (4, "ffc7c370ab8b420b242d66193d0a30a848417d63471553f2a63032fedb5a4340"),
    (6, "da58dbcb74033e35516ac739aa3f2c1727d18bd2d1851ee97ea40f46bb5bc280"),
    (4, "51654af5f7b578ae959f2ede7dbbc66ea2500dbaa3122654d16d73cacadaad3a"),
    (7, "10dcd2a0663610a466923b74193f0da6797e42aef7ce815a66fa09047633c436"),
    (11, "488384d472cb25399282c2ef6f154da7b810e81becedf062c5b9cc9644b3cb1e"),
}
# What the product ships or commits; instance/ (local, ignored by git) may hold a licensee's file.
SHIPPED_FOLDERS = ("api", "scheduling", "notifications", "migrations", "openapi", "docs", "tests")
TEXT_SUFFIXES = {".py", ".json", ".md", ".txt", ".html", ".jinja", ".j2", ".toml", ".yaml", ".yml", ".cfg", ".csv"}


def words(text: str) -> list[str]:
    """Lower case, apostrophes dropped (I've -> ive), every other non-letter a word break."""
    return re.findall(r"[a-z]+", text.lower().replace("\u2019", "").replace("'", ""))


def digest(text_words: list[str]) -> str:
    return hashlib.sha256(" ".join(text_words).encode()).hexdigest()


def files_containing(digests: set[tuple[int, str]], folders: list[Path]) -> list[Path]:
    lengths = {length for length, _ in digests}
    found = []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.suffix not in TEXT_SUFFIXES or "__pycache__" in path.parts:
                continue
            text_words = words(path.read_text(encoding="utf-8", errors="ignore"))
            windows = {
                (length, digest(text_words[start : start + length]))
                for length in lengths
                for start in range(len(text_words) - length + 1)
            }
            if windows & digests:
                found.append(path)
    return found


class TestNoSwemwbsWordingIsShipped:
    def test_every_swemwbs_prompt_and_its_instructions_are_null_in_the_shipped_file(self):
        data = shipped_definition("swemwbs")

        assert data["instructions"] is None
        assert [item["prompt"] for item in data["items"]] == [None] * 7  # type: ignore[index, union-attr]

    def test_no_shipped_or_committed_file_contains_any_swemwbs_item(self):
        folders = [REPOSITORY / name for name in SHIPPED_FOLDERS if (REPOSITORY / name).is_dir()]
        assert REPOSITORY / "api" in folders

        assert files_containing(SWEMWBS_ITEM_DIGESTS, folders) == []

    def test_the_search_finds_wording_whatever_its_case_punctuation_or_line_breaks(self, tmp_path):
        planted = {(5, digest(words("I've been a placeholder item")))}
        (tmp_path / "page.html").write_text(
            "<p>Intro</p>\n<label>I\u2019VE been\n  a placeholder, item.</label>", encoding="utf-8"
        )
        (tmp_path / "other.py").write_text("I have been a placeholder item", encoding="utf-8")

        assert files_containing(planted, [tmp_path]) == [tmp_path / "page.html"]
