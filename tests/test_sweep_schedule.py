"""The grid schedule: every group's waves in order, in chunks, to its last step; its position survives a
checkpoint; a group's waves are asked for only once the group has started."""

from core import StaticConfig
from sweep.plan import Group, cut_group
from sweep.schedules.base import Chunk
from sweep.schedules.grid import GridSchedule

STATIC = StaticConfig(total_steps=300, eval_every=100, learning_starts=10)
GROUPS = [Group(STATIC, list(range(8))), Group(STATIC, [8, 9])]


def _waves_of(asked):
    def waves_of(group):
        asked.append(group)
        return cut_group(group, GROUPS[group], 4)  # group 0: two waves of 4, group 1: one wave (2 runs, padded)

    return waves_of


def _drain(schedule):
    chunks = []
    while (chunk := schedule.next()) is not None:
        chunks.append(chunk)
        schedule.finished(chunk)
    return chunks


def test_every_wave_of_every_group_in_order_in_chunks_to_its_last_step():
    asked = []
    schedule = GridSchedule([250, 100], [8, 2], _waves_of(asked), chunk_steps=100)
    assert schedule.planned_steps() == 250 * 8 + 100 * 2 and schedule.steps_done() == 0
    chunks = _drain(schedule)
    assert chunks == [
        Chunk(0, 0, 0, 100), Chunk(0, 0, 100, 100), Chunk(0, 0, 200, 50),
        Chunk(0, 1, 0, 100), Chunk(0, 1, 100, 100), Chunk(0, 1, 200, 50),
        Chunk(1, 0, 0, 100),
    ]  # fmt: skip
    assert asked.index(1) == len(asked) - 1  # group 1 is asked for only once group 0 is done
    assert schedule.wave_done(0, 1) and schedule.wave_done(1, 0) and not schedule.keeps_state(1, 0)
    assert schedule.steps_done() == schedule.planned_steps() and schedule.stopped_at() is None
    assert schedule.stage() == "" and schedule.results() == ({}, {})  # nothing beyond the grid


def test_a_restored_position_goes_on_where_it_stopped():
    first = GridSchedule([300, 300], [8, 2], _waves_of([]), chunk_steps=100)
    for _ in range(4):  # wave 0 of group 0 done, 100 steps into wave 1
        first.finished(first.next())
    assert first.position() == {"group": 0, "wave": 1, "steps_done": 100}
    assert first.wave_done(0, 0) and not first.wave_done(0, 1)
    assert first.steps_done() == 300 * 4 + 100 * 4
    resumed = GridSchedule([300, 300], [8, 2], _waves_of([]), chunk_steps=200, position=first.position())
    assert _drain(resumed) == [Chunk(0, 1, 100, 200), Chunk(1, 0, 0, 200), Chunk(1, 0, 200, 100)]
