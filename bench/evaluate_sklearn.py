#!/usr/bin/env python3
"""scikit-learn doing what leadcrawl's evaluate and score stages do, on the same Parquet.

    evaluate_sklearn.py OUT_DIR RESULT.json [--folds 5] [--seed 42] [--c 1.0] [--min-df 2]

Reads `OUT_DIR/features.parquet` (labels, the 384-dimension embedding, the `attr_*` columns,
the registry and web columns) and the leads' descriptions from `OUT_DIR/leads/*.parquet`, the
tables leadcrawl's evaluate stage reads, and repeats its work with scikit-learn and numpy:

- the same column treatment (src/stages/evaluate/inputs.rs): heavy-tailed amounts on a signed
  log scale, booleans 0/1, dates as days before the column's latest, categories with levels
  seen on fewer than 5 leads merged, identifier-like categories left out;
- the leakage guard: each attribute's out-of-fold ROC-AUC alone (deciles or levels, smoothed
  won rates), and values that read like outcomes;
- the same models, each cross-validated on stratified k folds (`--folds`, leadcrawl's
  `evaluate.folds`) and again on shuffled labels (the control): the won/lost centroid cosine,
  `LogisticRegression(C)` on the embedding, on firmographics, on web signals, on TF-IDF
  (`TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df)`), on embedding +
  firmographics + web, on the attributes (standardised, mean-imputed, missing indicators,
  one-hot) and on everything; `HistGradientBoostingClassifier` (scikit-learn's defaults,
  early stopping off as in leadcrawl, categories native) on the tabular columns with the
  embedding and text models' out-of-fold scores stacked in (inner 3 folds);
- Platt calibration fitted out of fold, Brier score and ECE, a 200-resample bootstrap interval
  of ROC-AUC per model, and the model choice inside the cross-validation (inner 3 folds on each
  outer training set);
- score: the best model refitted on every labelled lead, the open leads' Platt-scaled
  probabilities, tiers by rank share, the 3 nearest won leads by cosine; drivers for a logistic
  best model (tree drivers would need the `shap` package: not computed, see bench/README.md).

Writes RESULT.json (per-model ROC-AUC, the best model, the nested figure) and
RESULT.scores.parquet; prints each step's seconds on stderr.
"""
import argparse
import glob
import json
import sys
import time
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import scipy.sparse as sp
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

T0 = time.monotonic()
# Empty columns (no registry, no website here) make numpy's nan-statistics warn; they are handled.
warnings.filterwarnings("ignore", category=RuntimeWarning)


def log(msg):
    print(f"[sklearn {time.monotonic() - T0:7.1f} s] {msg}", file=sys.stderr, flush=True)


FIRMO_NUM = ["headcount_min", "headcount_max", "age_years", "establishments", "revenue", "net_income", "registry_score"]
FIRMO_CAT = ["nace_section", "legal_form", "category", "registry_match"]
WEB_NUM = ["pages", "pages_about", "pages_product", "pages_pricing", "pages_customers", "pages_careers", "pages_blog",
           "words", "technology_count", "email_count", "own_domain_email_count", "phone_count", "social_profiles",
           "copyright_year_max", "founding_year", "has_website", "crawl_failed"]
WEB_CAT = ["main_lang", "country"]
LOG_COLUMNS = {"revenue", "net_income", "words", "headcount_min", "headcount_max"}
OUTCOME_WORDS = ["won", "lost", "closed", "converted", "signed", "churn", "gagné", "perdu"]


def slog(x):
    return np.sign(x) * np.log1p(np.abs(x))


def numeric(col, name=None, attribute=False):
    """An Arrow column → float64 with NaN for missing, as inputs.rs reads it."""
    t = col.type
    if pa.types.is_boolean(t):
        return pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False).astype(float)
    if pa.types.is_date32(t):
        d = pc.cast(col, pa.int32()).to_numpy(zero_copy_only=False).astype(float)
        return np.nanmax(d) - d if np.isfinite(d).any() else d
    x = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False).astype(float)
    x[~np.isfinite(x)] = np.nan
    fin = x[np.isfinite(x)]
    if (attribute and fin.size and (fin >= 0).all() and (fin > 100).any()) or (not attribute and name in LOG_COLUMNS):
        x = slog(x)
    return x


def categories(col):
    return np.array(pc.cast(col, pa.string()).to_pylist(), dtype=object)


class Blocks:
    """Numbers and categories of one source; fitted per fold like leadcrawl's Design."""

    def __init__(self, num, cat):
        self.num = num  # list of float arrays (all rows)
        self.cat = cat  # list of object arrays

    def subset(self, rows):
        return Blocks([x[rows] for x in self.num], [c[rows] for c in self.cat])


def fit_linear_design(blocks, train):
    """Standardiser (mean-imputed, with missing indicators) and one-hot vocabularies on `train`."""
    num = np.column_stack([x for b in blocks for x in b.num]) if any(b.num for b in blocks) else None
    cats = [c for b in blocks for c in b.cat]
    st = None
    if num is not None:
        tr = num[train]
        with np.errstate(all="ignore"):
            mean = np.nanmean(tr, axis=0)
            sd = np.nanstd(tr, axis=0)
        mean = np.where(np.isfinite(mean), mean, 0.0)
        sd = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0)
        st = (mean, sd)
    vocab = [{v: i for i, v in enumerate(sorted({v for v in c[train] if v is not None}))} for c in cats]

    def transform(rows):
        parts = []
        if num is not None:
            x = num[rows]
            miss = np.isnan(x)
            z = (np.where(miss, st[0], x) - st[0]) / st[1]
            parts.append(sp.csr_matrix(np.hstack([z, miss.astype(float)])))
        for c, v in zip(cats, vocab):
            if not v:
                continue
            vals = c[rows]
            idx = np.array([v.get(x, -1) for x in vals])
            ok = idx >= 0
            m = sp.csr_matrix((np.ones(ok.sum()), (np.nonzero(ok)[0], idx[ok])), shape=(len(rows), len(v)))
            parts.append(m)
        return parts

    return transform


class Data:
    def __init__(self, out):
        f = pq.read_table(f"{out}/features.parquet")
        label = f.column("label").to_numpy(zero_copy_only=False)
        self.ids_all = np.array(f.column("lead_id").to_pylist(), dtype=object)
        known = ~np.isnan(label.astype(float))
        self.known = np.nonzero(known)[0]
        self.open = np.nonzero(~known)[0]
        self.y_all = np.where(known, label, 0).astype(bool)
        emb = f.column("embedding").combine_chunks()
        has = ~np.asarray(emb.is_null().to_numpy(zero_copy_only=False))
        dim = emb.type.list_size
        flat = emb.flatten().to_numpy().astype(np.float32)
        e = np.zeros((len(has), dim), dtype=np.float32)
        e[has] = flat.reshape(-1, dim)
        self.emb_all = e
        self.has_emb_all = has
        # Text: the leads' description and notes (no page text in this benchmark: no websites).
        texts = {}
        for p in sorted(glob.glob(f"{out}/leads/*.parquet")):
            t = pq.read_table(p, columns=["lead_id", "description", "notes"])
            for i, d, n in zip(*(t.column(c).to_pylist() for c in ("lead_id", "description", "notes"))):
                texts[i] = "\n".join(x for x in (d, n) if x)
        self.text_all = np.array([texts.get(i, "") for i in self.ids_all], dtype=object)
        self.firmo = Blocks([numeric(f.column(n), n) for n in FIRMO_NUM], [categories(f.column(n)) for n in FIRMO_CAT])
        self.web = Blocks([numeric(f.column(n), n) for n in WEB_NUM], [categories(f.column(n)) for n in WEB_CAT])
        anum, acat, self.unmodelled = [], [], []
        self.attr_names = []
        for name in f.column_names:
            if not name.startswith("attr_"):
                continue
            col = f.column(name)
            if pa.types.is_string(col.type) or pa.types.is_dictionary(col.type):
                c = categories(col)
                vals, counts = np.unique(c[c != None], return_counts=True)  # noqa: E711
                count = dict(zip(vals, counts))
                kept = sum(1 for n in counts if n >= 5)
                if kept > 50 and kept * 2 > len(c):
                    self.unmodelled.append(name)
                    continue
                acat.append((name, np.array([None if v is None else (v if count[v] >= 5 else "(other)") for v in c], dtype=object)))
            else:
                anum.append((name, numeric(col, name, attribute=True)))
        self.attr_num, self.attr_cat = anum, acat
        log(f"read {len(self.ids_all)} leads ({len(self.known)} labelled, {len(self.open)} open), "
            f"{len(anum)} numeric and {len(acat)} category attributes, embedding {dim}")

    def attributes(self, exclude=()):
        return Blocks([x for n, x in self.attr_num if n not in exclude], [c for n, c in self.attr_cat if n not in exclude])


def leakage_guard(d, rows, y, folds, k, threshold):
    """Each attribute's out-of-fold ROC-AUC alone (smoothed won rate of its level)."""
    out = []
    prior_weight = 10.0  # learn::leakage's PRIOR_WEIGHT
    cols = [(n, x, True) for n, x in d.attr_num] + [(n, c, False) for n, c in d.attr_cat]
    for name, col, is_num in cols:
        v = col[rows]
        if is_num:
            fin = np.sort(v[np.isfinite(v)])
            if fin.size:
                cuts = fin[np.minimum((np.arange(1, 10) * fin.size) // 10, fin.size - 1)]
                lev = np.where(np.isfinite(v), np.searchsorted(cuts, v, side="right"), -1).astype(object)
            else:
                lev = np.full(len(v), -1, dtype=object)
        else:
            lev = np.where(v == None, "\0missing", v)  # noqa: E711
        codes, inv = np.unique(lev.astype(str), return_inverse=True)
        s = np.zeros(len(v))
        for f in range(k):
            tr, te = folds != f, folds == f
            prior = y[tr].mean()
            won = np.bincount(inv[tr], weights=y[tr], minlength=len(codes))
            n = np.bincount(inv[tr], minlength=len(codes))
            rate = np.where(n > 0, (won + prior_weight * prior) / (n + prior_weight), prior)
            s[te] = rate[inv[te]]
        auc = roc_auc_score(y, s)
        outcome = (not is_num) and any(w in str(x).lower() for x in np.unique(v[v != None]) for w in OUTCOME_WORDS)  # noqa: E711
        out.append((name, auc, auc >= threshold or outcome))
    return out


class Model:
    def __init__(self, name, kind, emb=False, firmo=False, web=False, attrs=False, text=False):
        self.name, self.kind = name, kind
        self.emb, self.firmo, self.web, self.attrs, self.text = emb, firmo, web, attrs, text


MODELS = [
    Model("centroid_embedding", "centroid"),
    Model("logistic_embedding", "logistic", emb=True),
    Model("logistic_firmographics", "logistic", firmo=True),
    Model("logistic_web", "logistic", web=True),
    Model("tfidf_logistic", "logistic", text=True),
    Model("logistic_embedding_firmographics_web", "logistic", emb=True, firmo=True, web=True),
    Model("logistic_attributes", "logistic", attrs=True),
    Model("combined", "logistic", emb=True, firmo=True, web=True, attrs=True, text=True),
    Model("gradient_boosted_trees", "trees"),
]


class Problem:
    """The labelled (or all) rows, their inputs, and the fitting parameters."""

    def __init__(self, d, rows, exclude, a):
        self.d, self.rows, self.a = d, rows, a
        self.emb = d.emb_all[rows]
        self.has_emb = d.has_emb_all[rows]
        self.text = d.text_all[rows]
        self.firmo = d.firmo.subset(rows)
        self.web = d.web.subset(rows)
        self.attrs = d.attributes(exclude).subset(rows)
        # The trees' columns: numbers as they are (NaN missing), categories as native codes.
        tab_num = [x for b in (self.firmo, self.web, self.attrs) for x in b.num]
        tab_cat = [c for b in (self.firmo, self.web, self.attrs) for c in b.cat]
        cat_cols = []
        for c in tab_cat:
            levels = {v: i for i, v in enumerate(sorted({v for v in c if v is not None}))}
            cat_cols.append(np.array([np.nan if v is None else levels[v] for v in c], dtype=float))
        tab = np.column_stack(tab_num + cat_cols)
        is_cat = np.array([False] * len(tab_num) + [True] * len(cat_cols))
        # A column missing on every lead (no registry, no website here) cannot be split on, and
        # scikit-learn rejects an empty categorical one: left out.
        some = ~np.isnan(tab).all(axis=0)
        self.tab, self.tab_is_cat = tab[:, some], is_cat[some]

    def linear(self, m, train, test):
        """Design matrices of model `m` fitted on `train`: (X_train, X_test)."""
        blocks = [b for b, on in ((self.firmo, m.firmo), (self.web, m.web), (self.attrs, m.attrs)) if on]
        parts_tr, parts_te = [], []
        if m.emb:
            for rows, parts in ((train, parts_tr), (test, parts_te)):
                parts.append(sp.csr_matrix(np.hstack([self.emb[rows], (~self.has_emb[rows])[:, None].astype(np.float32)])))
        if blocks:
            tf = fit_linear_design(blocks, train)
            parts_tr += tf(train)
            parts_te += tf(test)
        if m.text:
            v = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=self.a.min_df)
            try:
                parts_tr.append(v.fit_transform(self.text[train]))
                parts_te.append(v.transform(self.text[test]))
            except ValueError:  # no term in min_df documents
                pass
        if not parts_tr:
            return np.zeros((len(train), 1)), np.zeros((len(test), 1))
        if m.emb and not (blocks or m.text):
            return np.hstack([p.toarray() for p in parts_tr]), np.hstack([p.toarray() for p in parts_te])
        return sp.hstack(parts_tr, format="csr"), sp.hstack(parts_te, format="csr")

    def logistic(self, m, y, train, test):
        xtr, xte = self.linear(m, train, test)
        lr = LogisticRegression(C=self.a.c, max_iter=1000)
        lr.fit(xtr, y[train])
        return lr.predict_proba(xte)[:, 1], lr, xtr

    def fold_scores(self, m, y, train, test):
        if m.kind == "centroid":
            tr = train[self.has_emb[train]]
            def unit(v):
                n = np.linalg.norm(v)
                return v / n if n > 0 else v
            won = unit(self.emb[tr][y[tr]].mean(axis=0))
            lost = unit(self.emb[tr][~y[tr]].mean(axis=0))
            e = self.emb[test]
            norm = np.linalg.norm(e, axis=1)
            norm[norm == 0] = 1
            s = (e @ won - e @ lost) / norm
            return np.where(self.has_emb[test], s, 0.0)
        if m.kind == "logistic":
            return self.logistic(m, y, train, test)[0]
        return self.trees(y, train, test)[0]

    def trees(self, y, train, test):
        cols_tr, cols_te = [self.tab[train]], [self.tab[test]]
        stacked = [Model("stack_emb", "logistic", emb=True)] if self.has_emb.any() else []
        if any(t.strip() for t in self.text[train]):
            stacked.append(Model("stack_text", "logistic", text=True))
        inner = StratifiedKFold(3, shuffle=True, random_state=self.a.seed)
        for m in stacked:
            oof = np.zeros(len(train))
            for itr, ite in inner.split(train, y[train]):
                oof[ite] = self.logistic(m, y, train[itr], train[ite])[0]
            cols_tr.append(oof[:, None])
            cols_te.append(self.logistic(m, y, train, test)[0][:, None])
        is_cat = np.concatenate([self.tab_is_cat, [False] * len(stacked)])
        g = HistGradientBoostingClassifier(early_stopping=False, random_state=self.a.seed,
                                           categorical_features=is_cat)
        g.fit(np.hstack(cols_tr), y[train])
        return g.predict_proba(np.hstack(cols_te))[:, 1], g


def out_of_fold(p, m, y, folds, k):
    s = np.full(len(y), np.nan)
    idx = np.arange(len(y))
    for f in range(k):
        train, test = idx[folds != f], idx[folds == f]
        s[test] = p.fold_scores(m, y, train, test)
    return s


def stratified(y, k, seed):
    folds = np.zeros(len(y), dtype=int)
    for f, (_, te) in enumerate(StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)):
        folds[te] = f
    return folds


def platt(scores, y, on_log_odds):
    x = np.log(np.clip(scores, 1e-12, 1 - 1e-12) / np.clip(1 - scores, 1e-12, 1)) if on_log_odds else scores
    return LogisticRegression(C=1e4).fit(x[:, None], y), on_log_odds


def apply_platt(pl, scores):
    lr, on_log_odds = pl
    x = np.log(np.clip(scores, 1e-12, 1 - 1e-12) / np.clip(1 - scores, 1e-12, 1)) if on_log_odds else scores
    return lr.predict_proba(x[:, None])[:, 1]


def quality(p, y):
    brier = float(np.mean((p - y) ** 2))
    bins = np.minimum((p * 10).astype(int), 9)
    ece = sum(abs(p[bins == b].mean() - y[bins == b].mean()) * (bins == b).sum() for b in range(10) if (bins == b).any()) / len(y)
    return brier, float(ece)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("result")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--c", type=float, default=1.0)
    ap.add_argument("--min-df", type=int, default=2)
    ap.add_argument("--leakage-auc", type=float, default=0.90)
    a = ap.parse_args()
    k = a.folds
    d = Data(a.out)
    y = d.y_all[d.known]
    folds = stratified(y, k, a.seed)
    guard = leakage_guard(d, d.known, y, folds, k, a.leakage_auc)
    exclude = {n for n, _, out in guard if out}
    log(f"leakage guard: {len(guard)} attributes, left out {sorted(exclude)}, highest alone "
        f"{max(g[1] for g in guard):.3f}")
    p = Problem(d, d.known, exclude, a)
    rng = np.random.default_rng(a.seed)
    control_y = y[rng.permutation(len(y))]
    control_folds = stratified(control_y, k, a.seed)
    results = {}
    for m in MODELS:
        s = out_of_fold(p, m, y, folds, k)
        auc = roc_auc_score(y, s)
        c = out_of_fold(p, m, control_y, control_folds, k)
        on_log_odds = m.kind != "centroid"
        prob = np.zeros(len(y))
        for f in range(k):
            prob[folds == f] = apply_platt(platt(s[folds != f], y[folds != f], on_log_odds), s[folds == f])
        brier, ece = quality(prob, y)
        boot = []
        for _ in range(200):
            i = rng.integers(0, len(y), len(y))
            if y[i].any() and not y[i].all():
                boot.append(roc_auc_score(y[i], s[i]))
        results[m.name] = dict(roc_auc=auc, control_roc_auc=roc_auc_score(control_y, c), brier=brier, ece=ece,
                               interval=[float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))],
                               scores=s, probabilities=prob)
        log(f"{m.name}: ROC-AUC {auc:.4f} (control {results[m.name]['control_roc_auc']:.4f}), Brier {brier:.4f}")
    # The model choice inside the cross-validation.
    pooled = np.full(len(y), np.nan)
    chosen = []
    idx = np.arange(len(y))
    for f in range(k):
        train, test = idx[folds != f], idx[folds == f]
        inner = StratifiedKFold(3, shuffle=True, random_state=a.seed + f)
        best = None
        for m in MODELS:
            s = np.zeros(len(train))
            for itr, ite in inner.split(train, y[train]):
                s[ite] = p.fold_scores(m, y, train[itr], train[ite])
            auc = roc_auc_score(y[train], s)
            if best is None or auc > best[1]:
                best = (m.name, auc)
        chosen.append(best[0])
        pooled[test] = results[best[0]]["probabilities"][test]
    nested = roc_auc_score(y, pooled)
    log(f"nested choice {chosen}: ROC-AUC {nested:.4f}")
    best = max(MODELS, key=lambda m: results[m.name]["roc_auc"])
    # Score: the best model on every labelled lead, the open leads' probabilities.
    everyone = Problem(d, np.arange(len(d.ids_all)), exclude, a)
    train = np.nonzero(np.isin(np.arange(len(d.ids_all)), d.known))[0]
    test = d.open
    y_all = d.y_all
    drivers = None
    if best.kind == "logistic":
        raw, lr, xtr = everyone.logistic(best, y_all, train, test)
        _, xte = everyone.linear(best, train, test)
        mean = np.asarray(xtr.mean(axis=0)).ravel()
        contrib = (xte - mean) if not sp.issparse(xte) else (xte.toarray() - mean)
        contrib = contrib * lr.coef_[0]
        drivers = np.argsort(-np.abs(contrib), axis=1)[:, :5]
    else:
        raw = everyone.fold_scores(best, y_all, train, test)
    prob = apply_platt(platt(results[best.name]["scores"], y, best.kind != "centroid"), raw)
    order = np.argsort(-prob, kind="stable")
    rank = np.empty(len(order), dtype=int)
    rank[order] = np.arange(1, len(order) + 1)
    tier = np.where(rank <= np.ceil(0.10 * len(rank)), "route", np.where(rank <= np.ceil(0.35 * len(rank)), "nurture", "drop"))
    won_rows = train[y_all[train] & d.has_emb_all[train]]
    won = d.emb_all[won_rows]
    won = won / np.maximum(np.linalg.norm(won, axis=1, keepdims=True), 1e-12)
    similar = []
    for s in range(0, len(test), 2048):
        e = d.emb_all[test[s:s + 2048]]
        e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
        cos = e @ won.T
        top = np.argpartition(-cos, 3, axis=1)[:, :3]
        similar += [[d.ids_all[won_rows[j]] for j in row[np.argsort(-c[row])]] for row, c in zip(top, cos)]
    pq.write_table(pa.table({
        "lead_id": d.ids_all[test].tolist(), "probability": prob, "rank": rank, "tier": tier.tolist(),
        "similar_won": similar,
        **({"drivers": drivers.tolist()} if drivers is not None else {}),
    }), a.result.removesuffix(".json") + ".scores.parquet")
    log(f"scored {len(test)} open leads with {best.name}")
    json.dump({
        "labelled": int(len(y)), "won": int(y.sum()), "folds": k, "best": best.name,
        "nested_roc_auc": nested, "nested_choices": chosen,
        "left_out": sorted(exclude),
        "models": {n: {x: v for x, v in r.items() if x not in ("scores", "probabilities")} for n, r in results.items()},
    }, open(a.result, "w"), indent=1)


if __name__ == "__main__":
    main()
