"""Recomputes every figure of the prospects stage from its Parquet outputs and the universe table.

    python prospects_outputs.py OUT_DIR [--acceptance]

Run by tests/it/prospects.rs (and after `leadcrawl demo`). Needs `prospects.top` at least the
number of scored companies, so that `prospects.parquet` holds every score and the held-out
clients' percentiles can be recomputed exactly. Checks, with pyarrow and numpy only:

- the scored universe: every active company not in the lead list, none twice, ranked by
  `raw_score` (ties by registry:registry_id), `percentile = 100 (scored - rank) / scored`,
  `score = min(1, raw_score / c)`;
- the baseline score of every prospect and client (training clients in its NACE division ×
  headcount band, plus those in its division alone / (training clients + 1) to break ties),
  recomputed from the universe;
- each held-out client's percentile under the model and under the baseline, ties counting half;
- recall at the top 1 / 5 / 10 % and the median percentile in `prospects.json`;
- the client profile (NACE section, headcount, age, region: counts, shares, lift);
- that `prospects.html` shows those figures as they are in the JSON.
With --acceptance: the model's recall at the top 5 % clearly beats the baseline's (issue 16).
"""
import datetime
import glob
import json
import sys
from collections import Counter

import numpy as np
import pyarrow.parquet as pq

out = sys.argv[1]
acceptance = "--acceptance" in sys.argv[2:]
summary = json.load(open(f"{out}/prospects.json"))
html = open(f"{out}/prospects.html", encoding="utf-8").read()

universe = []
for part in sorted(glob.glob(f"{out}/universe/part-*.parquet")):
    universe.extend(pq.read_table(part).to_pylist())
active = [u for u in universe if u["status"] in (None, "active")]
assert summary["universe_active"] == len(active), (summary["universe_active"], len(active))
key = lambda r: (r["registry"], r["registry_id"])
by_key = {key(u): u for u in active}

clients = pq.read_table(f"{out}/prospect_clients.parquet").to_pylist()
prospects = pq.read_table(f"{out}/prospects.parquet").to_pylist()
meta = pq.read_metadata(f"{out}/prospects.parquet").metadata
scored = int(meta[b"leadcrawl.scored"])
assert scored == summary["scored"], (scored, summary["scored"])

# ---- the lead list's companies are not prospects; every other active company is scored.
leads = []
for part in sorted(glob.glob(f"{out}/leads/part-*.parquet")):
    leads.extend(pq.read_table(part).to_pylist())
in_list = set()
for l in leads:
    if l["siren"]:
        in_list.add(("sirene", l["siren"]))
    if l["company_number"]:
        in_list.add(("companies_house", l["company_number"]))
registry = []
for part in sorted(glob.glob(f"{out}/registry/part-*.parquet")):
    registry.extend(pq.read_table(part, columns=["match_status", "registry", "registry_id"]).to_pylist())
for r in registry:
    if r["match_status"] == "matched" and r["registry_id"]:
        in_list.add((r["registry"], r["registry_id"]))
expected_scored = sum(1 for u in active if key(u) not in in_list)
assert scored == expected_scored, (scored, expected_scored)
assert len(prospects) == min(scored, len(prospects))
full = len(prospects) == scored
keys = [key(p) for p in prospects]
c_label = summary["labelling_constant"] or 1.0
assert len(set(keys)) == len(keys), "a company twice"
assert not (set(keys) & in_list), "a lead-list company among the prospects"
assert all(k in by_key for k in keys), "a prospect not active in the universe"
for i, p in enumerate(prospects):
    assert p["rank"] == i + 1
    assert abs(p["percentile"] - 100 * (scored - p["rank"]) / scored) < 1e-9
    assert abs(p["score"] - min(1.0, p["raw_score"] / c_label)) < 1e-12, p
    if i:
        q = prospects[i - 1]
        assert q["raw_score"] >= p["raw_score"], (q, p)
        if q["raw_score"] == p["raw_score"]:
            assert f"{q['registry']}:{q['registry_id']}" < f"{p['registry']}:{p['registry_id']}"
    assert 0 <= p["score"] <= 1
    assert len(p["drivers"]) <= 5 and len(p["similar_clients"]) <= 3
# Each prospect and client carries its universe row's own fields (the stage scans the universe
# without names and addresses, then reads the rows it keeps again, whole).
shared = [c for c in ("name", "address", "postcode", "city", "industry_code", "head_office_siret",
                      "nace_division", "headcount_band", "legal_form", "region")
          if prospects and c in prospects[0]]
assert "name" in shared, shared
for row in prospects + clients:
    u = by_key[key(row)]
    for c in shared:
        if c in row:
            assert row[c] == u[c], (c, row[c], u[c])
print(f"prospects ok: {len(prospects)} of {scored} scored")

# ---- the baseline: training clients per NACE division × headcount band.
train = [c for c in clients if c["role"] == "train"]
holdout = [c for c in clients if c["role"] == "holdout"]
won = [c for c in clients if c["status"] == "won"]
assert summary["clients_matched"] == len(won)
assert summary["clients_train"] == len(train) and summary["clients_holdout"] == len(holdout)
cells = Counter((c["nace_division"], c["headcount_band"]) for c in train
                if c["nace_division"] is not None and c["headcount_band"] is not None)
divisions = Counter(c["nace_division"] for c in train if c["nace_division"] is not None)
with_division = sum(divisions.values())
def baseline(u):
    # Clients in the division x band, ties broken by clients in the division alone.
    if u["nace_division"] is None:
        return 0.0
    pair = 0.0
    if u["headcount_band"] is not None:
        pair = float(cells.get((u["nace_division"], u["headcount_band"]), 0))
    return pair + float(divisions.get(u["nace_division"], 0)) / float(with_division + 1)
for p in prospects:
    assert p["baseline_score"] == baseline(by_key[key(p)]), p
for cl in clients:
    assert cl["baseline_score"] == baseline(by_key[key(cl)]), cl
    assert abs(cl["score"] - min(1.0, cl["raw_score"] / c_label)) < 1e-12, cl

# ---- held-out clients' percentiles, exactly: higher + half the ties, among the scored.
def top_share(s, pool):
    return ((pool > s).sum() + 0.5 * (pool == s).sum()) / len(pool)
base_pool = np.array([baseline(u) for u in active if key(u) not in in_list])
for c in holdout:
    want = 100 * (1 - top_share(c["baseline_score"], base_pool))
    assert abs(c["baseline_percentile"] - want) < 1e-9, (c, want)
if full:
    model_pool = np.array([p["raw_score"] for p in prospects])
    for c in holdout:
        want = 100 * (1 - top_share(c["raw_score"], model_pool))
        assert abs(c["percentile"] - want) < 1e-9, (c, want)
for c in clients:
    assert (c["percentile"] is None) == (c["role"] != "holdout")

# ---- recall at the top 1 / 5 / 10 % and the median percentile.
def ranking(pcts):
    tops = [1 - p / 100 for p in pcts]
    return {a: sum(t <= a + 1e-12 for t in tops) / len(tops) for a in (0.01, 0.05, 0.10)}, float(np.median(pcts))
v = summary["validation"]
assert v["holdout"] == len(holdout) > 0
fmt = lambda x: f"{100 * x:.1f} %"
for name, col in (("model", "percentile"), ("baseline", "baseline_percentile")):
    recall, med = ranking([c[col] for c in holdout])
    got = {round(a, 6): r for a, r in v[name]["recall_at"]}
    for a, r in recall.items():
        assert abs(got[round(a, 6)] - r) < 1e-12, (name, a, got, recall)
        assert fmt(r) in html, (name, a, fmt(r))
    assert abs(v[name]["median_percentile"] - med) < 1e-9, (name, med)
    assert f"{med:.1f}" in html
    print(f"{name}: recall at top 1/5/10 % = {[round(recall[a], 3) for a in (0.01, 0.05, 0.10)]}, median percentile {med:.1f}")
if acceptance:
    m5 = dict((round(a, 6), r) for a, r in v["model"]["recall_at"])[0.05]
    b5 = dict((round(a, 6), r) for a, r in v["baseline"]["recall_at"])[0.05]
    assert m5 >= b5 + 0.2, f"model recall at 5 % {m5} does not clearly beat the baseline's {b5}"

# ---- the client profile: clients (matched won leads) against the active universe.
created = [u["created"] for u in active if u["created"] is not None]
reference = max(created) if created else None
assert summary["reference_date"] == (reference.isoformat() if reference else None)
def size_band(u):
    m = u["headcount_min"]
    if m is None:
        return "unknown"
    return "0" if m == 0 else "1-9" if m <= 9 else "10-49" if m <= 49 else "50-249" if m <= 249 else "250-999" if m <= 999 else "1000+"
def age_band(u):
    if u["created"] is None:
        return "unknown"
    a = max((reference - u["created"]).days / 365.25, 0)
    return "0-2 years" if a < 3 else "3-5 years" if a < 6 else "6-10 years" if a < 11 else "11-20 years" if a < 21 else "21+ years"
def segments(rows):
    c = Counter()
    for u in rows:
        c[("nace_section", u["nace_section"] or "unknown")] += 1
        c[("headcount", size_band(u))] += 1
        c[("age", age_band(u))] += 1
        c[("region", u["region"] or "unknown")] += 1
    return c
uc = segments(active)
cc = segments([by_key[key(c)] for c in won])
profile = {(s["by"], s["value"]): s for s in summary["profile"]}
assert set(profile) == set(uc) | set(cc), set(profile) ^ (set(uc) | set(cc))
for k, s in profile.items():
    assert s["clients"] == cc.get(k, 0) and s["universe"] == uc.get(k, 0), (k, s)
    cs, us = cc.get(k, 0) / len(won), uc.get(k, 0) / len(active)
    assert abs(s["client_share"] - cs) < 1e-12 and abs(s["universe_share"] - us) < 1e-12, (k, s)
    assert (s["lift"] is None) == (us == 0)
    if us:
        assert abs(s["lift"] - cs / us) < 1e-9, (k, s)
        if s["clients"]:
            assert f"{cs / us:.2f}" in html, (k, f"{cs / us:.2f}")
print(f"profile ok: {len(profile)} segments; {len(holdout)} held-out clients")
if summary["class_prior"] is not None:
    assert 0 <= summary["class_prior"] <= 1 and 0 < summary["labelling_constant"] <= 1
    assert abs(summary["estimated_client_like"] - summary["class_prior"] * scored) < 1e-6
print("prospects outputs ok")
