#!/usr/bin/env python3
"""Score main-text extractions against the extraction benchmarks in ../shared/data/extraction,
on a development part and a locked part of each set.

The input is the JSON written by `leadcrawl extract-html` (or by bench/extract-peer for
rs-trafilatura, or bench/extract_trafilatura.py): {"<file stem>": {"articleBody": "...", ...}}.

Parts (fixed, never tuned): a page is LOCKED when the first byte of sha256(page id) is below
0x80, else it is DEV. The page id is the file stem: the Zyte page hash for the article set, the
four-digit file id for WCXB, the file name without `.html` for trafilatura-eval. Rules are
developed against the dev part only; the locked part is looked at to check that a rule holds.

Metrics
  shingle P/R/F1  the Zyte article-extraction-benchmark metric: tokens are `\\w+` runs,
                  lower-cased; multisets of 4-token shingles (a text shorter than 4 tokens is one
                  shorter shingle); per page precision = |pred & true| / |pred|, recall =
                  |pred & true| / |true|, F1 = 2PR/(P+R) (0 when P+R = 0); means over pages.
                  (article and WCXB, which have the full main text)
  snippet P/R/F1  trafilatura's own evaluation: whitespace-normalised substring checks; a `with`
                  snippet found is a true positive, missed a false negative; a `without` snippet
                  leaked is a false positive; summed over pages (WCXB and trafilatura-eval).

usage: extract_quality.py SET PRED.json [--part dev|locked|all] [--data DIR] [--worst N] [--json]
                         [--present]
       extract_quality.py SET LABEL=PRED.json [LABEL=PRED.json ...] --table [--data DIR]
  SET is article | wcxb | trafilatura. --table prints the extractors side by side, dev and
  locked and the gap between them (locked minus dev).
"""

import argparse
import hashlib
import json
import os
import re
import sys
from collections import Counter

TOKEN = re.compile(r"\w+")
SPACE = re.compile(r"\s+")


def part_of(page_id):
    """'locked' or 'dev', by a fixed hash of the page id."""
    return "locked" if hashlib.sha256(page_id.encode("utf-8")).digest()[0] < 0x80 else "dev"


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


def score(truth, pred, part="all"):
    """The figures of `pred` on the pages of `part`, and the per-page (F1, P, R, stem) list."""
    pages = {s: t for s, t in truth.items() if part == "all" or part_of(s) == part}
    missing = [s for s in pages if s not in pred]
    ps, rs, fs, per_page = [], [], [], []
    w_found = w_total = wo_leaked = wo_total = 0
    for stem, (main, with_, without) in pages.items():
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
    out = {"part": part, "pages": len(pages), "missing": len(missing)}
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
    if w_total and wo_total:
        sp = w_found / (w_found + wo_leaked) if w_found + wo_leaked else 0.0
        sr = w_found / w_total
        out["snippet_f1"] = round(2 * sp * sr / (sp + sr), 4) if sp + sr else 0.0
    return out, per_page


def headline(figures):
    """The figure a set is compared by: shingle F1 where the set has full texts, else snippet F1."""
    return figures.get("f1", figures.get("snippet_f1"))


def table(kind, truth, runs):
    metric = "shingle F1" if any(t[0] is not None for t in truth.values()) else "snippet F1"
    n = {p: sum(part_of(s) == p for s in truth) for p in ("dev", "locked")}
    print(f"{kind}: {metric}, dev {n['dev']} pages / locked {n['locked']} pages")
    print(f"  {'extractor':22s} {'dev':>7s} {'locked':>7s} {'gap':>7s} {'all':>7s}")
    for label, pred in runs:
        f = {p: headline(score(truth, pred, p)[0]) for p in ("dev", "locked", "all")}
        gap = f["locked"] - f["dev"]
        print(f"  {label:22s} {f['dev']:7.4f} {f['locked']:7.4f} {gap:+7.4f} {f['all']:7.4f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("set")
    ap.add_argument("pred", nargs="+")
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "extraction"))
    ap.add_argument("--part", choices=["dev", "locked", "all"], default="all")
    ap.add_argument("--worst", type=int, default=0, help="list the N pages with the lowest F1")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    ap.add_argument("--table", action="store_true", help="extractors side by side, dev and locked")
    ap.add_argument("--present", action="store_true", help="score only the pages PRED has (smoke runs)")
    args = ap.parse_args()

    truth = load_truth(args.set, args.data)
    if args.table:
        runs = []
        for arg in args.pred:
            label, _, path = arg.rpartition("=")
            runs.append((label or path, json.load(open(path))))
        table(args.set, truth, runs)
        return
    if len(args.pred) != 1:
        sys.exit("several predictions need --table")
    pred = json.load(open(args.pred[0]))
    if args.present:
        truth = {s: t for s, t in truth.items() if s in pred}
    out, per_page = score(truth, pred, args.part)
    out = {"set": args.set, **out}
    if args.json:
        print(json.dumps(out))
    else:
        print("  ".join(f"{k}={v}" for k, v in out.items()))
    for f, p, r, stem in sorted(per_page)[: args.worst]:
        print(f"  {stem[:40]:40s} F1 {f:.3f}  P {p:.3f}  R {r:.3f}")


if __name__ == "__main__":
    main()
