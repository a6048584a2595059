"""Records: completed episodes and evaluations gathered from a wave's outputs."""

import numpy as np

from sweep.records import Records


def test_records_number_episodes_per_run():
    rec = Records(2)

    class Out:  # [wave=2, n_steps=4]
        episode_done = np.array([[0, 1, 0, 1], [1, 0, 0, 0]], bool)
        episode_return = np.array([[0, 2, 0, 2], [1, 0, 0, 0]], np.float32)
        episode_length = np.array([[0, 2, 0, 2], [1, 0, 0, 0]], np.int32)
        eval_done = np.array([[0, 0, 0, 1], [0, 0, 0, 1]], bool)
        eval_return = np.array([[0, 0, 0, 9], [0, 0, 0, 8]], np.float32)

    rec.add_chunk(Out, np.array([1, 0]), first_step=10)
    rec.add_chunk(Out, np.array([1, -1]), first_step=14)  # second row is padding: dropped
    ep = rec.episodes()
    np.testing.assert_array_equal(ep["run"], [0, 1, 1, 1, 1])
    np.testing.assert_array_equal(ep["episode"], [0, 0, 1, 2, 3])
    np.testing.assert_array_equal(ep["end_step"], [11, 12, 14, 16, 18])
    ev = rec.evals()
    np.testing.assert_array_equal(ev["run"], [0, 1, 1])
    np.testing.assert_array_equal(ev["step"], [14, 14, 18])


def test_records_round_trip_through_arrays():
    rec = Records(2)

    class Out:
        episode_done = np.array([[1, 0], [0, 1]], bool)
        episode_return = np.array([[3, 0], [0, 4]], np.float32)
        episode_length = np.array([[3, 0], [0, 4]], np.int32)
        eval_done = np.array([[0, 1], [0, 1]], bool)
        eval_return = np.array([[0, 5], [0, 6]], np.float32)

    rec.add_chunk(Out, np.array([0, 1]), first_step=0)
    rec.diverged[1] = True
    back = Records.from_arrays(rec.to_arrays(), 2)
    for a, b in ((rec.episodes(), back.episodes()), (rec.evals(), back.evals())):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    np.testing.assert_array_equal(back.diverged, [False, True])
