"""Engines that count an audit's inputs elsewhere than in this process.

Each produces the same :class:`fairaudit.counts.CountTable` as the in-process
pass, from the same counting code, so that ``engine.judge`` gives the same
figures: :mod:`fairaudit.backends.dask` counts on a Dask cluster.
"""
