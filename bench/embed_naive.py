#!/usr/bin/env python3
"""The naive peer of the embed stage: plain onnxruntime + tokenizers, texts in input order,
fixed batches of 32 padded to the longest text of each batch, mean pooling, L2 normalisation.

    embed_naive.py MODEL_DIR TEXTS.jsonl [--threads 2] [--batch 32] [--save VECTORS.npy]

TEXTS.jsonl holds one JSON string per line (bench/embed_farm.sh writes it from the chunks
table). Prints the number of texts, the seconds spent embedding and texts/s.
"""
import argparse, json, os, time

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("texts")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--save")
    a = ap.parse_args()
    with open(a.texts, encoding="utf-8") as f:
        texts = [json.loads(line) for line in f]
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(os.path.join(a.model_dir, "model.onnx"), so,
                                providers=["CPUExecutionProvider"])
    inputs = {i.name for i in sess.get_inputs()}
    tok = Tokenizer.from_file(os.path.join(a.model_dir, "tokenizer.json"))
    tok.enable_truncation(a.max_length)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    started = time.perf_counter()
    out = []
    for i in range(0, len(texts), a.batch):
        enc = tok.encode_batch(texts[i:i + a.batch])
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = sess.run(None, feed)[0]
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        out.append(pooled.astype(np.float32))
    secs = time.perf_counter() - started
    print(f"texts {len(texts)} embed_seconds {secs:.2f} texts_per_s {len(texts) / secs:.1f}")
    if a.save:
        np.save(a.save, np.concatenate(out) if out else np.zeros((0, 0), np.float32))


if __name__ == "__main__":
    main()
