"""Statistics over seeds: numpy and pandas only, no files, no plotting.

Modules, lowest first: ``point`` (mean, median, IQM, P(X > Y), shares and profiles of score arrays),
``intervals`` (their confidence intervals, chosen by measured coverage and power), ``seeds`` (how many seeds a
comparison would need), ``smooth`` (a trend through a sampled axis, with its band), ``summary`` (each config's
statistics as a tidy table, from a run folder's frames), ``coverage`` (the simulation study behind the choice of
intervals: ``python -m analysis coverage``).
"""
