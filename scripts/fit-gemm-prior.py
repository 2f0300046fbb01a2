#!/usr/bin/env python3
# Usage: GEMFORGE_PRIOR_DATA=RUNS GEMFORGE_PRIOR_CSV=points.csv cargo test --release --test opt -- prior_score:: --include-ignored
#        python3 scripts/fit-gemm-prior.py points.csv   (TOP=1.3 keeps schedules within 1.3x of each best)
# How the weights of model.rs GemmHwTerms::cycles were obtained (docs/schedules.md, "The cost model's prior").
# Fit the GEMM prior's hardware-term weights on the scorer's CSV (relative least squares, non-negative),
# leave-one-workload-out, and report Spearman / top-1 / top-5 regret per workload.
import csv, sys, itertools
rows = list(csv.DictReader(open(sys.argv[1])))
T = ["store_excess", "db_burst", "hart_loop", "long_body", "store_stream", "store_burst"]
seen = set(); data = {}
for r in rows:
    key = (r["workload"],) + tuple(r[t] for t in T) + (r["prior"], r["cycles"])
    if key in seen: continue
    seen.add(key)
    data.setdefault(r["workload"], []).append((float(r["cycles"]), float(r["prior"]), [float(r[t]) for t in T]))

def solve(A, b):
    n = len(b); M = [A[i][:] + [b[i]] for i in range(n)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(M[r][c])); M[c], M[p] = M[p], M[c]
        if abs(M[c][c]) < 1e-18: return None
        for r in range(n):
            if r != c:
                f = M[r][c] / M[c][c]
                M[r] = [x - f * y for x, y in zip(M[r], M[c])]
    return [M[i][n] / M[i][i] for i in range(n)]

import os
TOP = float(os.environ.get("TOP", "2"))
best = {w: min(c for c, _, _ in v) for w, v in data.items()}
def fit(ws, active=None):
    active = active or list(range(len(T) + 1))
    while True:
        A = [[0.0] * len(active) for _ in active]; b = [0.0] * len(active)
        for w in ws:
            pts = data[w]
            for c, p, x in pts:
                wt = 1.0 / len(pts)
                if c > TOP * best[w]: continue
                xx = [p] + x
                xs = [xx[i] / c for i in active]; y = 1.0
                for i in range(len(active)):
                    b[i] += wt * xs[i] * y
                    for j in range(len(active)):
                        A[i][j] += wt * xs[i] * xs[j]
        for i in range(len(active)): A[i][i] += 1e-12 * (A[i][i] + 1)
        sol = solve(A, b)
        if sol is None: return [0.0] * len(T)
        neg = [active[i] for i, v in enumerate(sol) if v < 0]
        if not neg:
            full = [0.0] * (len(T) + 1)
            for i, v in zip(active, sol): full[i] = v
            return [c / full[0] for c in full[1:]] if full[0] > 0 else [0.0] * len(T)
        active = [a for a in active if a not in neg]
        if not active: return [0.0] * len(T)

def ranks(v):
    idx = sorted(range(len(v)), key=lambda i: v[i]); r = [0] * len(v)
    for k, i in enumerate(idx): r[i] = k
    return r
def spearman(a, b):
    ra, rb = ranks(a), ranks(b); n = len(a); ma = sum(ra) / n; mb = sum(rb) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    va = sum((x - ma) ** 2 for x in ra); vb = sum((y - mb) ** 2 for y in rb)
    return cov / (va * vb) ** .5 if va and vb else 0
def score(w, coef):
    pts = data[w]; pr = [p + sum(c * x for c, x in zip(coef, xs)) for _, p, xs in pts]; cy = [c for c, _, _ in pts]
    best = min(cy); order = sorted(range(len(pts)), key=lambda i: pr[i])
    return spearman(pr, cy), cy[order[0]] / best, min(cy[i] for i in order[:5]) / best

ws = sorted(w for w in data if len(data[w]) >= 5)
allc = fit(ws)
print("fit on all:", ["%s=%.4g" % (t, c) for t, c in zip(T, allc)])
fixed = [float(v) for v in sys.argv[2].split(",")] if len(sys.argv) > 2 else None
print("%-26s %5s | %-20s | %-20s | %-20s" % ("workload", "n", "prior now", "loo fit", "all fit" if not fixed else "given"))
for w in ws:
    loo = fit([v for v in ws if v != w])
    s0 = score(w, [0] * len(T)); s1 = score(w, loo); s2 = score(w, fixed or allc)
    f = lambda s: "%.3f %.3f %.3f" % s
    print("%-26s %5d | %s | %s | %s" % (w, len(data[w]), f(s0), f(s1), f(s2)))
