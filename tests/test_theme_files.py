"""Theme files read without pydantic where they can be: whatever the quick check accepts, the
theme model accepts too, as the same theme; what it does not, the model decides (it may still
accept it) and says why it refuses."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.test_fuzz_lines import CI
from thirdbook.locations import shipped_dir
from thirdbook.tui.theme_fields import COLOURS
from thirdbook.tui.theme_file import ThemeFile
from thirdbook.tui.themes import load_theme, plain_theme

GOOD = {"name": "ours", "primary": "#ff0000"}
FULL = {
    **GOOD,
    "dark": False,
    "background": "#101418",
    "variables": {"footer-key-foreground": "#5fafff"},
}
VALUES = st.sampled_from(
    [
        *("#ff0000", "#abc", "red", "rgb(1,2,3)", "ansi_red", "not-a-colour", "", "#12345"),
        *("ours", "a.b-c_1", "x y", "ours\n", "ünï", "-", "0", " red"),
        *(True, False, 0, 1, 2, -1, 1.5, ["red"], {}, {"a": "x"}, {"b-c": 1}, {"": "x"}),
        "(left out)",
    ]
)
KEYS = st.sampled_from(["name", "dark", "variables", *COLOURS, "extra", "Primary"])


def _model(raw: dict[str, Any]) -> Any:
    try:
        return ThemeFile.model_validate(raw).theme()
    except ValidationError:
        return None


@settings(CI, max_examples=500)
@given(changes=st.lists(st.tuples(KEYS, VALUES), min_size=1, max_size=2), full=st.booleans())
def test_what_the_quick_check_accepts_the_model_accepts_as_the_same_theme(
    changes: list[tuple[str, Any]], full: bool
) -> None:
    raw = dict(FULL if full else GOOD)
    for key, value in changes:  # a good theme with one or two of its keys changed
        if value == "(left out)":
            raw.pop(key, None)
        else:
            raw[key] = value
    quick = plain_theme(raw)
    if quick is not None:
        assert quick == _model(raw)


def test_plain_files_are_read_quickly_and_the_rest_by_the_model(tmp_path: Path) -> None:
    assert plain_theme(FULL) == _model(FULL) is not None
    for path in sorted(shipped_dir("themes").glob("*.toml")):
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        assert plain_theme(raw) == _model(raw) is not None, path.name
    # Declined by the quick check, accepted by the model (it converts the value) ...
    converted = tmp_path / "converted.toml"
    converted.write_text('name = "ours"\ndark = 0\nprimary = "#ff0000"\n')
    assert plain_theme(tomllib.loads(converted.read_text())) is None
    assert load_theme(converted).dark is False
    # ... or refused by it, saying why.
    for text, why in [
        ('name = "ours"\nprimary = "not-a-colour"\n', "primary: Value error, 'not-a-colour'"),
        ('name = "our theme"\nprimary = "#ff0000"\n', "name: String should match pattern"),
        ('name = "ours"\n', "primary: Field required"),
        ('name = "ours"\nprimary = "red"\nshade = 1\n', "shade: Extra inputs are not permitted"),
    ]:
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        with pytest.raises(ValueError) as refused:
            load_theme(bad)
        assert f"{bad}: " in str(refused.value) and why in str(refused.value)
