"""review: a recorded run looked at afterwards.  figures.py (the run's numbers), summary_text.py
(their lines) and summary.py (the `summary` command), report.py (HTML), history.py (trends
across runs), export.py and fit.py (CSV, Parquet, FIT), guided.py (the guided run's segments
compared)."""
