"""Records: completed episodes and evaluations gathered from a wave's outputs."""

import numpy as np

from sweep.store.records import Records


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


class TwoSteps:
    """A chunk's outputs for 2 runs over 2 env steps: each run ends an episode and is evaluated once."""

    episode_done = np.array([[1, 0], [0, 1]], bool)
    episode_return = np.array([[3, 0], [0, 4]], np.float32)
    episode_length = np.array([[3, 0], [0, 4]], np.int32)
    eval_done = np.array([[0, 1], [0, 1]], bool)
    eval_return = np.array([[0, 5], [0, 6]], np.float32)


def test_records_round_trip_through_arrays():
    rec = Records(2)

    rec.add_chunk(TwoSteps, np.array([0, 1]), first_step=0)
    rec.mark_diverged(np.array([0, 1]), np.array([False, True]))
    back = Records.from_arrays(rec.to_arrays(), 2)
    for a, b in ((rec.episodes(), back.episodes()), (rec.evals(), back.evals())):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    np.testing.assert_array_equal(back.diverged, [False, True])


def test_new_arrays_hold_only_what_came_since_the_last_call_and_add_up_to_everything():
    rec = Records(2)
    rec.add_chunk(TwoSteps, np.array([0, 1]), first_step=0)
    first = rec.new_arrays()
    assert len(first["ep_run"]) == 2 and len(first["dv_run"]) == 0
    rec.add_chunk(TwoSteps, np.array([0, 1]), first_step=2)
    rec.mark_diverged(np.array([0, 1]), np.array([True, False]))
    second = rec.new_arrays()
    np.testing.assert_array_equal(second["ep_end_step"], [3, 4])  # the second chunk's only
    np.testing.assert_array_equal(second["dv_run"], [0])
    assert all(len(v) == 0 for v in rec.new_arrays().values())  # nothing new
    both = {k: np.concatenate([first[k], second[k]]) for k in first}
    assert all(both[k].dtype == v.dtype and np.array_equal(both[k], v) for k, v in rec.to_arrays().items())
    back = Records.from_arrays(both, 2)
    np.testing.assert_array_equal(back.diverged, [True, False])
    assert all(len(v) == 0 for v in back.new_arrays().values())  # loaded records count as saved
