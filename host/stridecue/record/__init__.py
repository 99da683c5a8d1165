"""record: what is kept of a run.  runfile.py writes and reads the run file (every sample, cues,
events); store.py is the SQLite history of runs and their strides; importer.py turns another
IMU's CSV into an ordinary run file."""
