"""Pain and load: the pain journal's entries beside each run's load, and guidance from both
(docs/pain-and-load.md).  load.py: minutes and strides per run from the store; guidance.py: the
rules (pure functions, each Advice citing its source); timeline.py: runs, exercise sessions and pain
entries on one timeline; prompt.py: the question after a run; command.py: `stridecue log`."""
