#!/usr/bin/env python3
"""Score main-text extractions against the extraction benchmarks in ../shared/data/extraction.

The input is the JSON written by `leadcrawl extract-html` (or by bench/extract-peer for
rs-trafilatura): {"<file stem>": {"articleBody": "...", ...}}.

Metrics
  shingle P/R/F1  the Zyte article-extraction-benchmark metric: tokens are `\\w+` runs,
                  lower-cased; multisets of 4-token shingles (a text shorter than 4 tokens is one
                  shorter shingle); per page precision = |pred & true| / |pred|, recall =
                  |pred & true| / |true|, F1 = 2PR/(P+R) (0 when P+R = 0); means over pages.
  with / without  whitespace-normalised substring checks: share of `with` snippets found and of
                  `without` snippets leaked (WCXB and trafilatura-eval), summed over pages.

usage: extract_quality.py SET PRED.json [--data DIR] [--worst N]
  SET is article | wcxb | trafilatura
"""

import argparse
import json
import os
import re
import sys
from collections import Counter

TOKEN = re.compile(r"\w+")
SPACE = re.compile(r"\s+")


def shingles(text, n=4):
    tokens = TOKEN.findall((text or "").lower())
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)))


def prf(true, pred):
    t, p = shingles(true), shingles(pred)
    tp = sum((t & p).values())
    precision = tp / sum(p.values()) if p else 0.0
    recall = tp / sum(t.values()) if t else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return precision, recall, f1


def norm(s):
    return SPACE.sub(" ", s or "").strip()


def load_truth(kind, data):
    """{stem: (main_text or None, with, without)}"""
    truth = {}
    if kind == "article":
        gt = json.load(open(os.path.join(data, "article-benchmark-dev", "ground-truth.json")))
        for stem, rec in gt.items():
            truth[stem] = (rec["articleBody"], [], [])
    elif kind == "wcxb":
        folder = os.path.join(data, "wcxb-dev", "dev", "ground-truth")
        for name in sorted(os.listdir(folder)):
            g = json.load(open(os.path.join(folder, name)))["ground_truth"]
            truth[name[: -len(".json")]] = (g["main_content"], g.get("with") or [], g.get("without") or [])
    elif kind == "trafilatura":
        ev = json.load(open(os.path.join(data, "trafilatura-eval", "evaldata.json")))
        for rec in ev.values():
            stem = rec["file"]
            stem = stem[: -len(".html")] if stem.endswith(".html") else stem
            truth[stem] = (None, rec.get("with") or [], rec.get("without") or [])
    else:
        sys.exit(f"unknown set {kind!r}: use article, wcxb or trafilatura")
    return truth


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("set")
    ap.add_argument("pred")
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "extraction"))
    ap.add_argument("--worst", type=int, default=0, help="list the N pages with the lowest F1")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = ap.parse_args()

    truth = load_truth(args.set, args.data)
    pred = json.load(open(args.pred))
    missing = [s for s in truth if s not in pred]
    ps, rs, fs, per_page = [], [], [], []
    w_found = w_total = wo_leaked = wo_total = 0
    for stem, (main, with_, without) in truth.items():
        body = (pred.get(stem) or {}).get("articleBody") or ""
        if main is not None:
            p, r, f = prf(main, body)
            ps.append(p), rs.append(r), fs.append(f)
            per_page.append((f, p, r, stem))
        text = norm(body)
        for s in with_:
            w_total += 1
            w_found += norm(s) in text
        for s in without:
            wo_total += 1
            wo_leaked += norm(s) in text
    out = {"set": args.set, "pages": len(truth), "missing": len(missing)}
    if fs:
        out.update(
            precision=round(sum(ps) / len(ps), 4),
            recall=round(sum(rs) / len(rs), 4),
            f1=round(sum(fs) / len(fs), 4),
        )
    if w_total:
        out.update(with_found=round(w_found / w_total, 4), with_total=w_total)
    if wo_total:
        out.update(without_leaked=round(wo_leaked / wo_total, 4), without_total=wo_total)
    if args.json:
        print(json.dumps(out))
    else:
        print("  ".join(f"{k}={v}" for k, v in out.items()))
    for f, p, r, stem in sorted(per_page)[: args.worst]:
        print(f"  {stem[:40]:40s} F1 {f:.3f}  P {p:.3f}  R {r:.3f}")


if __name__ == "__main__":
    main()
