#!/usr/bin/env python3
"""Write a model folder's int8 variant and accept it only if it embeds like the fp32 model.

The variant is ONNX Runtime's dynamic quantisation of OUT/model.onnx: int8 weights, one scale per
output channel (per-tensor scales drift much more: mean cosine 0.95 on the texts below), the
activations quantised per batch at run time. It is checked before it is trusted: both models
embed the fixed texts of check_texts.jsonl (245 paragraphs and page openings of real company
and service pages, see check_texts.SOURCE.txt) the way leadcrawl does (sorted by token count,
batches of 32, mean pooling, L2 norm), and the int8 vectors must keep a cosine of at least
--min-cosine to the fp32 ones, text by text.

    MODEL_DIR/model.int8.onnx    written only when the check passes
    MODEL_DIR/quantize.json      the settings, the check's figures and `accepted`; leadcrawl
                                 uses model.int8.onnx only when `accepted` is true and the
                                 file's SHA-256 is the one recorded here

usage: quantize_int8.py MODEL_DIR [--min-cosine 0.97]
"""

import argparse
import hashlib
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TEXTS = os.path.join(HERE, "check_texts.jsonl")
# Chosen by measurement (bench/README.md, embed section): signed weights use the VNNI/AMX
# int8 kernels (unsigned ones ran at fp32 speed), and quantising the embedding tables' Gather as
# well as the MatMuls shrinks the file from 56 to 22 MiB (fp32: 86 MiB) at no measurable cost in
# speed or accuracy.
SETTINGS = {"weight_type": "QInt8", "per_channel": True, "op_types": ["MatMul", "Gather"]}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def embed(session, tokenizer, texts, batch=32):
    """Vectors as leadcrawl's embed stage makes them: sorted by tokens, mean pooled, L2 norm."""
    inputs = {i.name for i in session.get_inputs()}
    order = sorted(range(len(texts)), key=lambda i: (len(tokenizer.encode(texts[i]).ids), len(texts[i])))
    out = np.zeros((len(texts), 0), np.float32)
    for start in range(0, len(order), batch):
        idx = order[start:start + batch]
        enc = tokenizer.encode_batch([texts[i] for i in idx])
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = session.run(None, feed)[0]
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        if out.shape[1] == 0:
            out = np.zeros((len(texts), pooled.shape[1]), np.float32)
        out[idx] = pooled
    return out


def session(path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def check(model_dir, candidate, texts):
    """Cosine of each text's int8 vector to its fp32 vector."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    max_len = json.load(open(os.path.join(model_dir, "sentence_bert_config.json"))).get("max_seq_length", 256)
    tok.enable_truncation(max_len)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    fp32 = embed(session(os.path.join(model_dir, "model.onnx")), tok, texts)
    int8 = embed(session(candidate), tok, texts)
    return (fp32 * int8).sum(1)


def up_to_date(model_dir):
    """quantize.json describes the present model.onnx, quantiser and check texts."""
    try:
        info = json.load(open(os.path.join(model_dir, "quantize.json")))
    except (OSError, ValueError):
        return False
    if (info.get("fp32_sha256") != sha256(os.path.join(model_dir, "model.onnx"))
            or info.get("quantizer_sha256") != sha256(os.path.abspath(__file__))
            or info.get("texts_sha256") != sha256(TEXTS)):
        return False
    if not info.get("accepted"):
        return True  # rejected for these very inputs: quantising again gives the same answer
    path = os.path.join(model_dir, info.get("file", ""))
    return os.path.isfile(path) and sha256(path) == info.get("sha256")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--min-cosine", type=float, default=0.97)
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args()
    model_dir = os.path.abspath(a.model_dir)
    if not a.force and up_to_date(model_dir):
        return
    import logging

    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # quantize_dynamic logs advice about pre-processing for static quantisation: not ours.
    logging.getLogger().setLevel(logging.ERROR)

    texts = [json.loads(line) for line in open(TEXTS, encoding="utf-8")]
    final = os.path.join(model_dir, "model.int8.onnx")
    tmp = final + ".tmp"
    quantize_dynamic(os.path.join(model_dir, "model.onnx"), tmp,
                     weight_type=getattr(QuantType, SETTINGS["weight_type"]),
                     per_channel=SETTINGS["per_channel"], op_types_to_quantize=SETTINGS["op_types"])
    cos = check(model_dir, tmp, texts)
    accepted = bool(cos.min() >= a.min_cosine)
    info = {
        "file": "model.int8.onnx",
        "accepted": accepted,
        "method": "onnxruntime.quantization.quantize_dynamic",
        **SETTINGS,
        "onnxruntime_version": onnxruntime.__version__,
        "fp32_sha256": sha256(os.path.join(model_dir, "model.onnx")),
        "quantizer_sha256": sha256(os.path.abspath(__file__)),
        "check": {
            "texts": len(texts),
            "texts_file": os.path.basename(TEXTS),
            "min_cosine_required": a.min_cosine,
            "min_cosine": round(float(cos.min()), 6),
            "p01_cosine": round(float(np.percentile(cos, 1)), 6),
            "mean_cosine": round(float(cos.mean()), 6),
        },
        "texts_sha256": sha256(TEXTS),
    }
    if accepted:
        info["sha256"] = sha256(tmp)
        os.replace(tmp, final)
    else:
        os.remove(tmp)
        if os.path.exists(final):
            os.remove(final)
    out = os.path.join(model_dir, "quantize.json")
    json.dump(info, open(out + ".tmp", "w"), indent=2)
    os.replace(out + ".tmp", out)
    verdict = "accepted" if accepted else f"REJECTED (below {a.min_cosine}); leadcrawl will use fp32"
    print(f"int8 variant {verdict}: cosine to fp32 over {len(texts)} texts min {cos.min():.4f} "
          f"mean {cos.mean():.4f}", file=sys.stderr if not accepted else sys.stdout)


if __name__ == "__main__":
    main()
