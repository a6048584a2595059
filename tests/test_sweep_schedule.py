"""The grid schedule: every group's waves in order, in chunks, to its last step; its position survives a
checkpoint; a group's wave count is asked for only once the group has started."""

from sweep.schedule import Chunk, GridSchedule


def _drain(schedule):
    chunks = []
    while (chunk := schedule.next()) is not None:
        chunks.append(chunk)
        schedule.finished(chunk)
    return chunks


def test_every_wave_of_every_group_in_order_in_chunks_to_its_last_step():
    asked = []

    def n_waves(group):
        asked.append(group)
        return [2, 1][group]

    schedule = GridSchedule([250, 100], n_waves, chunk_steps=100)
    assert schedule.steps_done_so_far([8, 2], lambda g, w: 4) == 0
    chunks = _drain(schedule)
    assert chunks == [
        Chunk(0, 0, 0, 100), Chunk(0, 0, 100, 100), Chunk(0, 0, 200, 50),
        Chunk(0, 1, 0, 100), Chunk(0, 1, 100, 100), Chunk(0, 1, 200, 50),
        Chunk(1, 0, 0, 100),
    ]  # fmt: skip
    assert asked == [0, 0, 1]  # group 1 is asked for only once its first wave is done
    assert schedule.wave_done(0, 1) and schedule.wave_done(1, 0)
    assert schedule.steps_done_so_far([8, 2], lambda g, w: 4) == 250 * 8 + 100 * 2


def test_a_restored_position_goes_on_where_it_stopped():
    first = GridSchedule([300, 300], lambda g: 2, chunk_steps=100)
    for _ in range(4):  # wave 0 of group 0 done, 100 steps into wave 1
        first.finished(first.next())
    assert first.position() == {"group": 0, "wave": 1, "steps_done": 100}
    assert first.wave_done(0, 0) and not first.wave_done(0, 1)
    assert first.steps_done_so_far([6, 6], lambda g, w: 3) == 300 * 3 + 100 * 3
    resumed = GridSchedule([300, 300], lambda g: 2, chunk_steps=200, position=first.position())
    assert _drain(resumed) == [Chunk(0, 1, 100, 200), Chunk(1, 0, 0, 200), Chunk(1, 0, 200, 100),
                               Chunk(1, 1, 0, 200), Chunk(1, 1, 200, 100)]  # fmt: skip
