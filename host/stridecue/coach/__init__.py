"""coach: from strides to what the runner hears and sees.  policy.py decides cues (baseline,
threshold, hysteresis, fading); guided.py speaks the guided hip-or-foot protocol instead;
setup.py builds a coach from the settings and profile; audio.py speaks the cues; live_view.py is
the terminal dashboard."""
