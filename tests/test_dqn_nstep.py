"""n-step returns: hand-computed targets inside an episode, at a termination, at the time limit and at the newest
stored step; the same through the trainer's replay buffer; episode ends recorded by the training loop."""

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from core import HParams, StaticConfig, Transition, cartpole, hparams_as_arrays, make_train, n_step_target, prioritized
from core.rows import PACKED_SIZE, pack_transition, row_size
from core.train import Learner, Trainer

G = 0.9


def _target(rewards, terminated, end, stored=None):
    n = len(rewards)
    stored = [1] * n if stored is None else stored
    args = [jnp.asarray(x, jnp.float32) for x in (rewards, terminated, end, stored)]
    ret, discount, last = jax.jit(n_step_target)(*args, jnp.float32(G))
    return float(ret), float(discount), int(last)


def test_inside_an_episode_all_n_rewards_then_gamma_to_the_n():
    ret, discount, last = _target([1.0, 2.0, 3.0], [0, 0, 0], [0, 0, 0])
    assert ret == pytest.approx(1 + G * 2 + G**2 * 3) and discount == pytest.approx(G**3) and last == 2


def test_a_termination_stops_the_return_and_does_not_bootstrap():
    # The episode terminates at the second step; the third belongs to the next episode and is ignored.
    ret, discount, last = _target([1.0, 2.0, 100.0], [0, 1, 0], [0, 1, 0])
    assert ret == pytest.approx(1 + G * 2) and discount == 0.0 and last == 1


def test_a_time_limit_stops_the_return_but_bootstraps():
    # Cut by the time limit at the second step (an end, not a termination): bootstrap with gamma^2 from it.
    ret, discount, last = _target([1.0, 2.0, 100.0], [0, 0, 0], [0, 1, 0])
    assert ret == pytest.approx(1 + G * 2) and discount == pytest.approx(G**2) and last == 1


def test_an_episode_ending_at_the_first_step_is_a_one_step_target():
    assert _target([1.0, 5.0, 5.0], [1, 0, 0], [1, 0, 0]) == (1.0, 0.0, 0)
    ret, discount, last = _target([1.0, 5.0, 5.0], [0, 0, 0], [1, 0, 0])
    assert (ret, last) == (1.0, 0) and discount == pytest.approx(G)


def test_the_newest_steps_use_what_is_stored():
    # Only two of the three steps are stored yet: a two-step return that bootstraps from the second.
    ret, discount, last = _target([1.0, 2.0, 7.0], [0, 0, 0], [0, 0, 0], stored=[1, 1, 0])
    assert ret == pytest.approx(1 + G * 2) and discount == pytest.approx(G**2) and last == 1


def _trainer_reading_q_by_obs_id(static, q_values):
    def apply(params, obs):
        return params["q"][obs[..., 0].astype(jnp.int32)]

    net = hk.Transformed(init=lambda *_: {"q": jnp.asarray(q_values, jnp.float32)}, apply=apply)
    return Trainer(static=static, env_params=cartpole.EnvParams(), network=net)


def _obs(i):
    return jnp.array([float(i), 0, 0, 0])


@pytest.mark.parametrize(
    ("start", "expected_td"),
    [
        # Observation i has Q(i) = [0, 10 i]; every action is 1, every reward 1; gamma 0.9, n = 3.
        # Steps 0-2 of an episode that is cut by the time limit after step 3 (obs 4 its true final observation):
        # from 0: 1 + .9 + .81 + .9^3 * Q(3) max 30 - Q(0, 1) 0.
        (0, 1 + G + G**2 + G**3 * 30 - 0),
        # from 2: steps 2, 3 then the limit: 1 + .9, bootstrap .9^2 * Q(4) max 40, minus Q(2, 1) = 20.
        (2, 1 + G + G**2 * 40 - 20),
        # from 3: the cut step itself: 1 + .9 * 40 - 30.
        (3, 1 + G * 40 - 30),
        # from 5 (slot 4): the next episode's first two steps, the second terminates: 1 + .9, no bootstrap,
        # minus Q(5, 1) = 50.
        (5, 1 + G - 50),
        # from 7: the newest stored step (no successor yet): one step, bootstrap .9 * Q(8) max 80, minus 70.
        (7, 1 + G * 80 - 70),
    ],
)
def test_targets_through_the_buffer_at_episode_ends_and_the_time_limit(start, expected_td):
    # Stored steps (obs -> next obs): 0->1, 1->2, 2->3, 3->4 (time limit), 5->6, 6->7 (terminates), 7->8.
    # Slot 4 holds 5->6 and so on: the reset observation of the second episode is id 5.
    steps = [(0, 1, 0, 0), (1, 2, 0, 0), (2, 3, 0, 0), (3, 4, 0, 1), (5, 6, 0, 0), (6, 7, 1, 1), (7, 8, 0, 0)]
    slot = {0: 0, 2: 2, 3: 3, 5: 4, 7: 6}[start]
    static = StaticConfig(total_steps=10, buffer_capacity=16, batch_size=4, eval_every=10, n_step=3, per=True)
    trainer = _trainer_reading_q_by_obs_id(static, [[0.0, 10.0 * i] for i in range(9)])
    hp = hparams_as_arrays(HParams(gamma=G, per_alpha=1.0, per_eps=1e-6))
    state = trainer.init(jax.random.key(0), hp)
    buf = state.buffer
    for o, nxt, term, end in steps:
        t = Transition(_obs(o), jnp.int32(1), jnp.float32(1), jnp.float32(term), _obs(nxt))
        buf = prioritized.add(buf, pack_transition(t, jnp.float32(end)))
    # All the sampling mass on one slot: the returned priority is |TD error| + eps of its n-step target.
    buf = prioritized.set_priorities(buf, jnp.arange(16), jnp.zeros(16).at[slot].set(1.0))
    _, new = trainer.learn_and_prioritize(Learner.of(state), buf, hp, jax.random.key(1), state.step)
    assert set(np.asarray(new.idx).tolist()) == {slot}
    np.testing.assert_allclose(np.asarray(new.priorities), abs(expected_td) + 1e-6, rtol=1e-5)


def test_the_loop_stores_episode_ends_including_the_time_limit():
    # A 20-step time limit makes truncations frequent; the buffer holds every step in order.
    static = StaticConfig(
        total_steps=400, buffer_capacity=400, batch_size=8, hidden_sizes=(8,), learning_starts=50,
        eval_every=400, eval_episodes=1, n_step=3,
    )  # fmt: skip
    train = make_train(static, cartpole.EnvParams(max_steps_in_episode=20))
    state, out = jax.jit(train.run, static_argnums=1)(train.init(jax.random.key(2), HParams()), 400)
    rows = np.asarray(state.buffer.data)
    assert rows.shape == (400, row_size(static)) == (400, PACKED_SIZE + 1)
    end, terminated = rows[:, PACKED_SIZE], rows[:, cartpole.OBS_SIZE + 2]
    np.testing.assert_array_equal(end.astype(bool), np.asarray(out.episode_done))
    assert np.all(terminated <= end)
    assert np.any((end == 1) & (terminated == 0)), "expected some episodes cut by the 20-step limit"
    assert np.any(terminated == 1)
