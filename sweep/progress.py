"""What a sweep says of its progress besides the bar: the wall time left (``Estimates``) and durations as people
read them (``duration``). Pure Python: the engine measures, this module words it."""

from __future__ import annotations


class Estimates:
    """The training time left, said after this invocation's first chunk of each static group that updates for at
    least half its steps (the steps before ``learning_starts`` do no updates, and are several times faster), at the
    speed of that chunk (its host work and checkpoint included). Groups differ in cost (a network, an option): a
    later group's first such chunk says it again at its own speed where that is a quarter or more away from the
    speed last said."""

    def __init__(self, n_groups: int):
        self.n_groups = n_groups
        self.estimated: set[int] = set()  # the static groups whose speed has been measured
        self.said_rate = 0.0  # the speed the last line said was made at

    def line(self, group: int, left: int, steps: int, seconds: float, uncompiled: int) -> str | None:
        """The line to print after a chunk of ``group`` that trained ``steps`` env steps in ``seconds``, with
        ``left`` env steps still to train and ``uncompiled`` static groups not compiled yet; None where there is
        nothing new to say."""
        if group in self.estimated or seconds <= 0:
            return None
        first = not self.estimated
        self.estimated.add(group)
        rate = steps / seconds
        if left / rate < 1 or (self.said_rate > 0 and 0.8 < rate / self.said_rate < 1.25):  # said where it moved
            return None
        self.said_rate = rate
        more = f", plus compiling {uncompiled} more static group{'s' * (uncompiled != 1)}" if uncompiled else ""
        n = self.n_groups
        where = "" if n == 1 else f" (static group {group + 1}/{n}{'' if first else ', at its speed'})"
        return f"training{where}: {rate:,.0f} env steps/s; about {duration(left / rate)} of training left{more}"


def duration(seconds: float) -> str:
    """``3 h 20 min``, ``4 min 10 s``, ``12 s``."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds} s"
