"""Settings from the phone: saved through coach/settings.py's checks; anything refused is a 400
naming the problem, and the file is left byte for byte as it was."""

from __future__ import annotations

import pytest
from serve_support import client_for, same_origin

from stridecue.coach.settings import load_profile

FILE = """# Anna's settings (her physio set k)
default_profile = "anna"

[profile.anna]
k = 2.5  # keep
volume = 0.8
sound = "speech"

[profile.ben]
threshold = "absolute"
absolute_deg = 9.0
"""


@pytest.fixture
def base(tmp_path):
    (tmp_path / "settings.toml").write_text(FILE)
    return tmp_path


def _post(client, form: dict):
    return client.post("/settings", data=form, headers=same_origin(client))


def test_settings_page_shows_the_default_profile_with_its_values(base):
    with client_for(base) as c:
        page = c.get("/settings").text
        assert 'name="profile" value="anna"' in page and 'value="2.5"' in page and 'value="0.8"' in page
        assert "Squeeze your glutes" in page  # a default filled in
        ben = c.get("/settings?profile=ben").text
        assert 'name="profile" value="ben"' in ben and '<option value="absolute" selected>' in ben and 'value="9"' in ben


def test_a_valid_edit_is_saved_keeping_the_files_comments(base):
    with client_for(base) as c:
        r = _post(c, {"profile": "anna", "threshold": "absolute", "absolute_deg": "7.5", "volume": "0,4", "sound": "both",
                      "voice": "en-gb", "wobble_words": "Knees out\r\n\r\nProud chest\r\n", "k": "2.5"})
        assert r.status_code == 303 and r.headers["location"] == "/settings?profile=anna&saved=1"
        assert "Saved." in c.get(r.headers["location"]).text
    text = (base / "settings.toml").read_text()
    assert "# Anna's settings (her physio set k)" in text and "k = 2.5  # keep" in text
    anna = load_profile(None, "anna", base)
    assert (anna.coach.threshold, anna.coach.absolute_deg, anna.volume, anna.sound, anna.voice) == ("absolute", 7.5, 0.4, "both", "en-gb")
    assert anna.coach.wobble_words == ("Knees out", "Proud chest")
    assert load_profile(None, "ben", base).coach.absolute_deg == 9.0  # the other profile untouched


def test_an_empty_field_goes_back_to_the_default(base):
    with client_for(base) as c:
        assert _post(c, {"profile": "anna", "volume": ""}).status_code == 303
    assert load_profile(None, "anna", base).volume == 1.0
    assert "volume" not in (base / "settings.toml").read_text()


def test_a_new_profile_and_a_new_file(tmp_path):
    with client_for(tmp_path) as c:
        assert _post(c, {"profile": "cara", "volume": "0.5"}).status_code == 303
    assert load_profile(None, "cara", tmp_path).volume == 0.5


@pytest.mark.parametrize("form, message", [
    ({"volume": "3"}, "profile.anna.volume: 3.0 is not allowed (must be a number from 0 to 1)"),
    ({"volume": "loud"}, "volume: 'loud' is not a number"),
    ({"k": "nan"}, "k: 'nan' is not a finite number"),
    ({"k": "-1"}, "profile.anna.k: -1.0 is not allowed"),
    ({"absolute_deg": "0"}, "profile.anna.absolute_deg: 0.0 is not allowed"),
    ({"threshold": "sometimes"}, "profile.anna.threshold: 'sometimes' is not allowed (must be one of 'baseline', 'absolute')"),
    ({"sound": "loud"}, "profile.anna.sound: 'loud' is not allowed"),
    ({"voice": "x" * 300}, "profile.anna.voice"),
    ({"wobble_words": "\n\n"}, None),  # empty after trimming: the default, allowed
])
def test_invalid_input_is_400_with_the_message_and_the_file_untouched(base, form, message):
    before = (base / "settings.toml").read_bytes()
    with client_for(base) as c:
        r = _post(c, {"profile": "anna", **form})
    if message is None:
        assert r.status_code == 303
        return
    assert r.status_code == 400
    assert message.replace("'", "&#x27;") in r.text
    assert 'id="error"' in r.text
    assert (base / "settings.toml").read_bytes() == before
    assert sorted(p.name for p in base.iterdir()) == ["settings.toml"]  # no temporary left behind


def test_a_bad_profile_name_and_a_non_form_body_are_refused(base):
    before = (base / "settings.toml").read_bytes()
    with client_for(base) as c:
        r = _post(c, {"profile": "../../x", "volume": "0.5"})
        assert r.status_code == 400 and "is not a profile name" in r.text
        r = c.post("/settings", content=b'{"volume": 0.5}', headers={**same_origin(c), "Content-Type": "application/json"})
        assert r.status_code == 415
    assert (base / "settings.toml").read_bytes() == before
