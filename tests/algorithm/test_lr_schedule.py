"""The learning-rate schedule switches exactly where MXNet's MultiFactorScheduler does."""

import pytest

from roost.algorithm.lr_schedule import MultiFactorSchedule, epoch_size, parse_epoch_steps
from roost.errors import UserError


@pytest.mark.parametrize(
    ("text", "steps"), [("10, 20", (10, 20)), ("10,20", (10, 20)), (" 5 ", (5,)), ("1 ,2,  30", (1, 2, 30))]
)
def test_parses_comma_separated_epochs(text, steps):
    assert parse_epoch_steps(text) == steps
    assert parse_epoch_steps(list(steps)) == steps


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("20, 10", "strictly increasing"),
        ("10,10", "strictly increasing"),
        ("0, 5", "below 1"),
        ("-3", "below 1"),
        ("ten", "not a comma-separated list"),
        ("10,,20", "not a comma-separated list"),
        ("1.5", "not a comma-separated list"),
        ([], "empty"),
    ],
)
def test_bad_steps_are_user_errors(value, problem):
    with pytest.raises(UserError, match=problem):
        parse_epoch_steps(value)


def test_epoch_size_floors_like_python_2():
    assert epoch_size(1000, 32) == 31
    assert epoch_size(84, 5) == 16
    assert epoch_size(1000, 32, num_workers=2) == 15
    assert epoch_size(10, 32) == 0


def test_rate_drops_after_each_step_epoch():
    schedule = MultiFactorSchedule.for_epochs(0.1, "2, 4", 0.1, epoch_size=16)
    assert schedule.steps == (32, 64)
    # updates are numbered from 1: update 33 is the first batch of 0-based epoch 2
    assert [schedule.lr(n) for n in (1, 32, 33, 64, 65, 10_000)] == [
        0.1,
        0.1,
        0.1 * 0.1,
        0.1 * 0.1,
        0.1 * 0.1 * 0.1,
        0.1 * 0.1 * 0.1,
    ]
    messages = {n: m for n in range(1, 100) if (m := schedule.change_message(n))}
    assert messages == {
        33: "Update[33]: Change learning rate to 1.00000e-02",
        65: "Update[65]: Change learning rate to 1.00000e-03",
    }


@pytest.mark.parametrize(("steps", "factor"), [(None, 0.1), ("", 0.1), ("  ", 0.5), ("3", 1.0), ("3", 2.0)])
def test_no_steps_or_factor_of_one_or_more_keep_the_rate(steps, factor):
    schedule = MultiFactorSchedule.for_epochs(0.05, steps, factor, epoch_size=10)
    assert {schedule.lr(n) for n in range(1, 200)} == {0.05}
    assert not any(schedule.change_message(n) for n in range(1, 200))


def test_a_step_of_zero_updates_is_a_user_error():
    with pytest.raises(UserError, match="num_training_samples is below mini_batch_size"):
        MultiFactorSchedule.for_epochs(0.1, "1, 2", 0.1, epoch_size=epoch_size(10, 32))


MXNET_SCHEDULE = """
import json, logging, sys
import mxnet as mx
steps, factor, base, updates = json.loads(sys.argv[1])
lines = []
handler = logging.Handler()
handler.emit = lambda record: lines.append(record.getMessage())
logging.getLogger().addHandler(handler)
logging.getLogger().setLevel(logging.INFO)
scheduler = mx.lr_scheduler.MultiFactorScheduler(step=steps, factor=factor, base_lr=base)
rates = [scheduler(n) for n in range(1, updates + 1)]
print(json.dumps([rates, lines]))
"""


@pytest.mark.mxnet
@pytest.mark.parametrize(
    ("epochs", "factor", "base", "size"),
    [("2, 4, 5", 0.1, 0.1, 7), ("1", 0.5, 0.02, 3), ("3,9", 0.3, 1e-3, 1)],
)
def test_matches_mxnet_multifactor_scheduler(epochs, factor, base, size, run_mxnet):
    import json

    schedule = MultiFactorSchedule.for_epochs(base, epochs, factor, epoch_size=size)
    updates = schedule.steps[-1] + 5
    rates, lines = run_mxnet(MXNET_SCHEDULE, json.dumps([list(schedule.steps), factor, base, updates]))
    assert [schedule.lr(n) for n in range(1, updates + 1)] == rates  # bit for bit
    assert [m for n in range(1, updates + 1) if (m := schedule.change_message(n))] == lines
