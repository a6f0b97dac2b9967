"""Shared logic of the benchmark scripts (search methods and run layout, tables, timing); scripts import it as ``harness`` because ``python benchmarks/X.py`` puts this folder first on the path."""
