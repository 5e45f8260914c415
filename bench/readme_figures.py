#!/usr/bin/env python3
"""Measure the README figures that depend on the default model, for a
checkpoint: its loss on both sides, catalogue, best units, span search,
saturation, the line-position unit's means, the intervention table (three
seeds x none / c=start / 0 / late), the compare summaries, a sample, the
export example and the correlation over 3,000 generated characters.

    make figures CHECKPOINT=runs/candidate.safetensors   (or:)
    .venv/bin/python bench/readme_figures.py CHECKPOINT OUTDIR [--quick]

Prints one section per figure; OUTDIR keeps the traces and the HTML export."""
import json, os, subprocess, sys
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if len(sys.argv) < 3:
    sys.exit(__doc__)
ck, out = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
quick = "--quick" in sys.argv
os.makedirs(out, exist_ok=True)
G = os.path.join(ROOT, "target/release/gatescope")
PY = sys.executable
DATA = os.path.join(ROOT, "data/tinyshakespeare.txt")
text = open(DATA, encoding="utf-8", newline="").read()
val = text[int(len(text) * 0.9):]
valf = f"{out}/val.txt"
open(valf, "w", encoding="utf-8", newline="").write(val)


def g(*args, **kw):
    r = subprocess.run([G, *args], capture_output=True, text=True, cwd=out, **kw)
    if r.returncode != 0:
        sys.exit(f"gatescope {args}: {r.stderr}")
    return r.stdout


def section(name, body):
    print(f"===== {name}\n{body.rstrip()}\n", flush=True)


LEN = 200 if quick else 2000
if not quick:
    section("eval", g("eval", "-c", ck, "--data", DATA))
    r = subprocess.run([PY, os.path.join(ROOT, "reference/charlstm.py"), "eval", "--checkpoint", ck, "--data", DATA],
                       capture_output=True, text=True)
    section("reference eval", r.stdout + r.stderr)
section("info", g("info", ck))
section("cells", g("cells", "-c", ck, "--data", "val.txt"))
cat = json.loads(g("cells", "-c", ck, "--data", "val.txt", "--json"))
best = {f["name"]: f["units"][0] for f in cat["features"] if f["units"]}
lp, sp = best["line_position"], best["speaker_line"]
section("best", json.dumps(best, indent=0))
section("search", g("search", "-c", ck, "--data", "val.txt", "--layer", sp["unit"].split(":")[0],
                    "--span", "45..54", "--top", "8"))
section("saturation", g("saturation", "-c", ck, "--data", "val.txt"))

# The line-position unit's c over the first 3,000 validation characters.
layer, unit = (int(x) for x in lp["unit"][1:].split(":"))
g("generate", "-c", ck, "-p", val[:3000], "-l", "1", "--trace", "val3000.jsonl", "-t", "0")
steps = [json.loads(l) for l in open(f"{out}/val3000.jsonl") if '"t"' in l][:3000]
c = np.array([s["layers"][layer]["c"][unit] for s in steps])
pos, p = [], 0
for ch in val[:3000]:
    pos.append(p)
    p = 0 if ch == "\n" else p + 1
pos = np.array(pos)
section("lp c means", f"unit {lp['unit']} first10 {c[pos < 10].mean():.2f}  40-49 {c[(pos >= 40) & (pos < 50)].mean():.2f}"
        f"  r {np.corrcoef(c, pos)[0,1]:.3f}")

# Interventions: clamp the line-position unit's c.
sign = 1 if lp["r"] > 0 else -1
start, late = -3 * sign, 3 * sign


def stats(s):
    lines = s.split("\n")[1:]
    ls = [len(l) for l in lines if l and not l.endswith(":")]
    return f"{len(ls)}, {sum(ls)/len(ls):.1f}, {max(ls)}" if ls else "0"


rows = []
for spec in [None, f"{lp['unit']}:c={start}", f"{lp['unit']}:c=0", f"{lp['unit']}:c={late}"]:
    cells = []
    for seed in (1, 2, 3):
        args = ["generate", "-c", ck, "-p", "ROMEO:", "-l", str(LEN), "--seed", str(seed)]
        if spec:
            args += ["--intervene", spec]
        cells.append(stats(g(*args)))
    rows.append(f"| {spec or 'none'} | " + " | ".join(cells) + " |")
section("intervention table (start, 0, late)", "\n".join(rows))
for v in (start, 0, late):
    o = g("generate", "-c", ck, "-p", "ROMEO:", "-l", str(LEN), "--seed", "1", "--intervene",
          f"{lp['unit']}:c={v}", "--compare")
    section(f"compare c={v}", o.splitlines()[-1])
section("late 300", g("generate", "-c", ck, "-p", "ROMEO:", "-l", "300", "--seed", "1", "--intervene",
                      f"{lp['unit']}:c={late}", "--compare"))
section("start 2000 seed1", g("generate", "-c", ck, "-p", "ROMEO:", "-l", str(LEN), "--seed", "1", "--intervene",
                              f"{lp['unit']}:c={start}")[:600])
section("sample", g("generate", "-c", ck, "-p", "ROMEO:", "-l", "400", "--seed", "1"))

# The export example and its correlation over 3,000 generated characters.
g("generate", "-c", ck, "-p", "ROMEO:", "-l", "600", "--seed", "1", "--trace", "romeo.jsonl")
g("export", "romeo.jsonl", "--unit", lp["unit"], "--label", "shipped model (assets/default.safetensors)",
  "--html", "romeo.html")
g("generate", "-c", ck, "-p", "ROMEO:\n", "-l", str(3000 - 7), "--seed", "1", "--trace", "gen3000.jsonl")
steps = [json.loads(l) for l in open(f"{out}/gen3000.jsonl") if '"t"' in l]
gpos, p = [], 0
for s in steps:
    ch = s["char"]
    gpos.append(p)
    p = 0 if ch == "\n" else p + 1
gpos = np.array(gpos)
cc = np.array([s["layers"][layer]["c"][unit] for s in steps])
hh = np.array([s["layers"][layer]["h"][unit] for s in steps])
res = f"{lp['unit']}: c r {np.corrcoef(cc, gpos)[0,1]:.3f} tanh(c) {np.corrcoef(np.tanh(cc), gpos)[0,1]:.3f} h {np.corrcoef(hh, gpos)[0,1]:.3f}\n"
for L in range(len(steps[0]["layers"])):
    C = np.array([s["layers"][L]["c"] for s in steps])
    T = np.tanh(C)
    rs = [np.corrcoef(T[:, u], gpos)[0, 1] if T[:, u].std() > 0 else 0 for u in range(T.shape[1])]
    u = int(np.nanargmax(np.abs(rs)))
    res += f"l{L}: best tanh(c) unit l{L}:{u} r {rs[u]:.3f}\n"
section("gen3000 correlation", res)
