#!/usr/bin/env python3
"""The pandas + scikit-learn side of bench/prospects.sh: what the prospects stage does, done the
usual way, on the universe Parquet bench/universe_pandas.py wrote.

    prospects_sklearn.py universe.parquet leads.csv [TOP]

Reads the active universe with pandas, marks the lead list's companies, draws 20,000 unlabelled
companies as the background, one-hot encodes the same firmographics (NACE section and division,
headcount band, legal form, category; headcount bounds as log1p, age, employer), fits the same
model (L2 logistic regression, C = 1), `predict_proba` on every company not in the lead list and
writes the best TOP (default 1000) to prospects_sklearn.csv. Prints how many were scored.
"""
import sys

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import OneHotEncoder, StandardScaler

universe, leads_csv = sys.argv[1], sys.argv[2]
top = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
df = pd.read_parquet(universe)
leads = pd.read_csv(leads_csv, dtype=str)
won = set(leads.loc[leads["status"] == "won", "siren"])
in_list = df["siren"].isin(set(leads["siren"]))
is_client = df["siren"].isin(won)
CATS = ["nace_section", "nace_division", "trancheEffectifsUniteLegale", "categorieJuridiqueUniteLegale",
        "categorieEntreprise"]
created = pd.to_datetime(df["dateCreationUniteLegale"])
num = pd.DataFrame({
    "headcount_min": np.log1p(df["headcount_min"].astype("float64")),
    "headcount_max": np.log1p(df["headcount_max"].astype("float64")),
    "age_years": (created.max() - created).dt.days / 365.25,
    "employer": df["employer"].astype("float64"),
})
missing = num.isna().astype("float64").add_suffix("_missing")
rng = np.random.default_rng(42)
unlabelled = np.flatnonzero(~in_list.to_numpy())
background = rng.choice(unlabelled, size=min(20_000, len(unlabelled)), replace=False)
train = np.concatenate([np.flatnonzero(is_client.to_numpy()), background])
y = np.r_[np.ones(is_client.sum()), np.zeros(len(background))]
enc = OneHotEncoder(handle_unknown="ignore").fit(df[CATS].iloc[train].astype(str))
scaler = StandardScaler().fit(num.iloc[train].fillna(num.iloc[train].mean()))
means = num.iloc[train].mean()


def design(rows):
    n = num.iloc[rows]
    return sparse.hstack([scaler.transform(n.fillna(means)), missing.iloc[rows].to_numpy(),
                          enc.transform(df[CATS].iloc[rows].astype(str))]).tocsr()


model = LogisticRegression(C=1.0, max_iter=5000).fit(design(train), y)
scored = np.flatnonzero(~in_list.to_numpy())
p = model.predict_proba(design(scored))[:, 1]
best = np.argpartition(-p, min(top, len(p) - 1))[:top]
best = best[np.argsort(-p[best], kind="stable")]
out = df.iloc[scored[best]][["siren", "name", "nace_division", "trancheEffectifsUniteLegale"]].copy()
out["score"] = p[best]
out.to_csv("prospects_sklearn.csv", index=False)
print(len(scored))
