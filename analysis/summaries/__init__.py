"""Tidy frames computed once from a run folder's tables, for the figures to draw and the report to quote.

Modules, lowest first: ``aggregate`` (a frame per figure: curves with bands, heatmaps, sensitivities,
P(X > Y) matrices, profiles, trends), ``halving`` (successive halving's rungs), ``pbt`` (PBT's members and
lineages), ``baseline`` (each config against the sweep's default config).
"""
