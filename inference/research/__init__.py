"""Training and research: data sets, trainers, evaluation, calibration fitting, model cards.

Nothing here serves a live frame. The serving modules (``inference.classifier`` and what it
imports) never import this package (``tests/test_architecture.py``); it imports them freely.
"""
