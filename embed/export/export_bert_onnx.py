#!/usr/bin/env python3
"""Export a sentence-transformers BERT model (safetensors) to ONNX without torch.

The encoder graph is written op by op with `onnx.helper` (opset 17, for LayerNormalization),
weights read with `safetensors.numpy`, and the result is checked against a plain numpy forward
pass of the same weights before it is trusted (max abs difference on random batches with
padding). The model folder written to OUT holds what leadcrawl's `embed` crate loads:

    OUT/model.onnx                 inputs input_ids, attention_mask, token_type_ids (int64
                                   [batch, seq]); output last_hidden_state (float32 [b, s, h])
    OUT/tokenizer.json, config.json, special_tokens_map.json, tokenizer_config.json
    OUT/1_Pooling/config.json, sentence_bert_config.json   (pooling and max length, as shipped)
    OUT/export.json                what was exported, from where, and the check's result

usage: export_bert_onnx.py SRC_MODEL_DIR OUT_DIR [--check-only]
"""

import argparse
import hashlib
import json
import math
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

OPSET = 17
COPIED = [
    "tokenizer.json",
    "config.json",
    "special_tokens_map.json",
    "tokenizer_config.json",
    "sentence_bert_config.json",
    "1_Pooling/config.json",
]


def load(src):
    cfg = json.load(open(os.path.join(src, "config.json")))
    if cfg.get("model_type") != "bert":
        sys.exit(f"{src}: model_type {cfg.get('model_type')!r} is not bert; only BERT encoders are supported")
    if cfg.get("hidden_act", "gelu") != "gelu":
        sys.exit(f"{src}: hidden_act {cfg['hidden_act']!r} is not gelu")
    weights = load_file(os.path.join(src, "model.safetensors"))
    # Some checkpoints prefix every name with "bert.".
    weights = {k[len("bert."):] if k.startswith("bert.") else k: v for k, v in weights.items()}
    return cfg, weights


# ---------------------------------------------------------------------------------------------
# numpy reference


def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def reference(cfg, w, ids, mask, types):
    h, heads, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
    hd = h // heads
    b, s = ids.shape
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:s][None] \
        + w["embeddings.token_type_embeddings.weight"][types]
    x = layer_norm(x.astype(np.float64), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    ext = ((1.0 - mask.astype(np.float64)) * np.finfo(np.float32).min)[:, None, None, :]
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        lin = lambda t, n: t @ w[p + n + ".weight"].T.astype(np.float64) + w[p + n + ".bias"]
        split = lambda t: t.reshape(b, s, heads, hd).transpose(0, 2, 1, 3)
        q, k, v = split(lin(x, "attention.self.query")), split(lin(x, "attention.self.key")), split(lin(x, "attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(hd) + ext
        scores = scores - scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(b, s, h)
        x = layer_norm(lin(ctx, "attention.output.dense") + x, w[p + "attention.output.LayerNorm.weight"],
                       w[p + "attention.output.LayerNorm.bias"], eps)
        inner = lin(x, "intermediate.dense")
        inner = 0.5 * inner * (1.0 + erf(inner / math.sqrt(2.0)))
        x = layer_norm(lin(inner, "output.dense") + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    return x.astype(np.float32)


# ---------------------------------------------------------------------------------------------
# ONNX graph


class Graph:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, hint):
        self.n += 1
        return f"{hint}_{self.n}"

    def const(self, array, hint="c"):
        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, inputs, hint=None, **attrs):
        out = self.name(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out


def build(cfg, w):
    h, heads, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
    hd = h // heads
    g = Graph()
    f32 = lambda a: np.asarray(a, dtype=np.float32)

    def linear(x, prefix):
        y = g.op("MatMul", [x, g.const(f32(w[prefix + ".weight"].T), "w")])
        return g.op("Add", [y, g.const(f32(w[prefix + ".bias"]), "b")])

    def norm(x, prefix):
        return g.op("LayerNormalization", [x, g.const(f32(w[prefix + ".weight"]), "g"), g.const(f32(w[prefix + ".bias"]), "b")],
                    axis=-1, epsilon=float(eps))

    word = g.op("Gather", [g.const(f32(w["embeddings.word_embeddings.weight"]), "word"), "input_ids"])
    seq_len = g.op("Gather", [g.op("Shape", ["input_ids"]), g.const(np.array(1, dtype=np.int64))], axis=0)
    positions = g.op("Range", [g.const(np.array(0, dtype=np.int64)), seq_len, g.const(np.array(1, dtype=np.int64))])
    pos = g.op("Gather", [g.const(f32(w["embeddings.position_embeddings.weight"]), "pos"), positions])
    typ = g.op("Gather", [g.const(f32(w["embeddings.token_type_embeddings.weight"]), "type"), "token_type_ids"])
    x = norm(g.op("Add", [g.op("Add", [word, pos]), typ]), "embeddings.LayerNorm")

    mask = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    inverted = g.op("Sub", [g.const(f32(1.0)), mask])
    additive = g.op("Mul", [inverted, g.const(f32(np.finfo(np.float32).min))])
    additive = g.op("Unsqueeze", [additive, g.const(np.array([1, 2], dtype=np.int64))])  # [b,1,1,s]
    split_shape = g.const(np.array([0, 0, heads, hd], dtype=np.int64))
    merge_shape = g.const(np.array([0, 0, h], dtype=np.int64))
    scale = g.const(f32(1.0 / math.sqrt(hd)))
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        heads_of = lambda t, perm: g.op("Transpose", [g.op("Reshape", [t, split_shape])], perm=perm)
        q = heads_of(linear(x, p + "attention.self.query"), [0, 2, 1, 3])
        k = heads_of(linear(x, p + "attention.self.key"), [0, 2, 3, 1])
        v = heads_of(linear(x, p + "attention.self.value"), [0, 2, 1, 3])
        scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, k]), scale]), additive])
        probs = g.op("Softmax", [scores], axis=-1)
        ctx = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3]), merge_shape])
        x = norm(g.op("Add", [linear(ctx, p + "attention.output.dense"), x]), p + "attention.output.LayerNorm")
        inner = linear(x, p + "intermediate.dense")
        erf = g.op("Erf", [g.op("Div", [inner, g.const(f32(math.sqrt(2.0)))])])
        gelu = g.op("Mul", [g.op("Mul", [inner, g.const(f32(0.5))]), g.op("Add", [erf, g.const(f32(1.0))])])
        x = norm(g.op("Add", [linear(gelu, p + "output.dense"), x]), p + "output.LayerNorm")
    g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"]))

    ints = lambda n: helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"])
    graph = helper.make_graph(
        g.nodes, "bert_encoder", [ints("input_ids"), ints("attention_mask"), ints("token_type_ids")],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", h])],
        initializer=g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="leadcrawl-export")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def check(cfg, w, model_path, seed=7):
    """Max abs difference between onnxruntime on the exported graph and the numpy reference."""
    import onnxruntime as ort

    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    worst = 0.0
    for b, s in [(1, 7), (3, 19), (2, 64)]:
        ids = rng.integers(1000, cfg["vocab_size"], size=(b, s), dtype=np.int64)
        ids[:, 0] = 101
        mask = np.ones((b, s), dtype=np.int64)
        if b > 1:
            mask[1:, s // 2:] = 0  # padded rows
            ids[1:, s // 2:] = 0
        types = np.zeros((b, s), dtype=np.int64)
        got = sess.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
        want = reference(cfg, w, ids, mask, types)
        valid = mask.astype(bool)  # padded positions are never pooled
        worst = max(worst, float(np.abs(got - want)[valid].max()))
    return worst


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    args = ap.parse_args()
    cfg, w = load(args.src)
    os.makedirs(args.out, exist_ok=True)
    tmp = os.path.join(args.out, "model.onnx.tmp")
    onnx.save(build(cfg, w), tmp)
    diff = check(cfg, w, tmp)
    if not diff <= args.tolerance:
        os.remove(tmp)
        sys.exit(f"export check failed: max abs difference {diff:.3g} > {args.tolerance}")
    for rel in COPIED:
        src = os.path.join(args.src, rel)
        if os.path.exists(src):
            os.makedirs(os.path.dirname(os.path.join(args.out, rel)), exist_ok=True)
            shutil.copyfile(src, os.path.join(args.out, rel))
    os.replace(tmp, os.path.join(args.out, "model.onnx"))
    info = {"source": os.path.abspath(args.src), "source_sha256": sha256(os.path.join(args.src, "model.safetensors")),
            "exporter_sha256": sha256(os.path.abspath(__file__)), "opset": OPSET, "max_abs_diff_vs_numpy": diff,
            "hidden_size": cfg["hidden_size"], "layers": cfg["num_hidden_layers"]}
    tmp = os.path.join(args.out, "export.json.tmp")
    json.dump(info, open(tmp, "w"), indent=2)
    os.replace(tmp, os.path.join(args.out, "export.json"))
    print(f"exported {args.out}/model.onnx (max abs difference vs numpy {diff:.2e})")


if __name__ == "__main__":
    main()
