"""Statistics over seeds: numpy and pandas only, no files, no plotting.

Modules, lowest first: ``point`` (mean, median, IQM, P(X > Y), shares and profiles of score arrays),
``intervals`` (their confidence intervals), ``bootstrap`` (the IQM's and median's expanded percentile bootstrap),
``improvement`` (P(X > Y) paired by seed with its interval and p-value, and Holm's and Benjamini-Hochberg's
corrections), ``seeds`` (how many seeds a comparison would need), ``smooth`` (a trend through a sampled axis, with
its band), ``summary`` (each config's statistics as a tidy table, from a run folder's frames); then the study
behind the choice of intervals (``python -m analysis coverage``): ``populations`` (simulated returns with known
true values), ``references`` (standard tests, vectorised), ``power`` (power and many comparisons), ``coverage``.
"""
