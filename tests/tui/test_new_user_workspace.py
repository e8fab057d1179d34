"""Issue 21 items 2-8 in the workspace, driven through the real app with Pilot on a real project file."""

from __future__ import annotations

import json
import re

from app.tui.app import WaveqdaApp
from app.tui.screens.coder import CoderScreen
from app.tui.screens.dialogs import ChoiceDialog, GoToDialog, TextPrompt
from app.tui.screens.help import HelpScreen
from app.tui.screens.home import HomeScreen
from app.tui.widgets.transcript_view import TranscriptView
from models.codes import CodeTree
from models.coding import apply_codes
from models.transcripts import find_transcript
from tests.tui.helpers import screen_text, type_text
from tests.tui.test_coder import codings_of, open_transcript

SMALL = (80, 24)
LARGE = (200, 60)


def code_id(project, path: str) -> int:
    with project.read() as session:
        return CodeTree.load(session).find(path).id


# --- item 3: "." repeats the last code ---------------------------------------------------------------


async def test_full_stop_key_repeats_the_last_code(make_app, study):
    app = make_app()
    async with app.run_test(size=SIZE_CODER) as pilot:
        view = await open_transcript(pilot, "P01/T2")
        view.set_caret(view.text.index("Harder."))
        await pilot.press("shift+down", "c")
        await type_text(pilot, "hope")
        await pilot.press("enter")
        await pilot.pause()
        view.set_caret(view.text.index("I feel valued"))
        await pilot.press("full_stop")  # the key Textual reports for "."
        await pilot.pause()
        assert ("Feelings/Hope", "I feel valued by patients though.") in codings_of(study, "P01/T2")


SIZE_CODER = (120, 36)


# --- item 4: Esc at "Who is coding?" leaves the project read-only --------------------------------------


async def test_escape_at_who_is_coding_is_read_only_until_a_valid_name_is_given(study, tmp_path):
    config = tmp_path / "cfg"
    app = WaveqdaApp(study, config_dir=config, project_path=study.path)
    async with app.run_test(size=SIZE_CODER) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, TextPrompt)
        await pilot.press("escape")
        await pilot.pause()
        assert app.coder == "" and app.read_only
        assert "read-only" in screen_text(app)
        view = await open_transcript(pilot, "P01/T2")
        before = codings_of(study, "P01/T2", coder=None)
        view.set_caret(view.text.index("Harder."))
        app.screen.apply([code_id(study, "Feelings/Hope")])
        await pilot.pause()
        assert codings_of(study, "P01/T2", coder=None) == before  # nothing stored as "coder"
        assert isinstance(app.screen, TextPrompt)  # asked again instead
        await type_text(pilot, "a\x1bb")  # a control character: refused in the dialog, which stays open
        await pilot.press("ctrl+u")
        await type_text(pilot, "  Ann   Smith  ")
        await pilot.press("enter")
        await pilot.pause()
        assert app.coder == "Ann Smith" and not app.read_only
    assert "Ann Smith" in json.loads((config / "workspace.json").read_text())["coders"].values()
    assert not (config / "workspace.json").read_text().count('"coder"')


async def test_a_coder_name_with_a_control_character_is_refused_in_the_prompt(study, tmp_path):
    app = WaveqdaApp(study, config_dir=tmp_path / "cfg", project_path=study.path)
    async with app.run_test(size=SIZE_CODER) as pilot:
        await pilot.pause()
        prompt = app.screen
        assert isinstance(prompt, TextPrompt)
        prompt.query_one("Input").value = "Ann\x07"
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is prompt and app.read_only
        assert "control character" in screen_text(app)


# --- item 8: ctrl+q everywhere; keys typed during start-up ---------------------------------------------


async def test_ctrl_q_quits_from_the_first_run_prompt(study, tmp_path):
    app = WaveqdaApp(study, config_dir=tmp_path / "cfg", project_path=study.path)
    async with app.run_test(size=SIZE_CODER) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, TextPrompt)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running


async def test_ctrl_q_quits_from_dialogs_and_screens(make_app):
    for keys in (["ctrl+e"], ["question_mark"], ["ctrl+g"], ["f3"], ["enter", "c"]):
        app = make_app()
        async with app.run_test(size=SIZE_CODER) as pilot:
            await pilot.press(*keys)
            await pilot.pause()
            await pilot.press("ctrl+q")
            await pilot.pause()
            assert not app.is_running, keys


async def test_a_name_and_enter_typed_during_start_up_reach_the_prompt(study, tmp_path):
    """Typed before the terminal is in raw mode, Enter arrives as a line feed (ctrl+j)."""
    app = WaveqdaApp(study, config_dir=tmp_path / "cfg", project_path=study.path)
    async with app.run_test(size=SIZE_CODER) as pilot:
        await pilot.press("B", "e", "n", "ctrl+j")
        await pilot.pause()
        assert app.coder == "Ben"
        assert isinstance(app.screen, HomeScreen)


# --- items 6 and 7: areas without function keys, F2 is Home, help says so ------------------------------


async def test_f2_opens_home_not_the_last_transcript(make_app):
    app = make_app()
    async with app.run_test(size=SIZE_CODER) as pilot:
        await pilot.press("enter")  # open P01/T1
        await pilot.pause()
        assert isinstance(app.screen, CoderScreen)
        await pilot.press("f3")
        await pilot.pause()
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)


async def test_every_area_is_reachable_without_function_keys(make_app):
    from app.tui.screens.base import AREAS
    from app.tui.screens.dialogs import area_letters

    letters = area_letters(AREAS)
    assert len(set(letters.values())) == len(AREAS)
    app = make_app()
    async with app.run_test(size=SIZE_CODER) as pilot:
        for key, _fkey, _label in reversed(AREAS):
            await pilot.press("ctrl+g")
            await pilot.pause()
            assert isinstance(app.screen, GoToDialog)
            await pilot.press(letters[key])
            await pilot.pause()
            await app.workers.wait_for_complete()
            assert app.current_mode == key and getattr(app.screen, "AREA", None) == key, key


async def test_help_names_every_area_key_and_the_macos_notes(make_app):
    from app.tui.screens.base import AREAS

    app = make_app()
    async with app.run_test(size=LARGE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert f"{AREAS[0][1]}–{AREAS[-1][1]}" in text and "F2–F6" not in text
        assert "macOS" in text and "ctrl+g" in text
        for _key, fkey, label in AREAS:
            assert f"{label} {fkey}" in text


# --- item 2: coding stripes ------------------------------------------------------------------------------


def stripe_columns(view: TranscriptView, row: int) -> str:
    """The stripe cells of a row of the view (the lanes, before the labels)."""
    line = view.render_line(row - view.scroll_offset.y).text
    start = view._gutter + view._text_width + 1
    return line[start : start + view._lane_count]


async def test_codings_on_one_line_each_get_a_stripe_and_a_legible_label(make_app, study):
    with study.read() as session:
        text = find_transcript(session, "P01/T1").text
    # three codings that do not overlap, on one line of Dana's answer, by one coder
    for needle, code in (
        ("It was brilliant.", "Feelings/Hope"),
        ("I felt supported by everyone.", "Support/Peer support"),
        ("Sandra was kind.", "Barriers/Being ignored"),
    ):
        start = text.index(needle)
        apply_codes(study, "tester", "P01/T1", [code], "Ann", start, start + len(needle))
    app = make_app()
    for size in (SMALL, LARGE):
        async with app.run_test(size=size) as pilot:
            view = await open_transcript(pilot, "P01/T1")
            await pilot.pause()
            for row, line in enumerate(view._lines):
                drawn = view.codings_on_row(row)
                if not drawn or line.kind == 2:
                    continue
                lanes = [view._lanes[view.codings.index(c)] for c in drawn]
                assert len(set(lanes)) == len(lanes), (size, row)  # no two codings share a column on a row
                cells = stripe_columns(view, row)
                shown = min(len(drawn), view._lane_count)
                assert sum(ch != " " for ch in cells) == shown, (size, row, cells)
            row = view._index.row_of(text.index("It was brilliant."))
            starting = [c for c in view.codings_on_row(row) if c.start >= view._lines[row].start]
            assert len(starting) >= 2
            label = view.render_line(row - view.scroll_offset.y).text[view._gutter + view._text_width + 1 :]
            names = label[view._lane_count :].strip()
            assert "Hope" in names and not re.search(r"(^|\s)\w{1,2}…", names), label  # never "W…"
            assert len(re.findall(r"\w+…|\w{3,}", names)) >= 2, label
            # i on the line lists the codings there, with their full paths
            view.set_caret(text.index("It was brilliant."))
            await pilot.press("i")
            await pilot.pause()
            assert isinstance(app.screen, ChoiceDialog)
            listed = screen_text(app)
            for path in ("Feelings/Hope", "Support/Peer support"):
                assert path in listed
            await pilot.press("escape")
            await pilot.pause()
            app = make_app()


async def test_clicking_the_stripes_lists_the_codings_on_that_line(make_app, study):
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        view = await open_transcript(pilot, "P01/T1")
        row = view._index.row_of(view.text.index("The supervision was good."))
        x = view._gutter + view._text_width + 1
        await pilot.click(view, offset=(x, row - view.scroll_offset.y))
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog)
        assert "Support/Supervision" in screen_text(app)
        keys = [str(prompt) for _id, prompt in app.screen.choices]
        wanted = next(i for i, prompt in enumerate(keys) if "Supervision" in prompt)
        await pilot.press(*["down"] * wanted, "enter")  # choosing it selects its words
        await pilot.pause()
        assert view.text[slice(*view.selection)] == "The supervision was good."


def test_labels_abbreviate_legibly_and_never_to_one_letter():
    from app.tui.widgets.layout import abbreviate
    from app.tui.widgets.transcript_paint import fit_labels

    assert abbreviate("Money worries", 6) == "MonWor"
    assert abbreviate("Money worries", 10) == "Money wor…"
    assert abbreviate("Peer support", 4) == "PeSu"
    assert abbreviate("Hope", 4) == "Hope"
    labels = [("", "Work insecurity", "", "#f00"), ("", "Supervision", "", "#0f0"), ("★", "Peer support", "✎", "#00f")]
    for room in (8, 12, 16, 24, 40):
        fitted = fit_labels(labels, room)
        assert sum(len(text) + 1 for text, _ in fitted) <= room + 1
        for text, _ in fitted:
            assert len(text) >= 3 or text.startswith("+"), (room, fitted)
        shown = [text for text, colour in fitted if colour]
        hidden = next((int(text[1:]) for text, colour in fitted if not colour), 0)
        assert len(shown) + hidden == len(labels)  # every coding is named or counted
