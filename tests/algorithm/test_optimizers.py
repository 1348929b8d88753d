"""MXNet's update rules: against the formulas written out in NumPy and against MXNet 1.9.1 itself."""

import json

import numpy as np
import pytest
import torch

from roost.algorithm.network import build_network
from roost.algorithm.optimizers import OPTIMIZERS, build_optimizer, decays
from roost.errors import UserError

# Parameters as the network names them; the MXNet names decide weight decay.
NAMES = ["conv0.weight", "fc1.bias", "bn0.weight", "bn0.bias", "stage1.unit1.sc.weight"]
MX_NAMES = ["conv0_weight", "fc1_bias", "bn0_gamma", "bn0_beta", "stage1_unit1_sc_weight"]
SHAPES = [(4, 3, 3, 3), (5,), (4,), (4,), (6, 4, 1, 1)]
HYPER = {"momentum": 0.9, "weight_decay": 0.01, "beta_1": 0.8, "beta_2": 0.95, "eps": 1e-3, "gamma": 0.7}
LRS = [0.1, 0.1, 0.05, 0.05, 0.005]  # the caller changes the rate between steps


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
    grads = [[rng.normal(size=s).astype(np.float32) for s in SHAPES] for _ in LRS]
    return weights, grads


def _run_roost(name, weights, grads, hyper=HYPER, lrs=LRS):
    params = [torch.nn.Parameter(torch.from_numpy(w.copy())) for w in weights]
    optimizer = build_optimizer(name, zip(NAMES, params, strict=True), learning_rate=lrs[0], **hyper)
    for lr, step in zip(lrs, grads, strict=True):
        for group in optimizer.param_groups:
            group["lr"] = lr
        for p, g in zip(params, step, strict=True):
            p.grad = torch.from_numpy(g.copy())
        optimizer.step()
    return [p.detach().numpy() for p in params]


def _run_numpy(name, weights, grads, hyper=HYPER):
    """The update rules as spec 5.3 states them, one parameter at a time, in float64."""
    out = []
    for i, w in enumerate(weights):
        w = w.astype(np.float64)
        wd = hyper["weight_decay"] if decays(MX_NAMES[i]) else 0.0
        m = np.zeros_like(w)
        v = np.zeros_like(w)
        for t, (lr, step) in enumerate(zip(LRS, grads, strict=True), 1):
            g = step[i].astype(np.float64)
            if name == "sgd":
                m = hyper["momentum"] * m + lr * (g + wd * w)
                w = w - m
            elif name == "nag":
                g = g + wd * w
                m = hyper["momentum"] * m + g
                w = w - lr * (g + hyper["momentum"] * m)
            elif name == "adam":  # weight_decay ignored
                b1, b2 = hyper["beta_1"], hyper["beta_2"]
                m = b1 * m + (1 - b1) * g
                v = b2 * v + (1 - b2) * g * g
                w = w - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + hyper["eps"])
            else:  # rmsprop, weight_decay ignored
                v = hyper["gamma"] * v + (1 - hyper["gamma"]) * g * g
                w = w - lr * g / np.sqrt(v + hyper["eps"])
        out.append(w)
    return out


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_updates_follow_the_mxnet_formulas(name):
    weights, grads = _problem()
    for got, expected in zip(_run_roost(name, weights, grads), _run_numpy(name, weights, grads), strict=True):
        np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name", ["sgd", "nag"])
def test_momentum_zero_is_plain_gradient_descent(name):
    weights, grads = _problem(1)
    hyper = {**HYPER, "momentum": 0.0}
    got = _run_roost(name, weights, grads, hyper)
    np.testing.assert_allclose(got[0], _run_numpy("sgd", weights, grads, hyper)[0], rtol=2e-5, atol=2e-6)


def test_sgd_keeps_the_learning_rate_inside_the_momentum():
    """After a rate drop the old, larger steps fade out over several updates (unlike torch.optim.SGD)."""
    p = torch.nn.Parameter(torch.zeros(1))
    optimizer = build_optimizer("sgd", [("fc1.bias", p)], learning_rate=1.0, momentum=0.5)
    p.grad = torch.ones(1)
    optimizer.step()  # m = 1
    optimizer.param_groups[0]["lr"] = 0.1
    optimizer.step()  # m = 0.5 * 1 + 0.1 * 1
    assert p.item() == pytest.approx(-1.6)


def test_weight_decay_only_for_weights_and_gammas():
    model = build_network(20, 5, (3, 28, 28))
    optimizer = build_optimizer("sgd", model.named_parameters(), learning_rate=0.1, weight_decay=0.5)
    decayed, kept = optimizer.param_groups
    names = {id(p): n for n, p in model.named_parameters()}
    assert decayed["weight_decay"] == 0.5 and kept["weight_decay"] == 0.0
    assert all(names[id(p)].endswith(".weight") for p in decayed["params"])
    assert {names[id(p)] for p in kept["params"]} >= {"fc1.bias", "bn_data.bias", "bn1.bias"}
    assert len(decayed["params"]) + len(kept["params"]) == len(list(model.parameters()))


@pytest.mark.parametrize("name", ["adam", "rmsprop"])
def test_adam_and_rmsprop_ignore_weight_decay(name):
    p = torch.nn.Parameter(torch.ones(3))
    optimizer = build_optimizer(name, [("conv0.weight", p)], learning_rate=0.1, weight_decay=0.9)
    p.grad = torch.zeros(3)
    optimizer.step()
    assert torch.equal(p.detach(), torch.ones(3))


def test_parameters_without_gradient_are_left_alone():
    frozen = torch.nn.Parameter(torch.ones(2), requires_grad=False)
    idle, used = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    named = [("conv0.weight", frozen), ("bn0.weight", idle), ("fc1.weight", used)]
    optimizer = build_optimizer("nag", named, learning_rate=0.1)
    assert sum(len(g["params"]) for g in optimizer.param_groups) == 2
    used.grad = torch.ones(2)
    optimizer.step()
    assert torch.equal(idle.detach(), torch.ones(2)) and not torch.equal(used.detach(), torch.ones(2))
    assert idle not in optimizer.state


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_dict_resumes_exactly(name):
    weights, grads = _problem(2)
    straight = _run_roost(name, weights, grads)
    params = [torch.nn.Parameter(torch.from_numpy(w.copy())) for w in weights]
    optimizer = build_optimizer(name, zip(NAMES, params, strict=True), learning_rate=0.1, **HYPER)
    for k, (lr, step) in enumerate(zip(LRS, grads, strict=True)):
        if k == 2:  # "restart": a new optimizer over the same parameters, state loaded
            state = optimizer.state_dict()
            optimizer = build_optimizer(name, zip(NAMES, params, strict=True), learning_rate=0.1, **HYPER)
            optimizer.load_state_dict(state)
        for group in optimizer.param_groups:
            group["lr"] = lr
        for p, g in zip(params, step, strict=True):
            p.grad = torch.from_numpy(g.copy())
        optimizer.step()
    for p, expected in zip(params, straight, strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), expected)


def test_unknown_optimizer_and_unnamed_parameter_are_refused():
    with pytest.raises(UserError, match=r"unknown optimizer 'adagrad'.*sgd, nag, adam, rmsprop"):
        build_optimizer("adagrad", [("fc1.bias", torch.nn.Parameter(torch.ones(1)))], learning_rate=0.1)
    with pytest.raises(ValueError, match="no MXNet name"):
        build_optimizer("sgd", [("weight", torch.nn.Parameter(torch.ones(1)))], learning_rate=0.1)


MXNET_STEPS = """
import json, sys
import numpy as np, mxnet as mx
name, folder = sys.argv[1], sys.argv[2]
spec = json.load(open(folder + '/spec.json'))
hyper = spec['hyper']
kwargs = {'sgd': dict(momentum=hyper['momentum'], wd=hyper['weight_decay']),
          'nag': dict(momentum=hyper['momentum'], wd=hyper['weight_decay']),
          'adam': dict(beta1=hyper['beta_1'], beta2=hyper['beta_2'], epsilon=hyper['eps'], wd=0.0),
          'rmsprop': dict(gamma1=hyper['gamma'], epsilon=hyper['eps'], centered=False, wd=0.0)}[name]
# param_idx2name makes MXNet apply its own wd rule (wd_mult 0 unless *_weight / *_gamma).
opt = mx.optimizer.create(name, learning_rate=spec['lrs'][0], rescale_grad=1.0,
                          param_idx2name=dict(enumerate(spec['names'])), **kwargs)
weights = [mx.nd.array(np.load(folder + '/w%d.npy' % i)) for i in range(len(spec['names']))]
states = [opt.create_state_multi_precision(i, w) for i, w in enumerate(weights)]
for t, lr in enumerate(spec['lrs']):
    opt.set_learning_rate(lr)
    for i, w in enumerate(weights):
        g = mx.nd.array(np.load(folder + '/g%d_%d.npy' % (t, i)))
        opt.update_multi_precision(i, w, g, states[i])
print(json.dumps([w.asnumpy().ravel().tolist() for w in weights]))
"""


# MXNet 1.9.1's nag_mom_update differs from MXNet 1.3's NAG (SageMaker's, the formula above): it keeps
# the rate inside the momentum and adds the decay of the already updated weight to it. Both agree with
# a constant rate and no weight decay, so that is where NAG is compared with the real thing.
MXNET_CASES = [
    ("sgd", HYPER, LRS),
    ("adam", HYPER, LRS),
    ("rmsprop", HYPER, LRS),
    ("nag", {**HYPER, "weight_decay": 0.0}, [0.05] * len(LRS)),
]


@pytest.mark.mxnet
@pytest.mark.parametrize(("name", "hyper", "lrs"), MXNET_CASES, ids=[c[0] for c in MXNET_CASES])
def test_updates_match_mxnet(name, hyper, lrs, tmp_path, run_mxnet):
    weights, grads = _problem(3)
    for i, w in enumerate(weights):
        np.save(tmp_path / f"w{i}.npy", w)
    for t, step in enumerate(grads):
        for i, g in enumerate(step):
            np.save(tmp_path / f"g{t}_{i}.npy", g)
    (tmp_path / "spec.json").write_text(json.dumps({"hyper": hyper, "lrs": lrs, "names": MX_NAMES}))
    expected = run_mxnet(MXNET_STEPS, name, tmp_path)
    for got, mx_weight in zip(_run_roost(name, weights, grads, hyper, lrs), expected, strict=True):
        np.testing.assert_allclose(got.ravel(), mx_weight, rtol=1e-5, atol=1e-6)


def test_every_optimizer_the_hyperparameter_takes_is_built():
    from roost.algorithm.hyperparameters import OPTIMIZERS as ACCEPTED

    assert sorted(OPTIMIZERS) == sorted(ACCEPTED)
