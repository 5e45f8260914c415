"""The code model on code it never saw: eight modules of the pinned torch
wheel, the first 20,000 characters of each (as `gatescope cells` reads by
default), for one or more checkpoints side by side.

    .venv/bin/python tools/held_out.py CHECKPOINT [CHECKPOINT ...] [--json]

Per checkpoint and feature: the best |r| on each file (`gatescope cells
--top 10`, any unit and state), their mean and range, and the unit-state
that is the best, or within 0.02 of the best, on the most files. Then the
held-out loss: `gatescope score` over the same 20,000 characters of each
file, averaged over the files. Run from the project root after `make build`;
the environment variable GATESCOPE names another binary. With --json, each
checkpoint's files and its loss on each are given too, in one order.
"""

import json, os, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GS = os.environ.get("GATESCOPE") or os.path.join(ROOT, "target", "release", "gatescope")
TORCH = os.path.join(ROOT, ".venv", "lib", "python3.11", "site-packages", "torch")
FILES = ["nn/modules/rnn.py", "nn/modules/conv.py", "nn/modules/activation.py", "nn/modules/loss.py",
         "optim/adam.py", "nn/functional.py", "serialization.py", "_tensor.py"]
FEATURES = ["bracket_depth", "indent", "in_string", "in_comment", "in_quotes"]
CHARS = 20000
NEAR = 0.02


def gatescope(*args):
    r = subprocess.run([GS, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"held_out: gatescope {' '.join(args)}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def measure(ck):
    """{feature: [{unit-state: |r|} per file]}, and nats/char per file."""
    per_file = {f: [] for f in FEATURES}
    losses = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in FILES:
            path = os.path.join(TORCH, name)
            cat = gatescope("cells", "-c", ck, "--data", path, "--top", "10", "--json")
            for feat in cat["features"]:
                if feat["name"] in per_file:
                    per_file[feat["name"]].append({f"{u['unit']}:{u['state']}": abs(u["r"]) for u in feat["units"]})
            head = os.path.join(tmp, "head.py")
            with open(path, encoding="utf-8") as f, open(head, "w", encoding="utf-8") as out:
                out.write(f.read()[:CHARS])
            losses.append(gatescope("score", "-c", ck, "--data", head, "--json")["nats_per_char"])
    return per_file, losses


def summary(files):
    """Best |r| per file, mean, range, and the most consistent unit-state."""
    best = [max(f.values()) if f else 0.0 for f in files]
    units = {u for f in files for u in f}
    near = {u: sum(1 for f, b in zip(files, best) if u in f and f[u] >= b - NEAR) for u in units}
    steady = max(sorted(near), key=lambda u: near[u]) if near else None
    return dict(best=best, mean=statistics.mean(best), min=min(best), max=max(best),
                steady=steady, steady_files=near.get(steady, 0))


def main():
    args = [a for a in sys.argv[1:] if a != "--json"]
    if not args:
        sys.exit(__doc__)
    results = {}
    for ck in args:
        per_file, losses = measure(ck)
        results[ck] = dict(files=FILES, loss=statistics.mean(losses), losses=losses,
                           features={f: summary(v) for f, v in per_file.items()})
    if "--json" in sys.argv:
        print(json.dumps(results, indent=1))
        return
    print(f"first {CHARS:,} characters of: " + ", ".join(FILES))
    print(f"{'feature':14} " + " | ".join(f"{os.path.basename(ck):^44}" for ck in args))
    for feat in FEATURES:
        cells = []
        for ck in args:
            s = results[ck]["features"][feat]
            cells.append(f"{s['mean']:.3f} ({s['min']:.3f}-{s['max']:.3f}) {s['steady']} {s['steady_files']}/8")
        print(f"{feat:14} " + " | ".join(f"{c:44}" for c in cells))
    print(f"{'nats/char':14} " + " | ".join(f"{results[ck]['loss']:<44.4f}" for ck in args))


if __name__ == "__main__":
    main()
