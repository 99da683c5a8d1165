"""The pain form from the phone: a rating is appended to the pain journal and its guidance shown;
without the token or from another origin nothing is written; a bad value is a 400 naming it."""

from __future__ import annotations

import pytest
from serve_support import client_for, make_data, same_origin

from stridecue.record.painlog import journal_path, read_journal


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    make_data(folder)
    return folder


def _journal(base) -> bytes:
    path = journal_path(base)
    return path.read_bytes() if path.exists() else b""


def test_a_rating_is_logged_and_its_guidance_shown(base):
    with client_for(base) as c:
        page = c.get("/pain")
        assert page.status_code == 200 and 'name="score"' in page.text
        run = page.text.split('<option value="', 2)[2].split('"', 1)[0]  # the newest run, chosen by default
        r = c.post("/pain", data={"score": "6", "run": run, "when": "next-morning", "note": "stairs"}, headers=same_origin(c))
        assert r.status_code == 303 and r.headers["location"] == "/pain?saved=1"
        shown = c.get(r.headers["location"]).text
        assert "Logged." in shown and "6/10" in shown and "above 5/10" in shown and "Silbernagel et al. 2007" in shown
        entry = read_journal(base).entries[-1]
        assert (entry.score, entry.kind, entry.run, entry.note) == (6, "next_morning", run, "stairs")
        report = c.get("/runs/1").text
        assert "Log pain" in report and 'id="pain"' in report and "Guidance, not a diagnosis" in report


@pytest.mark.parametrize("form, words", [({"score": "11"}, "pain 11"), ({"score": "-1"}, "pain -1"), ({"score": "abc"}, "pain &#x27;abc&#x27;"),
                                         ({"score": "3", "run": "nope"}, "run &#x27;nope&#x27;"),
                                         ({"score": "3", "when": "later"}, "--when")])
def test_a_bad_value_is_a_400_and_nothing_is_written(base, form, words):
    before = _journal(base)
    with client_for(base) as c:
        r = c.post("/pain", data=form, headers=same_origin(c))
    assert r.status_code == 400 and words in r.text
    assert _journal(base) == before


def test_without_the_token_or_from_another_origin_nothing_is_written(base):
    before = _journal(base)
    with client_for(base, authorised=False) as c:
        assert c.post("/pain", data={"score": "2"}, headers=same_origin(c)).status_code == 401
        assert c.get("/pain").status_code == 401
    with client_for(base) as c:
        assert c.post("/pain", data={"score": "2"}, headers={"Origin": "http://evil.example"}).status_code == 403
        assert c.post("/pain", data={"score": "2"}).status_code == 403  # no Origin, no Referer
    assert _journal(base) == before
