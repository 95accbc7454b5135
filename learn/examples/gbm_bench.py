"""scikit-learn's side of gbm_bench.rs: the same rows, the same hyper-parameters.

Usage: gbm_bench.py DIR TRAIN_ROWS FEATURES (DIR holds x.f32, feature-major, and y.u8).
Prints one JSON line: fit wall time, process peak RSS, held-out ROC-AUC, trees.
"""

import json
import resource
import sys
import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

folder, train, features = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
y = np.fromfile(f"{folder}/y.u8", dtype=np.uint8)
rows = len(y)
# Feature-major on disk, so the transpose is a Fortran-ordered (rows, features) view.
x = np.fromfile(f"{folder}/x.f32", dtype=np.float32).reshape(features, rows).T
model = HistGradientBoostingClassifier(early_stopping=False, random_state=0)
started = time.perf_counter()
cpu_before = time.process_time()
model.fit(x[:train], y[:train])
wall = time.perf_counter() - started
cpu = time.process_time() - cpu_before
auc = roc_auc_score(y[train:], model.decision_function(x[train:]))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_rss_mib": round(peak), "roc_auc": round(auc, 4), "trees": model.n_iter_}))
