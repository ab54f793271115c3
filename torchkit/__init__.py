"""Low-level torch plumbing shared by estimators/ and refine/: device choice, precision, autocast.

It imports nothing of gazebench, so every layer above may use it.
"""
