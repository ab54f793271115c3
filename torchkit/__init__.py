"""Low-level torch plumbing shared by estimators/ and refine/: device choice, precision, autocast,
and the atomic JSON writer (files.py).

It imports nothing of gazebench, so every layer above may use it.
"""
