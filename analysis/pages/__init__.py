"""HTML pages: a run folder's report and the comparison of several sweeps.

Modules, lowest first: ``markup`` (the page, its CSS, intervals and figures as HTML), ``search`` (the sections of
successive halving and PBT), ``report`` (``report``: one run folder's figures and report.html), ``compare``
(``compare``: several sweeps side by side), ``bench`` (the tables and report of a synthetic sweep, timed:
``python -m analysis bench``).
"""
