"""Figures: draw the frames of ``analysis.summaries``; compute no statistic.

Modules, lowest first: ``style`` (labels, palettes, axes and saving), ``runs`` (learning curves, heatmaps,
rankings, sensitivities, P(X > Y), score distributions), ``scatter`` (configs of a sampled space with their
trends), ``search`` (successive halving's rungs, PBT's explored hyperparameters), ``sweep`` (every figure of a
run folder, as the report shows them).
"""
