"""review: a recorded run looked at afterwards.  summary.py (the numbers and the text),
report.py (HTML), history.py (trends across runs), export.py and fit.py (CSV, Parquet, FIT),
guided.py (the guided run's segments compared)."""
