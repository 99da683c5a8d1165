"""record: what is kept of a run.  runfile.py writes and reads the run file (every sample, cues,
events) in the bytes runformat.py lays out; store.py is the SQLite history of runs and their
strides, with its tables in schema.py and the rows a run file becomes in ingest.py; importer.py
turns another IMU's CSV, read by csv_columns.py, into an ordinary run file (import_sensors.py: the
one or two sensors of the file and how each was worn; import_counts.py: their int16 counts)."""
