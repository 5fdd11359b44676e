"""Benchmarks. Run ``.venv/bin/python bench/api.py`` (see its docstring)."""
