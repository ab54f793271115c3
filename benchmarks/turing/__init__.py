"""`bench turing`: SimGAN's visual Turing test, served in a browser and reported like Table 1.

People are shown held-out real eye images and images of a chosen source (refined, synthetic, any
store) one at a time, half and half in random order, and asked which are real. Layers, lowest
first: design.py (the study as data, each participant's trial plan), sources.py (which stores a
results dir's ``refined`` / ``synthetic`` / real images are), study.py (a study directory: create,
resume, its image pools), answers.py (the fsync'd answers log and its checks), server.py + page.py
(the Flask app), stats.py + report.py (`bench turing report`).
"""
