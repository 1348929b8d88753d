"""roost's models as MXNet artifacts: `.params` bytes, the symbol graph, and the decisive check that MXNet
1.9.1 computes the same probabilities from them as roost (and roost from MXNet's own checkpoints)."""

import json
import struct

import numpy as np
import pytest
import torch

from roost.algorithm.mxnet_format import (
    load_into,
    load_ndarray_list,
    load_params,
    model_arrays,
    save_ndarray_list,
    save_params,
    symbol_json,
    write_model_shapes,
    write_symbol,
)
from roost.algorithm.network import build_network
from roost.errors import UserError

# MXNet's resnet.py, restated for MXNet 1.9.1 snippets: the symbol SageMaker's algorithm trains.
MX_RESNET = """
import json, sys
import numpy as np, mxnet as mx

def bn(x, name, fix_gamma=False):
    return mx.sym.BatchNorm(data=x, fix_gamma=fix_gamma, eps=2e-5, momentum=0.9, name=name)

def conv(x, filters, kernel, stride, pad, name):
    extra = {} if pad is None else {'pad': (pad, pad)}
    return mx.sym.Convolution(data=x, num_filter=filters, kernel=(kernel, kernel), stride=(stride, stride),
                              no_bias=True, workspace=256, name=name, **extra)

def relu(x, name):
    return mx.sym.Activation(data=x, act_type='relu', name=name)

def unit(x, filters, stride, dim_match, name, bottleneck):
    act1 = relu(bn(x, name + '_bn1'), name + '_relu1')
    if bottleneck:
        y = conv(act1, filters // 4, 1, 1, 0, name + '_conv1')
        y = conv(relu(bn(y, name + '_bn2'), name + '_relu2'), filters // 4, 3, stride, 1, name + '_conv2')
        y = conv(relu(bn(y, name + '_bn3'), name + '_relu3'), filters, 1, 1, 0, name + '_conv3')
    else:
        y = conv(act1, filters, 3, stride, 1, name + '_conv1')
        y = conv(relu(bn(y, name + '_bn2'), name + '_relu2'), filters, 3, 1, 1, name + '_conv2')
    return y + (x if dim_match else conv(act1, filters, 1, stride, None, name + '_sc'))

def resnet(units, filters, bottleneck, num_classes, height):
    x = bn(mx.sym.identity(data=mx.sym.Variable('data'), name='id'), 'bn_data', fix_gamma=True)
    if height <= 32:
        x = conv(x, filters[0], 3, 1, 1, 'conv0')
    else:
        x = relu(bn(conv(x, filters[0], 7, 2, 3, 'conv0'), 'bn0'), 'relu0')
        x = mx.sym.Pooling(data=x, kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type='max')
    for i, count in enumerate(units):
        x = unit(x, filters[i + 1], 1 if i == 0 else 2, False, 'stage%d_unit1' % (i + 1), bottleneck)
        for j in range(count - 1):
            x = unit(x, filters[i + 1], 1, True, 'stage%d_unit%d' % (i + 1, j + 2), bottleneck)
    x = mx.sym.Pooling(data=relu(bn(x, 'bn1'), 'relu1'), global_pool=True, kernel=(7, 7), pool_type='avg',
                       name='pool1')
    x = mx.sym.FullyConnected(data=mx.sym.Flatten(data=x), num_hidden=num_classes, name='fc1')
    return mx.sym.SoftmaxOutput(data=x, name='softmax')

def predict(sym, arg_params, aux_params, x):
    # Probabilities and the logits under them, in inference mode, as a hosted model computes them.
    outputs = mx.sym.Group([sym, sym.get_internals()['fc1_output']])
    mod = mx.mod.Module(outputs, data_names=['data'], label_names=['softmax_label'], context=mx.cpu())
    mod.bind(for_training=False, data_shapes=[('data', x.shape)],
             label_shapes=[('softmax_label', x.shape[:1])])
    mod.set_params(arg_params, aux_params, allow_missing=False, allow_extra=False)
    mod.forward(mx.io.DataBatch([mx.nd.array(x)], [mx.nd.zeros(x.shape[:1])]), is_train=False)
    return [o.asnumpy().tolist() for o in mod.get_outputs()]
"""

# (num_layers, image_shape, resnet.py's units, filters, bottleneck) - layouts written out independently.
CASES = [
    (18, (3, 64, 64), [2, 2, 2, 2], [64, 64, 128, 256, 512], False),
    (20, (3, 28, 28), [3, 3, 3], [16, 16, 32, 64], False),
    (50, (3, 48, 40), [3, 4, 6, 3], [64, 256, 512, 1024, 2048], True),
    (8, (1, 24, 30), [1, 1, 1], [16, 16, 32, 64], False),
    (18, (3, 32, 32), [2, 2, 2, 2], [64, 64, 128, 256, 512], False),
]
IDS = [f"{c[0]}-{'x'.join(map(str, c[1]))}" for c in CASES]


def _randomise(model, seed, x):
    """Weights and BN statistics far from their initial values, bn_data's like raw-pixel statistics.

    fc1 is scaled so that `x` gives logits of a few units: saturated probabilities would hide errors.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            if name.startswith("bn_data.running_mean"):
                tensor.copy_(torch.rand(tensor.shape, generator=gen) * 100 + 80)
            elif name.startswith("bn_data.running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=gen) * 3000 + 1000)
            elif name.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=gen) + 0.5)
            elif name.endswith(("running_mean", "bias")):
                tensor.copy_(torch.randn(tensor.shape, generator=gen) * 0.2)
            elif tensor.dim() == 1:  # BN gamma
                tensor.copy_(torch.rand(tensor.shape, generator=gen) + 0.5)
            else:
                fan_in = tensor[0].numel()
                tensor.copy_(torch.randn(tensor.shape, generator=gen) * (2 / fan_in) ** 0.5)
        features = []
        hook = model.fc1.register_forward_pre_hook(lambda module, args: features.append(args[0]))
        model.eval()(torch.from_numpy(x))
        hook.remove()
        model.fc1.weight.div_(features[0].std() * model.fc1.in_features**0.5)
    return model


def _roost_outputs(model, x):
    with torch.no_grad():
        logits = model.eval()(torch.from_numpy(x))
    return logits.softmax(1).numpy(), logits.numpy()


# --------------------------------------------------------------------------------------- .params files


def test_params_round_trip_keeps_names_order_dtypes_and_values(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        "arg:w": rng.normal(size=(2, 3, 1, 4)).astype(np.float32),
        "aux:m": rng.normal(size=5),
        "h": rng.normal(size=(3,)).astype(np.float16),
        "u": np.arange(7, dtype=np.uint8),
        "i": np.arange(-3, 3, dtype=np.int32).reshape(2, 3),
        "b": np.array([True, False]),
    }
    save_ndarray_list(tmp_path / "a.params", arrays)
    loaded = load_ndarray_list(tmp_path / "a.params")
    assert list(loaded) == list(arrays)
    for name, array in arrays.items():
        assert loaded[name].dtype == array.dtype
        np.testing.assert_array_equal(loaded[name], array)
    assert [p.name for p in tmp_path.iterdir()] == ["a.params"]  # no temporary file left behind


def test_v2_layout_byte_for_byte(tmp_path):
    save_ndarray_list(tmp_path / "x.params", {"arg:a": np.array([[1, 2, 3]], np.float32)})
    expected = (
        struct.pack("<QQQ", 0x112, 0, 1)
        + struct.pack("<IiIqq", 0xF993FAC9, 0, 2, 1, 3)  # magic, dense, ndim, dims
        + struct.pack("<iii", 1, 0, 0)  # cpu(0), float32
        + struct.pack("<3f", 1, 2, 3)
        + struct.pack("<QQ", 1, 5)
        + b"arg:a"
    )
    assert (tmp_path / "x.params").read_bytes() == expected


def test_reads_pre_0_9_and_v1_arrays(tmp_path):
    """The 2016 model zoo's files predate the magic word: ndim first, uint32 dims."""
    data = np.arange(6, dtype=np.float32)
    legacy = struct.pack("<III", 2, 2, 3) + struct.pack("<iii", 1, 0, 0) + data.tobytes()
    v1 = struct.pack("<IIq", 0xF993FAC8, 1, 6) + struct.pack("<iii", 2, 1, 0) + data.tobytes()
    names = struct.pack("<Q", 2) + struct.pack("<Q", 5) + b"arg:x" + struct.pack("<Q", 5) + b"aux:y"
    (tmp_path / "old.params").write_bytes(struct.pack("<QQQ", 0x112, 0, 2) + legacy + v1 + names)
    loaded = load_ndarray_list(tmp_path / "old.params")
    np.testing.assert_array_equal(loaded["arg:x"], data.reshape(2, 3))
    np.testing.assert_array_equal(loaded["aux:y"], data)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b[:-3], "unexpected bytes|truncated"),
        (lambda b: b[:40], "truncated"),
        (lambda b: b"\x13" + b[1:], "not an MXNet .params file"),
        (lambda b: b + b"xx", "unexpected bytes"),
    ],
)
def test_damaged_files_are_user_errors(tmp_path, damage, message):
    save_params(tmp_path / "m.params", build_network(8, 3, (3, 16, 16)))
    (tmp_path / "bad.params").write_bytes(damage((tmp_path / "m.params").read_bytes()))
    with pytest.raises(UserError, match=message):
        load_params(tmp_path / "bad.params")


def test_checkpoint_keys_must_carry_the_right_prefix(tmp_path):
    save_ndarray_list(tmp_path / "a.params", {"fc1_weight": np.ones((2, 2), np.float32)})
    with pytest.raises(UserError, match="lacks the arg:/aux: prefix"):
        load_params(tmp_path / "a.params")
    save_ndarray_list(tmp_path / "b.params", {"arg:bn0_moving_mean": np.ones(2, np.float32)})
    with pytest.raises(UserError, match="should be aux:bn0_moving_mean"):
        load_params(tmp_path / "b.params")


def test_scalars_cannot_be_saved_in_the_mxnet_1_format(tmp_path):
    with pytest.raises(ValueError, match="0-dimensional"):
        save_ndarray_list(tmp_path / "a.params", {"s": np.float32(2.5).reshape(())})


def test_failed_write_keeps_the_previous_file(tmp_path):
    save_ndarray_list(tmp_path / "a.params", {"arg:x": np.ones(2, np.float32)})
    before = (tmp_path / "a.params").read_bytes()
    with pytest.raises(ValueError, match="no type"):
        save_ndarray_list(tmp_path / "a.params", {"arg:x": np.ones(2, np.complex64)})
    assert (tmp_path / "a.params").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.params"]


def test_save_and_load_into_round_trip(tmp_path):
    x = np.random.default_rng(0).uniform(0, 255, (2, 3, 40, 40)).astype(np.float32)
    model = _randomise(build_network(18, 5, (3, 40, 40)), 1, x).to(memory_format=torch.channels_last)
    save_params(tmp_path / "m.params", model)
    arrays = load_params(tmp_path / "m.params")
    assert list(arrays)[:4] == ["bn_data_gamma", "bn_data_beta", "conv0_weight", "bn0_gamma"]
    assert list(arrays)[-1] == "bn1_moving_var"  # arguments first, then auxiliary states
    assert all(a.dtype == np.float32 for a in arrays.values())
    np.testing.assert_array_equal(arrays["bn_data_gamma"], np.ones(3, np.float32))
    other = build_network(18, 5, (3, 40, 40))
    load_into(other, arrays)
    for key, value in model.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            torch.testing.assert_close(other.state_dict()[key], value, rtol=0, atol=0)


def test_load_into_names_what_does_not_fit():
    arrays = model_arrays(build_network(18, 5, (3, 40, 40)))
    with pytest.raises(
        UserError, match=r"fc1_bias has shape \(5,\), the network needs \(10,\).*num_classes=10"
    ):
        load_into(build_network(18, 10, (3, 40, 40)), arrays)
    with pytest.raises(UserError, match=r"missing stage1_unit3_bn1_beta, .* and 72 more.*num_layers=34"):
        load_into(build_network(34, 5, (3, 40, 40)), arrays)
    with pytest.raises(UserError, match=r"\(unexpected stage4_unit3_bn1_beta\)"):
        load_into(build_network(18, 5, (3, 40, 40)), {**arrays, "stage4_unit3_bn1_beta": np.ones(512)})
    without_fc = {k: v for k, v in arrays.items() if not k.startswith("fc1")}
    with pytest.raises(UserError, match="missing fc1_bias, fc1_weight"):
        load_into(build_network(18, 5, (3, 40, 40)), without_fc)
    fresh = build_network(18, 7, (3, 40, 40))
    head = fresh.fc1.weight.detach().clone()
    load_into(fresh, without_fc, ignore={"fc1_weight", "fc1_bias"})  # a pretrained body, a new classifier
    assert torch.equal(fresh.fc1.weight, head)
    np.testing.assert_array_equal(fresh.conv0.weight.detach().numpy(), arrays["conv0_weight"])


def test_model_shapes_file(tmp_path):
    write_model_shapes(tmp_path / "model-shapes.json", (3, 224, 200), 32)
    assert json.loads((tmp_path / "model-shapes.json").read_text()) == [
        {"name": "data", "shape": [32, 3, 224, 200]}
    ]


# -------------------------------------------------------------------------------------- with MXNet 1.9.1


@pytest.mark.mxnet
def test_mxnet_reads_roost_params_and_roost_reads_mxnet_params(tmp_path, run_mxnet):
    arrays = {"arg:w": np.arange(24, dtype=np.float32).reshape(2, 3, 4), "aux:v": np.array([0.5, -1.0])}
    save_ndarray_list(tmp_path / "roost.params", arrays)
    seen = run_mxnet(
        """
        import json, sys
        import numpy as np, mxnet as mx
        folder = sys.argv[1]
        loaded = mx.nd.load(folder + '/roost.params')
        mx.nd.save(folder + '/mx.params', {'arg:h': mx.nd.array([1.5, 2], dtype='float16'),
                                           'aux:i': mx.nd.array([[7, 8]], dtype='int64')})
        with mx.util.np_shape(True):  # NumPy-shape semantics write version-3 arrays, scalars allowed
            mx.nd.save(folder + '/np.params', {'s': mx.nd.array(np.float32(3.5).reshape(()))})
        print(json.dumps({k: [str(v.dtype), v.shape, v.asnumpy().ravel().tolist()]
                          for k, v in loaded.items()}))
        """,
        tmp_path,
    )
    assert seen == {"arg:w": ["<class 'numpy.float32'>", [2, 3, 4], list(range(24))],
                    "aux:v": ["<class 'numpy.float64'>", [2], [0.5, -1.0]]}  # fmt: skip
    from_mx = load_ndarray_list(tmp_path / "mx.params")
    assert from_mx["arg:h"].dtype == np.float16 and from_mx["arg:h"].tolist() == [1.5, 2.0]
    assert from_mx["aux:i"].dtype == np.int64 and from_mx["aux:i"].tolist() == [[7, 8]]
    scalar = load_ndarray_list(tmp_path / "np.params")["s"]
    assert scalar.shape == () and scalar == 3.5


@pytest.mark.mxnet
def test_symbol_is_resnet_py_node_for_node(run_mxnet):
    specs = [(c[2], c[3], c[4], 6, c[1][1]) for c in CASES]
    reference = run_mxnet(
        MX_RESNET
        + """
out = []
for units, filters, bottleneck, classes, height in json.loads(sys.argv[1]):
    with mx.name.NameManager():  # fresh counters (pooling0, _plus0, ...), as in a new process
        out.append(json.loads(resnet(units, filters, bottleneck, classes, height).tojson()))
print(json.dumps(out))
""",
        json.dumps(specs),
    )
    for (layers, shape, *_), expected in zip(CASES, reference, strict=True):
        ours = symbol_json(build_network(layers, 6, shape).spec)
        # node_row_ptr counts hidden outputs, which depend on MXNet's build (MKL-DNN gives max pooling a
        # second one); MXNet recomputes it on load.
        for key in ("nodes", "arg_nodes", "heads"):
            assert ours[key] == expected[key], (layers, shape, key)
        assert len(ours["node_row_ptr"]) == len(ours["nodes"]) + 1
        assert ours["attrs"] == {"mxnet_version": ["int", 10301]}


@pytest.mark.mxnet
def test_symbol_parameter_shapes_match_the_network(tmp_path, run_mxnet):
    cases = [*((c[0], c[1]) for c in CASES), (152, (3, 224, 224))]
    for i, (layers, shape) in enumerate(cases):
        write_symbol(tmp_path / f"{i}-symbol.json", build_network(layers, 9, shape).spec)
    shapes = run_mxnet(
        """
        import json, sys
        import mxnet as mx
        out = []
        for i, shape in enumerate(json.loads(sys.argv[2])):
            sym = mx.sym.load('%s/%d-symbol.json' % (sys.argv[1], i))
            args, _, aux = sym.infer_shape(data=tuple([1] + shape))
            named = dict(zip(sym.list_arguments(), args))
            named.update(zip(sym.list_auxiliary_states(), aux))
            out.append({k: v for k, v in named.items() if k not in ('data', 'softmax_label')})
        print(json.dumps(out))
        """,
        tmp_path,
        json.dumps([list(c[1]) for c in cases]),
    )
    for (layers, shape), expected in zip(cases, shapes, strict=True):
        arrays = model_arrays(build_network(layers, 9, shape))
        assert {k: list(v.shape) for k, v in arrays.items()} == expected, (layers, shape)


@pytest.mark.mxnet
def test_mxnet_computes_roost_models_probabilities(tmp_path, run_mxnet):
    """The decisive check: a roost checkpoint + symbol in MXNet 1.9.1 give roost's outputs."""
    rng = np.random.default_rng(0)
    expected = []
    for i, (layers, shape, *_) in enumerate(CASES):
        x = rng.uniform(0, 255, (3, *shape)).astype(np.float32)
        model = _randomise(build_network(layers, 6, shape), i, x).to(memory_format=torch.channels_last)
        save_params(tmp_path / f"m{i}-0007.params", model)
        write_symbol(tmp_path / f"m{i}-symbol.json", model.spec)
        np.save(tmp_path / f"x{i}.npy", x)
        expected.append(_roost_outputs(model, x))
    outputs = run_mxnet(
        MX_RESNET
        + """
out = []
for i in range(int(sys.argv[2])):
    sym, arg_params, aux_params = mx.model.load_checkpoint('%s/m%d' % (sys.argv[1], i), 7)
    out.append(predict(sym, arg_params, aux_params, np.load('%s/x%d.npy' % (sys.argv[1], i))))
print(json.dumps(out))
""",
        tmp_path,
        str(len(CASES)),
    )
    for (layers, shape, *_), (probs, logits), (mx_probs, mx_logits) in zip(
        CASES, expected, outputs, strict=True
    ):
        assert probs.max(1).min() < 0.99, "saturated probabilities would hide differences"
        np.testing.assert_allclose(mx_probs, probs, atol=1e-4, err_msg=f"{layers} {shape}")
        np.testing.assert_allclose(mx_logits, logits, rtol=1e-4, atol=1e-3, err_msg=f"{layers} {shape}")


@pytest.mark.mxnet
def test_roost_computes_mxnet_checkpoints_probabilities(tmp_path, run_mxnet):
    """MXNet's own symbol and random parameters, saved by MXNet, run in roost with MXNet's outputs."""
    rng = np.random.default_rng(1)
    for i, (_, shape, *_) in enumerate(CASES):
        np.save(tmp_path / f"x{i}.npy", rng.uniform(0, 255, (2, *shape)).astype(np.float32))
    outputs = run_mxnet(
        MX_RESNET
        + """
folder, cases = sys.argv[1], json.loads(sys.argv[2])
rng = np.random.RandomState(0)
out = []
for i, (units, filters, bottleneck, height) in enumerate(cases):
    with mx.name.NameManager():
        sym = resnet(units, filters, bottleneck, 6, height)
    x = np.load('%s/x%d.npy' % (folder, i))
    args, _, aux = sym.infer_shape(data=x.shape)
    arg_params, aux_params = {}, {}
    for name, shape in zip(sym.list_arguments(), args):
        if name in ('data', 'softmax_label'):
            continue
        if name.endswith('_gamma'):  # bn_data's too: MXNet must ignore it (fix_gamma)
            value = rng.uniform(0.5, 1.5, shape)
        elif name.endswith(('_beta', '_bias')):
            value = rng.normal(0, 0.2, shape)
        else:
            value = rng.normal(0, np.sqrt(2.0 / np.prod(shape[1:])), shape)
        arg_params[name] = mx.nd.array(value)
    for name, shape in zip(sym.list_auxiliary_states(), aux):
        raw = name.startswith('bn_data')
        if name.endswith('mean'):
            value = rng.uniform(80, 180, shape) if raw else rng.normal(0, 0.2, shape)
        else:
            value = rng.uniform(1000, 4000, shape) if raw else rng.uniform(0.5, 1.5, shape)
        aux_params[name] = mx.nd.array(value)
    # fc1 scaled to logits of a few units: saturated probabilities would hide errors.
    flat = sym.get_internals()['flatten0_output']
    args = {n: arg_params[n] for n in flat.list_arguments() if n != 'data'}
    args['data'] = mx.nd.array(x)
    aux = {n: aux_params[n] for n in flat.list_auxiliary_states()}
    features = flat.bind(mx.cpu(), args, aux_states=aux).forward(is_train=False)[0].asnumpy()
    arg_params['fc1_weight'] /= float(np.std(features) * np.sqrt(arg_params['fc1_weight'].shape[1]))
    mx.model.save_checkpoint('%s/mx%d' % (folder, i), 3, sym, arg_params, aux_params)
    out.append(predict(sym, arg_params, aux_params, x))
print(json.dumps(out))
""",
        tmp_path,
        json.dumps([[c[2], c[3], c[4], c[1][1]] for c in CASES]),
    )
    for i, ((layers, shape, *_), (mx_probs, mx_logits)) in enumerate(zip(CASES, outputs, strict=True)):
        arrays = load_params(tmp_path / f"mx{i}-0003.params")
        assert arrays["bn_data_gamma"].min() != 1.0
        model = build_network(layers, 6, shape).to(memory_format=torch.channels_last)
        load_into(model, arrays)
        probs, logits = _roost_outputs(model, np.load(tmp_path / f"x{i}.npy"))
        np.testing.assert_allclose(probs, mx_probs, atol=1e-4, err_msg=f"{layers} {shape}")
        np.testing.assert_allclose(logits, mx_logits, rtol=1e-4, atol=1e-3, err_msg=f"{layers} {shape}")
        assert probs.max(1).min() < 0.99, "saturated probabilities would hide differences"
