"""The pre-activation ResNet: MXNet's layout and names, its initialisation, and that it trains in every
way the trainer runs it (channels_last, autocast, DDP, torch.compile, hooks)."""

import copy
import math
import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from roost.algorithm.network import (
    FixedGammaBatchNorm2d,
    build_network,
    fixed_gamma_names,
    initialize,
    is_aux,
    mxnet_name,
    mxnet_names,
    resnet_spec,
    torch_names,
)
from roost.errors import UserError


def _plain_forward(model, x):
    """The network evaluated op by op as MXNet's graph reads, without roost's stem shortcut."""
    x = model.conv0(model.bn_data(x))
    if model.bn0 is not None:
        x = F.max_pool2d(F.relu(model.bn0(x)), 3, stride=2, padding=1)
    for name in model.stage_names:
        for unit in getattr(model, name):
            act = F.relu(unit.bn1(x))
            y = unit.conv1(act)
            y = unit.conv2(F.relu(unit.bn2(y)))
            if unit.depth == 3:
                y = unit.conv3(F.relu(unit.bn3(y)))
            x = y + (x if unit.sc is None else unit.sc(act))
    x = F.relu(model.bn1(x))
    return model.fc1(x.mean((2, 3)))


def _randomise(model, seed=0):
    """Non-trivial BN statistics and betas, so tests see every parameter at work."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                module.running_mean.copy_(torch.randn(n, generator=gen))
                module.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                module.bias.copy_(torch.randn(n, generator=gen) * 0.1)
                if module.weight is not None:
                    module.weight.copy_(torch.rand(n, generator=gen) + 0.5)
    return model


@pytest.mark.parametrize(
    ("layers", "height", "units", "filters", "bottleneck"),
    [
        (18, 224, (2, 2, 2, 2), (64, 64, 128, 256, 512), False),
        (34, 224, (3, 4, 6, 3), (64, 64, 128, 256, 512), False),
        (50, 224, (3, 4, 6, 3), (64, 256, 512, 1024, 2048), True),
        (101, 224, (3, 4, 23, 3), (64, 256, 512, 1024, 2048), True),
        (152, 224, (3, 8, 36, 3), (64, 256, 512, 1024, 2048), True),
        (200, 224, (3, 24, 36, 3), (64, 256, 512, 1024, 2048), True),
        (269, 224, (3, 30, 48, 8), (64, 256, 512, 1024, 2048), True),
        (18, 29, (2, 2, 2, 2), (64, 64, 128, 256, 512), False),
        (20, 28, (3, 3, 3), (16, 16, 32, 64), False),
        (32, 28, (5, 5, 5), (16, 16, 32, 64), False),
        (44, 28, (7, 7, 7), (16, 16, 32, 64), False),
        (56, 28, (9, 9, 9), (16, 16, 32, 64), False),
        (110, 28, (18, 18, 18), (16, 16, 32, 64), False),
        (50, 28, (8, 8, 8), (16, 16, 32, 64), False),
        (8, 28, (1, 1, 1), (16, 16, 32, 64), False),
        (164, 28, (18, 18, 18), (16, 64, 128, 256), True),
    ],
)
def test_layout_follows_mxnet_resnet_py(layers, height, units, filters, bottleneck):
    spec = resnet_spec(layers, 10, (3, height, height))
    assert (spec.units, spec.filters, spec.bottleneck) == (units, filters, bottleneck)
    assert spec.small_stem == (height <= 32)


@pytest.mark.parametrize(
    ("layers", "shape"), [(18, (3, 64, 64)), (50, (3, 40, 40)), (20, (3, 28, 28)), (164, (3, 16, 16))]
)
def test_depth_counts_the_layers_on_the_main_path(layers, shape):
    model = build_network(layers, 10, shape)
    convs = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d) and not n.endswith(".sc")]
    assert len(convs) + 1 == layers  # + fc1


@pytest.mark.parametrize(
    ("layers", "height", "suggests"),
    [
        (18, 28, "20, 32, 44, 56 or 110"),
        (34, 16, "20, 32, 44, 56 or 110"),
        (21, 28, "20, 32, 44, 56 or 110"),
        (2, 28, "20, 32, 44, 56 or 110"),
        (20, 64, "18, 34, 50, 101, 152 or 200"),
        (0, 224, "18, 34, 50, 101, 152 or 200"),
    ],
)
def test_unsupported_depths_name_the_valid_ones(layers, height, suggests):
    with pytest.raises(UserError, match=f"no experiments done on num_layers {layers}.*{suggests}"):
        build_network(layers, 10, (3, height, height))


def test_parameter_names_are_mxnet_names():
    model = build_network(18, 10, (3, 64, 64))
    names = mxnet_names(model)
    assert names["bn_data.bias"] == "bn_data_beta"
    assert names["bn_data.running_var"] == "bn_data_moving_var"
    assert names["conv0.weight"] == "conv0_weight"
    assert names["bn0.weight"] == "bn0_gamma"
    assert names["stage1.unit1.bn1.weight"] == "stage1_unit1_bn1_gamma"
    assert names["stage1.unit1.sc.weight"] == "stage1_unit1_sc_weight"
    assert names["stage4.unit2.conv2.weight"] == "stage4_unit2_conv2_weight"
    assert names["bn1.running_mean"] == "bn1_moving_mean"
    assert names["fc1.weight"] == "fc1_weight"
    assert names["fc1.bias"] == "fc1_bias"
    assert "bn_data.num_batches_tracked" not in names
    assert fixed_gamma_names(model) == ["bn_data_gamma"]
    assert torch_names(model) == {mx: key for key, mx in names.items()}
    assert mxnet_name("module._orig_mod.stage2.unit1.bn2.bias") == "stage2_unit1_bn2_beta"
    assert is_aux("bn0_moving_mean") and not is_aux("bn0_gamma")


def test_resnet152_parameter_count_matches_mxnet():
    model = build_network(152, 1000, (3, 224, 224))
    # MXNet 1.9.1's infer_shape on resnet.py's 152-layer symbol: 60,185,262 numbers in 463 arguments
    # (without data and label) and 306 auxiliary states; bn_data's fixed gamma (3) is no parameter here.
    assert sum(p.numel() for p in model.parameters()) == 60_185_262 - 3
    assert len(mxnet_names(model)) + len(fixed_gamma_names(model)) == 463 + 306


@pytest.mark.parametrize(("layers", "shape"), [(18, (3, 64, 48)), (20, (1, 28, 28)), (50, (3, 32, 32))])
def test_forward_gives_logits_for_raw_pixels(layers, shape):
    model = build_network(layers, 7, shape)
    x = torch.rand(2, *shape) * 255
    out = model(x)
    assert out.shape == (2, 7)
    assert out.dtype == torch.float32
    assert not torch.allclose(out.softmax(1).sum(1), out.sum(1))  # logits, not probabilities


def test_initialisation_is_mxnet_xavier_in_magnitude_2():
    model = build_network(50, 1000, (3, 224, 224))
    initialize(model, torch.Generator().manual_seed(0))
    weight = model.stage3.unit1.conv2.weight  # 256 x 256 x 3 x 3
    assert weight.std().item() == pytest.approx(math.sqrt(2 / (256 * 9)), rel=0.01)
    assert weight.mean().item() == pytest.approx(0, abs=0.001)
    assert model.fc1.weight.std().item() == pytest.approx(math.sqrt(2 / 2048), rel=0.01)
    assert torch.all(model.fc1.bias == 0)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            assert torch.all(module.running_mean == 0) and torch.all(module.running_var == 1)
            assert torch.all(module.bias == 0)
            assert module.weight is None or torch.all(module.weight == 1)


def test_initialisation_is_deterministic_per_seed():
    a, b, c = (build_network(20, 10, (3, 28, 28)) for _ in range(3))
    for model, seed in ((a, 1), (b, 1), (c, 2)):
        _randomise(model)
        initialize(model, torch.Generator().manual_seed(seed))
    sa, sb, sc = (m.state_dict() for m in (a, b, c))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["conv0.weight"], sc["conv0.weight"])
    assert torch.all(sa["bn_data.running_var"] == 1)


def test_bn_data_learns_beta_but_keeps_gamma_at_one():
    model = build_network(20, 10, (3, 28, 28))
    bn = model.bn_data
    assert isinstance(bn, FixedGammaBatchNorm2d)
    assert bn.weight is None and bn.bias.requires_grad
    assert [n for n, _ in model.named_parameters() if n.startswith("bn_data")] == ["bn_data.bias"]
    with torch.no_grad():
        bn.bias.copy_(torch.tensor([1.0, -2.0, 3.0]))
    x = torch.rand(4, 3, 5, 5) * 255
    mean, var = x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=False)
    expected = (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + 2e-5)
    torch.testing.assert_close(bn(x), expected + bn.bias[None, :, None, None])


def test_batch_norm_uses_mxnet_eps_and_momentum():
    model = build_network(20, 10, (3, 28, 28))
    x = torch.rand(8, 3, 28, 28) * 255
    model(x)
    torch.testing.assert_close(model.bn_data.running_mean, 0.1 * x.mean((0, 2, 3)))
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            assert (module.eps, module.momentum) == (2e-5, 0.1)
            assert module.num_batches_tracked.item() == 1


@pytest.mark.parametrize(("layers", "shape"), [(18, (3, 45, 37)), (20, (3, 28, 28)), (18, (1, 33, 47))])
@pytest.mark.parametrize("channels_last", [False, True])
def test_training_gradients_equal_the_plain_graph(layers, shape, channels_last):
    """roost adds bn_data's beta after conv0 while training; values and gradients must not change."""
    model = _randomise(build_network(layers, 5, shape)).double()
    reference = copy.deepcopy(model)
    x = torch.rand(3, *shape, dtype=torch.double) * 255
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    out = model(x)
    expected = _plain_forward(reference, x.contiguous())
    torch.testing.assert_close(out, expected)
    (out * torch.arange(5.0, dtype=torch.double)).sum().backward()
    (expected * torch.arange(5.0, dtype=torch.double)).sum().backward()
    grads = dict(reference.named_parameters())
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, grads[name].grad, msg=name)
    for key, value in reference.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value, msg=key)


def test_eval_matches_the_plain_graph_and_uses_running_statistics():
    torch.manual_seed(0)
    model = _randomise(build_network(18, 5, (3, 40, 40))).eval()
    x = torch.rand(2, 3, 40, 40) * 255
    with torch.no_grad():
        torch.testing.assert_close(model(x), _plain_forward(model, x))
        # Batch statistics would move the outputs by whole units; oneDNN's kernels for a batch of 1 and
        # of 2 may differ in rounding (seen: 1.5e-4 relative).
        torch.testing.assert_close(model(x[:1]), model(x)[:1], rtol=1e-3, atol=1e-3)


def test_channels_last_gives_the_same_training_step():
    torch.manual_seed(0)
    model = build_network(18, 5, (3, 40, 40))
    other = copy.deepcopy(model).to(memory_format=torch.channels_last)
    x = torch.rand(4, 3, 40, 40) * 255
    labels = torch.randint(0, 5, (4,))
    out, out_cl = model(x), other(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(out_cl, out, rtol=1e-4, atol=1e-4)
    F.cross_entropy(out, labels).backward()
    F.cross_entropy(out_cl, labels).backward()
    expected = dict(model.named_parameters())
    # The layouts round differently (1e-6). Now and then that flips a ReLU whose input is within 1e-6
    # of 0, which moves the gradients below it by up to a few percent (0.3% of the whole, 4% of one
    # parameter's, over 15 seeds): bounds that a layout bug (errors of order 1) cannot meet.
    flat = torch.cat([p.grad.flatten() for p in other.parameters()])
    flat_expected = torch.cat([p.grad.flatten() for p in model.parameters()])
    assert (flat - flat_expected).norm() < 0.01 * flat_expected.norm()
    for name, p in other.named_parameters():
        reference = expected[name].grad
        assert (p.grad - reference).norm() <= 0.1 * reference.norm() + 1e-6, name


@pytest.mark.filterwarnings("ignore:Full backward hook is firing when gradients are computed with respect")
def test_backward_hooks_work():
    """Full backward hooks (Grad-CAM and friends) stay usable: no in-place change of a hooked output."""
    model = build_network(20, 5, (3, 28, 28))
    seen = []
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d | torch.nn.Conv2d):
            module.register_full_backward_hook(lambda m, gin, gout: seen.append(gout[0].shape))
    model(torch.rand(2, 3, 28, 28) * 255).sum().backward()
    assert len(seen) > 20


def test_forward_hooks_see_batch_norm_outputs_before_the_relu():
    model = build_network(20, 5, (3, 28, 28))
    kept = []
    model.stage1.unit1.bn2.register_forward_hook(lambda m, args, out: kept.append((args[0], out)))
    model(torch.rand(2, 3, 28, 28) * 255)
    (x, out), bn = kept[0], model.stage1.unit1.bn2
    assert out.min() < 0
    expected = (x - x.mean((0, 2, 3), keepdim=True)) / torch.sqrt(
        x.var((0, 2, 3), False, keepdim=True) + 2e-5
    )
    torch.testing.assert_close(out, expected * bn.weight[:, None, None] + bn.bias[:, None, None])


def test_bfloat16_autocast_trains_with_float32_parameters():
    model = _randomise(build_network(20, 5, (3, 28, 28))).to(memory_format=torch.channels_last)
    reference = copy.deepcopy(model)
    x = (torch.rand(4, 3, 28, 28) * 255).contiguous(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x)
        expected = _plain_forward(reference, x)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out, expected, rtol=0.05, atol=0.05)
    out.float().sum().backward()
    expected.float().sum().backward()
    grads = dict(reference.named_parameters())
    for p in model.parameters():
        assert p.dtype == p.grad.dtype == torch.float32
        assert torch.isfinite(p.grad).all()
    # Early layers' gradients are sums of many bfloat16 terms that nearly cancel (noise in any order);
    # the classifier's are well conditioned.
    torch.testing.assert_close(model.fc1.weight.grad, grads["fc1.weight"].grad, rtol=0.02, atol=0.02)


def test_distributed_data_parallel_wraps_the_network(tmp_path):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1)
    try:
        model = build_network(20, 5, (3, 28, 28))
        net = torch.nn.parallel.DistributedDataParallel(model)
        net(torch.rand(2, 3, 28, 28) * 255).sum().backward()
        assert all(p.grad is not None for p in model.parameters())
        assert mxnet_name(next(n for n, _ in net.named_parameters() if n.endswith("fc1.bias"))) == "fc1_bias"
    finally:
        dist.destroy_process_group()


@pytest.mark.filterwarnings(
    "ignore:`torch.jit.script_method` is deprecated:DeprecationWarning"
)  # torch's own
def test_torch_compile_gives_the_eager_result():
    model = build_network(8, 5, (3, 16, 16))
    reference = copy.deepcopy(model)
    compiled = torch.compile(model)
    x = torch.rand(2, 3, 16, 16) * 255
    out = compiled(x)
    torch.testing.assert_close(out, reference(x), rtol=1e-4, atol=1e-4)
    out.sum().backward()
    assert model.bn_data.bias.grad is not None
    assert mxnet_name("_orig_mod.bn_data.bias") == "bn_data_beta"


_FAULTS = """
import resource, sys, torch
from roost.algorithm.network import build_network
from roost.machine import tune_cpu_allocator
if sys.argv[1] == "tuned":
    assert tune_cpu_allocator()
model = build_network(20, 5, (3, 28, 28))
x = torch.rand(64, 3, 28, 28) * 255
faults = []
for _ in range(5):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    model(x).sum().backward()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(sum(faults[2:]))
"""


def test_cpu_allocator_tuning_stops_most_page_faults_between_steps():
    import subprocess
    import sys

    def faults(mode):
        done = subprocess.run(
            [sys.executable, "-c", _FAULTS, mode], capture_output=True, text=True, check=True
        )
        return int(done.stdout)

    assert faults("tuned") < faults("untuned") / 4


def test_training_rebuilds_the_bn_relu_outputs_instead_of_keeping_them(monkeypatch):
    """The activations are rebuilt in backward from the BN inputs, with the very same values."""
    from roost.algorithm import network

    torch.manual_seed(0)
    model = _randomise(build_network(50, 5, (3, 32, 32))).to(memory_format=torch.channels_last)
    kept = copy.deepcopy(model)
    for module in kept.modules():  # a forward hook on a batch norm makes a unit keep its activations
        if isinstance(module, torch.nn.BatchNorm2d):
            module.register_forward_hook(lambda *args: None)
    rebuilt = []
    real_rebuild = network._Recipe.rebuild
    monkeypatch.setattr(network._Recipe, "rebuild", lambda self: rebuilt.append(self) or real_rebuild(self))
    x = (torch.rand(4, 3, 32, 32) * 255).contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, 5, (4,))
    for net in (model, kept):
        F.cross_entropy(net(x), labels).backward()
    units = sum(len(getattr(model, name)) for name in model.stage_names)
    assert len({id(recipe) for recipe in rebuilt}) == 3 * units, "each unit's three activations rebuilt"
    grads = dict(kept.named_parameters())
    for name, p in model.named_parameters():
        assert torch.equal(p.grad, grads[name].grad), name
    for key, value in kept.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


_KEPT_FOR_BACKWARD = """
import os, sys, torch
import torch.nn.functional as F
from roost.algorithm.network import build_network
model = build_network(50, 5, (3, 96, 96)).to(memory_format=torch.channels_last)
if sys.argv[1] == "kept":
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.register_forward_hook(lambda *args: None)
x = (torch.rand(16, 3, 96, 96) * 255).contiguous(memory_format=torch.channels_last)
def resident():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
before = resident()
loss = F.cross_entropy(model(x), torch.zeros(16, dtype=torch.long))
print((resident() - before) / 2**20)
"""


def test_rebuilding_the_activations_halves_what_a_training_step_keeps_for_backward():
    # A fixed mmap threshold: glibc returns every freed block, so resident memory is what is alive.
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "65536"}

    def kept_mb(mode: str) -> float:
        command = [sys.executable, "-c", _KEPT_FOR_BACKWARD, mode]
        return float(subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout)

    kept, rebuilt = kept_mb("kept"), kept_mb("rebuilt")
    assert rebuilt < 0.65 * kept, f"{rebuilt:.0f} MB kept with rebuilt activations, {kept:.0f} MB without"
