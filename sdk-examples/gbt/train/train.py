"""Trains the small gradient-boosted-trees model the `gbt` example scores.

    python3 -m venv /tmp/xgb && /tmp/xgb/bin/pip install -r requirements.txt
    /tmp/xgb/bin/python train.py

writes, beside this script:

* model.json    -- the booster in XGBoost's own JSON model format, what
                   `CREATE MODEL ... PARAMETERS $1` is given;
* reference.csv -- feature rows and XGBoost's own predictions for them, which
                   the harness test compares the Wasm scorer with (to 1e-6).

Both are committed, so the tests need neither Python nor XGBoost. The data
set is synthetic and seeded: a churn-like binary label from four features
(age, balance, tenure, activity), some of them missing (NaN, SQL NULL) so the
trees' default directions are exercised too.
"""

import csv
import os

import numpy as np
import xgboost as xgb

HERE = os.path.dirname(os.path.abspath(__file__))
FEATURES = ["age", "balance", "tenure", "activity"]


def dataset(rng, n):
    age = rng.uniform(18, 90, n)
    balance = rng.lognormal(8, 1.2, n)
    tenure = rng.integers(0, 40, n).astype(np.float64)
    activity = rng.normal(0, 1, n)
    logit = (
        -1.0
        + 0.04 * (age - 50)
        - 0.3 * np.log1p(balance / 1000)
        - 0.08 * tenure
        + 0.9 * activity
        + 0.5 * np.sin(age / 7)
    )
    label = (rng.uniform(0, 1, n) < 1 / (1 + np.exp(-logit))).astype(np.float64)
    x = np.column_stack([age, balance, tenure, activity])
    # About 5% of the values are missing.
    x[rng.uniform(0, 1, x.shape) < 0.05] = np.nan
    return x, label


def main():
    rng = np.random.default_rng(20261202)
    x, y = dataset(rng, 4000)
    booster = xgb.train(
        {
            "objective": "binary:logistic",
            "max_depth": 3,
            "eta": 0.3,
            "seed": 7,
            "nthread": 1,
            "tree_method": "exact",
        },
        xgb.DMatrix(x, label=y, feature_names=FEATURES, missing=np.nan),
        num_boost_round=20,
    )
    booster.save_model(os.path.join(HERE, "model.json"))

    probe, _ = dataset(np.random.default_rng(42), 300)
    # Values exactly on split thresholds (XGBoost goes right on equality)
    # and a row with every feature missing: the edges of the comparison and
    # of the default direction.
    import json

    with open(os.path.join(HERE, "model.json")) as f:
        trees = json.load(f)["learner"]["gradient_booster"]["model"]["trees"]
    edges = []
    for tree in trees[:5]:
        for node, left in enumerate(tree["left_children"]):
            if left != -1:
                row = probe[len(edges) % len(probe)].copy()
                row[tree["split_indices"][node]] = np.float32(tree["split_conditions"][node])
                edges.append(row)
    probe = np.vstack([probe, np.array(edges), np.full((1, 4), np.nan)])
    predicted = booster.predict(xgb.DMatrix(probe, feature_names=FEATURES, missing=np.nan))
    with open(os.path.join(HERE, "reference.csv"), "w", newline="") as out:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(FEATURES + ["prediction"])
        for row, p in zip(probe, predicted):
            w.writerow(["" if np.isnan(v) else repr(float(v)) for v in row] + [repr(float(p))])


if __name__ == "__main__":
    main()
