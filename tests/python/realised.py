"""Recomputes, from the Parquet alone, the realised ROC-AUC that `monitoring.json` reports for
an earlier scoring: its rows of `score_history` joined to a later lead list's outcomes by CRM id
(else lead id), scikit-learn's ROC-AUC on the probabilities then against the outcomes now.

usage: realised.py OUT_DIR LEADS_CSV RUN_ID ID_COLUMN STATUS_COLUMN
prints: realised <closed> <won> <roc_auc!r>
"""

import sys

import pandas as pd
import pyarrow.parquet as pq
from sklearn.metrics import roc_auc_score

out, leads_csv, run_id, id_col, status_col = sys.argv[1:6]
history = pq.read_table(f"{out}/score_history").to_pandas()
history = history[history["run_id"] == run_id]
assert len(history) > 0, f"no rows of run {run_id}"
leads = pd.read_csv(leads_csv, dtype=str)
status = leads[status_col].str.strip().str.lower()
leads = leads.assign(won=status.eq("closed won"), closed=status.isin(["closed won", "closed lost"]))
closed = leads[leads["closed"]][[id_col, "won"]]
joined = history.merge(closed, left_on="crm_id", right_on=id_col, how="inner")
auc = roc_auc_score(joined["won"].astype(int), joined["probability"])
print(f"realised {len(joined)} {int(joined['won'].sum())} {auc!r}")
