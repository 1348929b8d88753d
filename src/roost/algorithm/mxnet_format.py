"""Model artifacts in MXNet's formats (docs/algorithm.md §6.1), so SageMaker and MXNet users can load roost's
models.

* `.params`: MXNet's NDArray-list file (`mx.nd.save`/`load`) with keys `arg:<name>` and `aux:<name>`,
  written and read here byte by byte, no pickle and no MXNet.
* `image-classification-symbol.json`: the same network as an MXNet symbol graph, node for node what
  `example/image-classification/symbols/resnet.py` builds, so `mx.model.load_checkpoint` + `mx.mod.Module`
  run it.
* `model-shapes.json`: the SageMaker-MXNet input descriptor `[{"name": "data", "shape": [N, C, H, W]}]`.

Every file is written to a temporary name and renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from roost.algorithm.network import ResNet, fixed_gamma_names, is_aux, torch_names
from roost.algorithm.resnet_layout import ResNetSpec
from roost.atomic_file import write_atomically
from roost.errors import UserError

_LIST_MAGIC = 0x112
_V1_MAGIC = 0xF993FAC8  # int64 dims, no storage type
_V2_MAGIC = 0xF993FAC9  # storage type, int64 dims (what MXNet 1.x writes)
_V3_MAGIC = 0xF993FACA  # as V2 with NumPy shape semantics (ndim 0 = scalar, -1 = unknown)
_CPU = 1
# MXNet type flags (mshadow) <-> NumPy.
_DTYPES = {
    0: np.dtype("<f4"),
    1: np.dtype("<f8"),
    2: np.dtype("<f2"),
    3: np.dtype("u1"),
    4: np.dtype("<i4"),
    5: np.dtype("i1"),
    6: np.dtype("<i8"),
    7: np.dtype("?"),
}
_TYPE_FLAGS = {dtype: flag for flag, dtype in _DTYPES.items()}
# The MXNet release SageMaker's container ran ("AIAlgorithmsMXNet-1.3.x"); newer MXNet upgrades it.
MXNET_VERSION = 10301
WORKSPACE = 256


# ------------------------------------------------------------------------------------- .params files


def save_ndarray_list(path: str | Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Write `arrays` as an MXNet NDArray-list file (V2 dense CPU arrays, little-endian)."""
    chunks = [struct.pack("<QQQ", _LIST_MAGIC, 0, len(arrays))]
    for name, array in arrays.items():
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        if dtype not in _TYPE_FLAGS:
            raise ValueError(f"{name}: MXNet has no type for {array.dtype}")
        if array.ndim == 0:  # ndim 0 means "no array" in this format; scalars need NumPy-shape files
            raise ValueError(f"{name}: 0-dimensional arrays cannot be saved, reshape to (1,)")
        chunks.append(struct.pack("<IiI", _V2_MAGIC, 0, array.ndim))
        chunks.append(struct.pack(f"<{array.ndim}q", *array.shape))
        chunks.append(struct.pack("<iii", _CPU, 0, _TYPE_FLAGS[dtype]))
        chunks.append(np.ascontiguousarray(array, dtype=dtype).tobytes())
    chunks.append(struct.pack("<Q", len(arrays)))
    for name in arrays:
        encoded = name.encode("utf-8")
        chunks.append(struct.pack("<Q", len(encoded)) + encoded)

    def write(out: Any) -> None:
        for chunk in chunks:
            out.write(chunk)

    write_atomically(Path(path), write, "wb")


class _Reader:
    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.pos, self.path = memoryview(data), 0, path

    def take(self, size: int) -> memoryview:
        if size < 0 or self.pos + size > len(self.data):
            raise UserError(
                f"{self.path} is truncated or not an MXNet .params file (ends at byte {self.pos})"
            )
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))

    def array(self) -> np.ndarray:
        (magic,) = self.unpack("<I")
        if magic in (_V2_MAGIC, _V3_MAGIC):
            (stype,) = self.unpack("<i")
            if stype != 0:
                raise UserError(
                    f"{self.path} holds a sparse NDArray (storage type {stype}); roost reads dense only"
                )
            (ndim,) = self.unpack("<i")
            if ndim < 0 or (ndim == 0 and magic == _V2_MAGIC):
                return np.zeros((0,), np.float32)  # an empty ("none") NDArray
            shape = self.unpack(f"<{ndim}q")
        elif magic == _V1_MAGIC:
            (ndim,) = self.unpack("<I")
            shape = self.unpack(f"<{ndim}q")
        else:  # before MXNet 0.9 (the 2016 model zoo): the first word is ndim, dims are uint32
            ndim = magic
            if ndim > 32:
                raise UserError(f"{self.path}: not an MXNet NDArray at byte {self.pos - 4}")
            shape = self.unpack(f"<{ndim}I")
        if ndim == 0 and magic != _V3_MAGIC:
            return np.zeros((0,), np.float32)
        self.unpack("<ii")  # context (device type and id): arrays load on the CPU regardless
        (flag,) = self.unpack("<i")
        if flag not in _DTYPES:
            raise UserError(f"{self.path}: unsupported MXNet type flag {flag}")
        dtype = _DTYPES[flag]
        count = math.prod(shape)  # Python integers: crafted dimensions cannot overflow into a small count
        size = len(self.data)
        if (
            any(d < 0 for d in shape)
            or max(shape, default=0) > size
            or count * dtype.itemsize > size - self.pos
        ):
            raise UserError(
                f"{self.path}: an array of shape {tuple(shape)} cannot fit in a file of {size} bytes; "
                "the file is damaged or not an MXNet .params file"
            )
        data = self.take(count * dtype.itemsize)
        return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def load_ndarray_list(path: str | Path) -> dict[str, np.ndarray]:
    """Read an MXNet NDArray-list file (MXNet 0.8-1.9, dense) into arrays keyed as in the file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror}") from error
    reader = _Reader(data, path)
    magic, _reserved, count = reader.unpack("<QQQ")
    if magic != _LIST_MAGIC:
        raise UserError(f"{path} is not an MXNet .params file (starts with {magic:#x}, expected 0x112)")
    arrays = [reader.array() for _ in range(count)]
    (names_count,) = reader.unpack("<Q")
    if names_count != count:
        raise UserError(f"{path} has {count} arrays but {names_count} names; it is not a model checkpoint")
    names = [bytes(reader.take(reader.unpack("<Q")[0])).decode("utf-8") for _ in range(count)]
    if reader.pos != len(data):
        raise UserError(f"{path} has {len(data) - reader.pos} unexpected bytes after its last name")
    return dict(zip(names, arrays, strict=True))


def load_params(path: str | Path) -> dict[str, np.ndarray]:
    """A checkpoint's arrays by MXNet name (`fc1_weight`, `bn0_moving_mean`, ...), `arg:`/`aux:` checked."""
    arrays = {}
    for key, array in load_ndarray_list(path).items():
        kind, _, name = key.partition(":")
        if kind not in ("arg", "aux") or not name:
            raise UserError(f"{path} is not an MXNet checkpoint: key {key!r} lacks the arg:/aux: prefix")
        if (kind == "aux") != is_aux(name):
            expected = "aux" if is_aux(name) else "arg"
            raise UserError(f"{path} is not a valid MXNet checkpoint: {key!r} should be {expected}:{name}")
        arrays[name] = array
    return arrays


def _base(model: nn.Module) -> ResNet:
    while not isinstance(model, ResNet):
        inner = getattr(model, "module", None)
        if inner is None:
            inner = getattr(model, "_orig_mod", None)
        if not isinstance(inner, nn.Module):
            raise TypeError(f"expected a roost ResNet (optionally wrapped by DDP/compile), got {type(model)}")
        model = inner
    return model


def model_arrays(model: nn.Module) -> dict[str, np.ndarray]:
    """The model's parameters and BN statistics as float32 arrays by MXNet name.

    Order as MXNet's `save_checkpoint` writes them: arguments in graph order, then auxiliary states;
    fixed gammas (bn_data's) are written as the ones MXNet computes with.
    """
    resnet = _base(model)
    tensors = resnet.state_dict()
    lookup = torch_names(resnet)
    fixed = set(fixed_gamma_names(resnet))
    arguments, auxiliaries = variable_names(resnet.spec)
    arrays = {}
    for name in (*arguments, *auxiliaries):
        if name in fixed:
            array = np.ones(resnet.bn_data.num_features, np.float32)
        else:
            array = tensors[lookup[name]].detach().to("cpu", torch.float32).contiguous().numpy()
        arrays[name] = array
    return arrays


def save_params(path: str | Path, model: nn.Module) -> None:
    """Write the model as an MXNet `.params` checkpoint (float32), atomically."""
    arrays = model_arrays(model)
    save_ndarray_list(path, {("aux:" if is_aux(n) else "arg:") + n: a for n, a in arrays.items()})


def _listing(names: Collection[str], limit: int = 8) -> str:
    shown = sorted(names)[:limit]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(shown) + more


@torch.no_grad()
def load_into(model: nn.Module, arrays: Mapping[str, np.ndarray], *, ignore: Collection[str] = ()) -> None:
    """Copy arrays by MXNet name (as `load_params` gives them) into the model, checking they fit exactly.

    `ignore` names MXNet parameters (e.g. `fc1_weight`, `fc1_bias` when a pretrained network gets a new
    classifier) that are neither required nor loaded. Values of fixed gammas are not used: MXNet
    computes with 1 whatever the file says.
    """
    resnet = _base(model)
    lookup = torch_names(resnet)
    tensors = resnet.state_dict()
    fixed = set(fixed_gamma_names(resnet))
    expected = {name for name in (*lookup, *fixed) if name not in ignore}
    given = {name for name in arrays if name not in ignore}
    missing, extra = expected - given, given - expected
    shape = ",".join(map(str, resnet.spec.image_shape))
    about = (
        f"the model is num_layers={resnet.spec.num_layers}, image_shape={shape}, "
        f"num_classes={resnet.spec.num_classes}"
    )
    if missing or extra:
        problems = []
        if missing:
            problems.append(f"missing {_listing(missing)}")
        if extra:
            problems.append(f"unexpected {_listing(extra)}")
        raise UserError(
            f"the checkpoint does not fit the network ({'; '.join(problems)}); {about}: "
            "use the num_layers and image_shape the checkpoint was trained with"
        )
    for name in sorted(expected):
        array = np.asarray(arrays[name])
        target_shape = (resnet.bn_data.num_features,) if name in fixed else tuple(tensors[lookup[name]].shape)
        if tuple(array.shape) != target_shape:
            raise UserError(
                f"checkpoint array {name} has shape {tuple(array.shape)}, the network needs "
                f"{target_shape}; {about}: use the num_layers, image_shape and num_classes "
                "the checkpoint was trained with"
            )
    for name in expected - fixed:
        target = tensors[lookup[name]]
        target.copy_(torch.from_numpy(np.ascontiguousarray(arrays[name])).to(target.dtype))


# ---------------------------------------------------------------------------------- the symbol graph


def _tuple(*values: int) -> str:
    return "(" + ", ".join(map(str, values)) + ")"


class _Graph:
    """Builds MXNet's JSON graph in the order MXNet serialises it (depth-first, inputs in order)."""

    def __init__(self) -> None:
        self.nodes: list[dict[str, Any]] = []
        self.outputs: list[int] = []  # visible + hidden outputs per node, for node_row_ptr
        self.counters: dict[str, int] = {}

    def _add(
        self, op: str, name: str, attrs: Mapping[str, str] | None, inputs: list[list[int]], outputs: int
    ) -> int:
        node: dict[str, Any] = {"op": op, "name": name}
        if attrs:
            node["attrs"] = dict(sorted(attrs.items()))
        node["inputs"] = inputs
        self.nodes.append(node)
        self.outputs.append(outputs)
        return len(self.nodes) - 1

    def variable(self, name: str, attrs: Mapping[str, str] | None = None) -> int:
        return self._add("null", name, attrs, [], 1)

    def auto_name(self, prefix: str) -> str:
        """MXNet's NameManager for unnamed operators: `pooling0`, `flatten0`, `_plus0`, `_plus1`, ..."""
        count = self.counters.get(prefix, 0)
        self.counters[prefix] = count + 1
        return f"{prefix}{count}"

    def op(
        self,
        op: str,
        name: str,
        data: list[int],
        attrs: Mapping[str, str] | None = None,
        params: tuple[str, ...] = (),
        aux: tuple[tuple[str, str], ...] = (),
        outputs: int = 1,
    ) -> int:
        """An operator whose parameters (`<name>_<param>`) and aux states MXNet creates implicitly.

        Implicit variables carry the operator's attributes; aux states also their `__init__`.
        """
        inputs = [[node, 0, 0] for node in data]
        for param in params:
            inputs.append([self.variable(f"{name}_{param}", attrs), 0, 0])
        for state, init in aux:
            inputs.append([self.variable(f"{name}_{state}", {**(attrs or {}), "__init__": init}), 0, 1])
        return self._add(op, name, attrs, inputs, outputs)

    def to_json(self, head: int) -> dict[str, Any]:
        row_ptr = [0]
        for count in self.outputs:
            row_ptr.append(row_ptr[-1] + count)
        return {
            "nodes": self.nodes,
            "arg_nodes": [i for i, node in enumerate(self.nodes) if node["op"] == "null"],
            "node_row_ptr": row_ptr,
            "heads": [[head, 0, 0]],
            "attrs": {"mxnet_version": ["int", MXNET_VERSION]},
        }


def _batch_norm(graph: _Graph, x: int, name: str, fix_gamma: bool = False) -> int:
    attrs = {"eps": "2e-05", "fix_gamma": str(fix_gamma), "momentum": "0.9"}
    aux = (("moving_mean", '["zero", {}]'), ("moving_var", '["one", {}]'))
    return graph.op("BatchNorm", name, [x], attrs, ("gamma", "beta"), aux, outputs=3)


def _convolution(
    graph: _Graph, x: int, name: str, filters: int, kernel: int, stride: int, pad: int | None
) -> int:
    attrs = {
        "kernel": _tuple(kernel, kernel),
        "no_bias": "True",
        "num_filter": str(filters),
        "stride": _tuple(stride, stride),
        "workspace": str(WORKSPACE),
    }
    if pad is not None:  # resnet.py leaves pad unset on the projection shortcut
        attrs["pad"] = _tuple(pad, pad)
    return graph.op("Convolution", name, [x], attrs, ("weight",))


def _relu(graph: _Graph, x: int, name: str) -> int:
    return graph.op("Activation", name, [x], {"act_type": "relu"})


def _unit(
    graph: _Graph, x: int, name: str, filters: int, stride: int, bottleneck: bool, project: bool
) -> int:
    if bottleneck:
        convs = [(filters // 4, 1, 1, 0), (filters // 4, 3, stride, 1), (filters, 1, 1, 0)]
    else:
        convs = [(filters, 3, stride, 1), (filters, 3, 1, 1)]
    y = x
    first_relu = x
    for i, (width, kernel, s, pad) in enumerate(convs, 1):
        y = _relu(graph, _batch_norm(graph, y, f"{name}_bn{i}"), f"{name}_relu{i}")
        if i == 1:
            first_relu = y
        y = _convolution(graph, y, f"{name}_conv{i}", width, kernel, s, pad)
    shortcut = _convolution(graph, first_relu, f"{name}_sc", filters, 1, stride, None) if project else x
    return graph.op("elemwise_add", graph.auto_name("_plus"), [y, shortcut])


def _build(spec: ResNetSpec, multi_label: bool = False) -> tuple[_Graph, int]:
    graph = _Graph()
    x = graph.op("_copy", "id", [graph.variable("data")])
    x = _batch_norm(graph, x, "bn_data", fix_gamma=True)
    stem = spec.filters[0]
    if spec.small_stem:
        x = _convolution(graph, x, "conv0", stem, 3, 1, 1)
    else:
        x = _convolution(graph, x, "conv0", stem, 7, 2, 3)
        x = _relu(graph, _batch_norm(graph, x, "bn0"), "relu0")
        pool = {"kernel": "(3, 3)", "pad": "(1, 1)", "pool_type": "max", "stride": "(2, 2)"}
        x = graph.op("Pooling", graph.auto_name("pooling"), [x], pool)
    for i, (count, filters) in enumerate(zip(spec.units, spec.filters[1:], strict=True), 1):
        for j in range(1, count + 1):
            stride = 2 if i > 1 and j == 1 else 1
            x = _unit(graph, x, f"stage{i}_unit{j}", filters, stride, spec.bottleneck, project=j == 1)
    x = _relu(graph, _batch_norm(graph, x, "bn1"), "relu1")
    # resnet.py passes a kernel although global pooling ignores it.
    x = graph.op("Pooling", "pool1", [x], {"global_pool": "True", "kernel": "(7, 7)", "pool_type": "avg"})
    x = graph.op("Flatten", graph.auto_name("flatten"), [x])
    x = graph.op("FullyConnected", "fc1", [x], {"num_hidden": str(spec.num_classes)}, ("weight", "bias"))
    # A multi-label model scores each class on its own: a sigmoid per class instead of a softmax.
    output = "LogisticRegressionOutput" if multi_label else "SoftmaxOutput"
    head = graph.op(output, "softmax", [x, graph.variable("softmax_label")])
    return graph, head


def symbol_json(spec: ResNetSpec, multi_label: bool = False) -> dict[str, Any]:
    """The MXNet symbol graph of the network as `Symbol.tojson()` would give it, as a JSON object."""
    graph, head = _build(spec, multi_label)
    return graph.to_json(head)


def variable_names(spec: ResNetSpec) -> tuple[list[str], list[str]]:
    """The graph's learnable arguments and auxiliary states in graph order (no data, no label)."""
    graph, _ = _build(spec)
    names = [node["name"] for node in graph.nodes if node["op"] == "null"]
    arguments = [n for n in names if not is_aux(n) and n not in ("data", "softmax_label")]
    return arguments, [n for n in names if is_aux(n)]


def write_symbol(path: str | Path, spec: ResNetSpec, multi_label: bool = False) -> None:
    """Write `image-classification-symbol.json` for the network `spec` describes, atomically."""
    text = json.dumps(symbol_json(spec, multi_label), indent=2)
    write_atomically(Path(path), lambda out: out.write(text + "\n"), "w")


def write_model_shapes(path: str | Path, image_shape: tuple[int, int, int], batch_size: int) -> None:
    """Write `model-shapes.json`: `[{"name": "data", "shape": [batch_size, C, H, W]}]`, atomically."""
    text = json.dumps([{"name": "data", "shape": [batch_size, *image_shape]}])
    write_atomically(Path(path), lambda out: out.write(text), "w")
