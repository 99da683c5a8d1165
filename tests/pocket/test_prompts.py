"""The daemon's spoken prompts: rendered once, then read from the cache (a reboot is quick)."""

from __future__ import annotations

import numpy as np
import pytest

from stridecue.pocket import prompts as prompts_mod
from stridecue.pocket.prompts import PLACES, WORDS, Prompts, phrase


def test_every_prompt_is_rendered_once_and_then_read_from_the_cache(tmp_path):
    first = Prompts(tmp_path / "prompts").prepare()
    assert first.note_ is None  # espeak-ng is installed by `make test` (tools/apt-packages.txt)
    expected = sum(len(PLACES) if "{place}" in w else 1 for w in WORDS.values())
    assert first.rendered_ == expected == len(list((tmp_path / "prompts").glob("*.wav")))
    second = Prompts(tmp_path / "prompts").prepare()
    assert second.rendered_ == 0
    a, b = first.clip("connected", "left shin"), second.clip("connected", "left shin")
    assert len(a) > 0.3 * 22050 and np.allclose(a, b, atol=3 / 32768)  # the cache holds 16-bit samples
    assert not np.array_equal(second.clip("lost", "left shin"), second.clip("lost", "right thigh"))


def test_a_damaged_cache_file_is_rendered_again(tmp_path):
    Prompts(tmp_path).prepare()
    for f in tmp_path.glob("*.wav"):
        f.write_bytes(b"RIFF\x00\x00")
    again = Prompts(tmp_path).prepare()
    assert again.rendered_ > 0 and len(again.clip("go")) > 1000


def test_without_espeak_each_prompt_is_a_tone(tmp_path, monkeypatch):
    monkeypatch.setattr(prompts_mod.shutil, "which", lambda name: None)
    p = Prompts(tmp_path).prepare()
    assert "espeak-ng is not installed" in p.note_
    assert len(p.clip("go")) > 0 and not np.array_equal(p.clip("go"), p.clip("lost", "left shin"))


def test_a_sensor_prompt_names_its_place():
    assert phrase("battery low", "right thigh") == "Right thigh sensor battery low."
    with pytest.raises(ValueError):
        phrase("lost")


def test_a_run_summary_is_spoken_but_not_kept(tmp_path):
    p = Prompts(tmp_path).prepare()
    before = sorted(tmp_path.glob("*.wav"))
    clip = p.say("Run saved. 32 minutes, 4310 strides.", keep=False)
    assert len(clip) > 0.5 * 22050
    assert sorted(tmp_path.glob("*.wav")) == before
