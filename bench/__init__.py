"""Benchmark scripts: each prints figures; run them with .venv/bin/python bench/NAME.py."""
