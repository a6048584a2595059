"""The grid schedule: every wave in order, in chunks, to its last step; its position survives a checkpoint."""

from sweep.schedule import Chunk, GridSchedule


def _drain(schedule):
    chunks = []
    while (chunk := schedule.next()) is not None:
        chunks.append(chunk)
        schedule.finished(chunk)
    return chunks


def test_every_wave_in_order_in_chunks_to_its_last_step():
    schedule = GridSchedule([250, 100], chunk_steps=100)
    assert schedule.steps_left([4, 2]) == 250 * 4 + 100 * 2
    chunks = _drain(schedule)
    assert chunks == [Chunk(0, 0, 100), Chunk(0, 100, 100), Chunk(0, 200, 50), Chunk(1, 0, 100)]
    assert schedule.wave_done(0) and schedule.wave_done(1) and schedule.steps_left([4, 2]) == 0


def test_a_restored_position_goes_on_where_it_stopped():
    first = GridSchedule([300, 300], chunk_steps=100)
    for _ in range(4):  # wave 0 done, 100 steps into wave 1
        first.finished(first.next())
    assert first.position() == {"wave": 1, "steps_done": 100}
    assert first.wave_done(0) and not first.wave_done(1)
    assert first.steps_left([2, 2]) == 200 * 2
    resumed = GridSchedule([300, 300], chunk_steps=200, position=first.position())
    assert _drain(resumed) == [Chunk(1, 100, 200)]
