"""Low-level torch plumbing shared by estimators/ and refine/: device choice, precision, autocast,
the atomic JSON writer (files.py) and the progress bars of every stage (progress.py; no torch).

It imports nothing of gazebench, so every layer above may use it.
"""
