"""Devices and compiled programs: the part of a sweep that touches JAX's runtime.

Modules, lowest first: ``devices`` (the 1-D mesh of every device of every process, CPU device counts, memory
budgets, the lead process), ``program`` (one static group's compiled ``init`` and ``chunk`` over a wave of runs),
``layout`` (each group's wave size, decided when the sweep reaches the group, and its waves).
"""
