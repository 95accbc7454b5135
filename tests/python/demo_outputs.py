"""Reads the demo's outputs the way a researcher would and checks them against independent code.

    python demo_outputs.py OUT_DIR datasets/demo/demo.json

Run by tests/it/demo.rs after `leadcrawl demo`. Everything here is recomputed from the files
alone, with pyarrow, polars, DuckDB, numpy and scikit-learn: the feature rows and labels, every
metric of `evaluation.json` from its out-of-fold scores, the centroid baseline from the Parquet
with leadcrawl's folds, a shuffled-label control that the embedding models must clearly beat,
and the scores of the open leads.
"""
import json
import math
import sys

import duckdb
import numpy as np
import polars as pl
import pyarrow.parquet as pq
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (accuracy_score, average_precision_score, confusion_matrix, f1_score,
                             precision_score, recall_score, roc_auc_score)

out, demo_json = sys.argv[1], sys.argv[2]
demo = json.load(open(demo_json))["companies"]

# ---- features.parquet: one row per lead, labels as the input, unit-norm embeddings.
f = pq.read_table(out + "/features.parquet")
meta = pq.read_metadata(out + "/features.parquet").metadata
dim = int(meta[b"leadcrawl.dimension"])
assert meta[b"leadcrawl.model_id"].startswith(b"all-MiniLM-L6-v2-"), meta[b"leadcrawl.model_id"]
assert dim == 384, dim
assert f.schema.field("embedding").type.list_size == 384
rows = f.to_pylist()
assert len(rows) == len(demo), (len(rows), len(demo))
assert len({r["lead_id"] for r in rows}) == len(rows)
want = {f"0016{c['i']:05d}": {"won": 1, "lost": 0}.get(c["status"]) for c in demo}
for r in rows:
    assert r["label"] == want[r["external_id"]], (r["external_id"], r["label"])
    if r["embedding"] is not None:
        n = math.sqrt(sum(x * x for x in r["embedding"]))
        assert abs(n - 1) < 1e-4, n
assert sum(r["crawl_failed"] for r in rows) == 2, "the two dead websites"
assert sum(r["registry_matched"] for r in rows) >= 45
assert pl.read_parquet(out + "/features.parquet").height == len(rows)
con = duckdb.connect()
n, won = con.execute(f"select count(*), sum(label) from read_parquet('{out}/features.parquet')").fetchone()
assert n == len(rows) and won == sum(1 for v in want.values() if v == 1), (n, won)
print("features ok:", len(rows), "rows")

# ---- evaluation.json: every metric recomputed by scikit-learn from the out-of-fold scores.
ev = json.load(open(out + "/evaluation.json"))
by_id = {r["lead_id"]: r for r in rows}
assert ev["labelled"] == sum(1 for v in want.values() if v is not None)
names = [m["name"] for m in ev["models"]]
for need in ("centroid_embedding", "logistic_embedding", "logistic_firmographics", "tfidf_logistic", "combined"):
    assert need in names, names


def lift(scores, y, percent):
    """Won rate in the top ceil(percent * n / 100) scores over the overall won rate; a tied group
    cut by the boundary contributes its won leads pro rata (independent of leadcrawl's code)."""
    n = len(scores)
    k = -(-percent * n // 100)
    order = np.argsort(-scores, kind="stable")
    s, t = scores[order], y[order]
    got, taken, i = 0.0, 0, 0
    while taken < k:
        j = i
        while j < n and s[j] == s[i]:
            j += 1
        size, pos = j - i, t[i:j].sum()
        use = min(size, k - taken)
        got += pos * use / size
        taken += use
        i = j
    return (got / k) / y.mean(), got / y.sum()


for m in ev["models"] + ev["control"]:
    for key in ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "captured_35"):
        v = m["metrics"][key]
        assert v is None or 0.0 <= v <= 1.0, (m["name"], key, v)
for m in ev["models"]:
    ids = sorted(m["scores"])
    s = np.array([m["scores"][i] for i in ids])
    y = np.array([by_id[i]["label"] == 1 for i in ids])
    x = m["metrics"]
    pred = s >= x["threshold"]
    checks = {
        "roc_auc": roc_auc_score(y, s),
        "pr_auc": average_precision_score(y, s),
        "accuracy": accuracy_score(y, pred),
        "precision": precision_score(y, pred, zero_division=0),
        "recall": recall_score(y, pred, zero_division=0),
        "f1": f1_score(y, pred, zero_division=0),
        "lift_10": lift(s, y, 10)[0],
        "lift_20": lift(s, y, 20)[0],
        "lift_35": lift(s, y, 35)[0],
        "captured_35": lift(s, y, 35)[1],
    }
    for key, v in checks.items():
        assert abs(x[key] - v) < 1e-9, (m["name"], key, x[key], v)
    assert x["confusion"] == confusion_matrix(y, pred, labels=[False, True]).tolist(), m["name"]
print("metrics ok: all", len(ev["models"]), "models match scikit-learn")

# ---- The centroid baseline recomputed from the Parquet alone, with leadcrawl's folds.
ids = sorted(ev["folds"])
y = np.array([by_id[i]["label"] == 1 for i in ids])
fold = np.array([ev["folds"][i] for i in ids])
E = np.array([by_id[i]["embedding"] for i in ids], dtype=np.float64)
assert not np.isnan(E).any(), "every labelled demo lead has an embedding"


def centroid_oof(labels):
    score = np.zeros(len(ids))
    for k in range(ev["k"]):
        tr, te = fold != k, fold == k
        U = E / np.linalg.norm(E, axis=1, keepdims=True)
        won_c, lost_c = U[tr & labels].mean(0), U[tr & ~labels].mean(0)
        cos = lambda c: E[te] @ c / (np.linalg.norm(E[te], axis=1) * np.linalg.norm(c))
        score[te] = cos(won_c) - cos(lost_c)
    return score


score = centroid_oof(y)
acc = float(((score >= 0) == y).mean())
model = {m["name"]: m["metrics"] for m in ev["models"]}
assert abs(acc - model["centroid_embedding"]["accuracy"]) < 1e-9, (acc, model["centroid_embedding"]["accuracy"])
print("centroid ok: accuracy", round(acc, 4), "recomputed from features.parquet")


def logistic_oof(labels):
    score = np.zeros(len(ids))
    for k in range(ev["k"]):
        tr, te = fold != k, fold == k
        lr = LogisticRegression(C=1.0, tol=1e-8, max_iter=5000).fit(E[tr], labels[tr])
        score[te] = lr.predict_proba(E[te])[:, 1]
    return score


# leadcrawl's logistic regression on the embedding is scikit-learn's, same folds, same C.
sk = roc_auc_score(y, logistic_oof(y))
assert abs(sk - model["logistic_embedding"]["roc_auc"]) < 0.01, (sk, model["logistic_embedding"]["roc_auc"])

# ---- The control, computed here: the same models on shuffled labels (the folds stay fixed, so
# each permutation is a fair "no signal" run). The embedding models must beat it clearly.
rng = np.random.default_rng(12345)
perms = [rng.permutation(y) for _ in range(30)]
ctrl_c = np.array([roc_auc_score(p, centroid_oof(p)) for p in perms])
ctrl_l = np.array([roc_auc_score(p, logistic_oof(p)) for p in perms[:10]])
for name, ctrl in (("centroid_embedding", ctrl_c), ("logistic_embedding", ctrl_l)):
    auc = model[name]["roc_auc"]
    print(f"{name}: ROC-AUC {auc:.3f}; shuffled-label control mean {ctrl.mean():.3f} sd {ctrl.std():.3f} max {ctrl.max():.3f}")
    assert auc >= ctrl.mean() + 0.1 and auc > ctrl.max(), (name, auc, ctrl.mean(), ctrl.max())
    assert auc < 0.99, (name, auc, "the demo's signal is noisy: a perfect score means a leak")

# ---- scores.parquet: every open lead once, ranked, tiered by the thresholds in its metadata.
sm = pq.read_metadata(out + "/scores.parquet").metadata
tiers_by = sm[b"leadcrawl.tiers"].decode()
route_share, nurture_share = float(sm[b"leadcrawl.route_share"]), float(sm[b"leadcrawl.nurture_share"])
assert sm[b"leadcrawl.score_model"].decode() == ev["best"], (sm[b"leadcrawl.score_model"], ev["best"])
assert int(sm[b"leadcrawl.trained_on"]) == ev["labelled"]
sc = pq.read_table(out + "/scores.parquet").to_pylist()
open_ids = {r["lead_id"] for r in rows if r["label"] is None}
assert len(sc) == len(open_ids) and {r["lead_id"] for r in sc} == open_ids, (len(sc), len(open_ids))
won_ids = {r["lead_id"] for r in rows if r["label"] == 1}
probs = [r["probability"] for r in sc]
assert probs == sorted(probs, reverse=True) and [r["rank"] for r in sc] == list(range(1, len(sc) + 1))
for r in sc:
    p = r["probability"]
    assert 0.0 <= p <= 1.0, p
    if tiers_by == "share":
        n = len(sc)
        want = ("route" if r["rank"] <= math.ceil(route_share * n)
                else "nurture" if r["rank"] <= math.ceil((route_share + nurture_share) * n) else "drop")
    else:
        ra, na = float(sm[b"leadcrawl.route_at"]), float(sm[b"leadcrawl.nurture_at"])
        want = "route" if p >= ra else "nurture" if p >= na else "drop"
    assert r["tier"] == want, (r, tiers_by)
    assert r["model"] == ev["best"]
    assert len(r["similar_won"]) == 3 and len(r["drivers"]) > 0, r
    v = np.array(by_id[r["lead_id"]]["embedding"])
    cos = [s["cosine"] for s in r["similar_won"]]
    assert cos == sorted(cos, reverse=True)
    for s in r["similar_won"]:
        assert s["lead_id"] in won_ids, s
        u = np.array(by_id[s["lead_id"]]["embedding"])
        assert abs(s["cosine"] - v @ u / (np.linalg.norm(v) * np.linalg.norm(u))) < 1e-6
    # No won lead outside the list is closer than the last one listed.
    closest = max(v @ np.array(by_id[w]["embedding"]) / np.linalg.norm(v) / np.linalg.norm(by_id[w]["embedding"])
                  for w in won_ids if w not in {s["lead_id"] for s in r["similar_won"]})
    assert closest <= cos[-1] + 1e-9
assert pl.read_parquet(out + "/scores.parquet").height == len(sc)
tiers = dict(con.execute(f"select tier, count(*) from read_parquet('{out}/scores.parquet') group by tier").fetchall())
assert sum(tiers.values()) == len(sc), tiers
print("scores ok:", len(sc), "open leads,", tiers)

html = open(out + "/report.html", encoding="utf-8").read()
assert html.startswith("<!DOCTYPE html>") and "<script" not in html and "centroid_embedding" in html
print("report ok")
