#!/usr/bin/env python3
"""`make bench`: gatescope against the PyTorch reference (reference/charlstm.py,
nn.LSTM as a PyTorch user writes it), side by side in one run, on this
machine. Each figure is the median of --runs runs, taken in alternation
(reference, gatescope, reference, ...) so that load from other work hits both
alike. Prints one table; ratios > 1 mean gatescope is faster.

  bench/bench.py [--data data/tinyshakespeare.txt] [--runs 3] [--sizes 256,512] [--skip-tui] [--skip-analysis]

Every figure with a goal is printed beside it, with whether the
median meets it.

Like with like:
- training: the same hyperparameters on both sides, at dropout 0, at
  dropout 0.2, and at dropout 0.2 with weight drop 0.4 (DropConnect on every
  weight_hh, one mask per step, on both sides); the reference's
  --head-dropout equals its --dropout (gatescope drops between layers and
  before the head; nn.LSTM's dropout is between layers only). Both time
  their steps after the same 2 warm-up steps, both on all cores.
- generation: both sample at temperature 1 from "ROMEO:" and time 2,000
  characters after the same 50 warm-up characters. PyTorch's batch-1
  sampling is measured on 1 thread and on torch's default thread count,
  and the faster of the two medians is reported (its thread count is shown).
  Also a 3x512 model stored in f16 and the shipped default (2x512 stored
  in f16), which the reference loads to f32.
- generation against the machine's limit: a step reads every weight once,
  so B / (bytes a step reads) characters a second is as fast as a step can
  go, B being one thread's streaming read of a buffer of that size,
  measured in the same bench run (benches/model.rs, read_gb_per_s).
- cell analyses (benches/analysis.rs): `gatescope cells`' work over 20,000
  validation characters beside `gatescope eval`'s stateful pass over the
  same characters, in one process, alternating.
"""
import argparse, os, re, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REF = os.path.join(ROOT, "reference", "charlstm.py")
DATA = os.path.join(ROOT, "data", "tinyshakespeare.txt")
PY = os.path.join(ROOT, ".venv", "bin", "python")
GS = os.path.join(ROOT, "target", "release", "gatescope")
TRAIN_WARMUP = 2   # steps; both sides time the steps after these
GEN_WARMUP = 50    # characters; benches/model.rs warms up the same way
PROMPT = "ROMEO:"  # benches/model.rs's prompt


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, **kw)
    if r.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
    # A newline between them: the reference's sample writes its text to stdout without one.
    return r.stdout + "\n" + r.stderr


def field(text, key):
    m = re.search(rf"(?<![A-Za-z_]){key}=([0-9.]+)", text)
    if not m:
        sys.exit(f"bench: no {key}= in output:\n{text[-1000:]}")
    return float(m.group(1))


def median_runs(n, fns):
    """n rounds, each running every fn once in turn: (medians, all runs), per fn."""
    runs = [[] for _ in fns]
    for _ in range(n):
        for r, fn in zip(runs, fns):
            r.append(fn())
    return [statistics.median(r) for r in runs], runs


def median_pair(n, ref_fn, ours_fn):
    (r, o), (rs, os_) = median_runs(n, [ref_fn, ours_fn])
    return r, o, rs, os_


def torch_default_threads():
    return int(run([PY, "-c", "import torch; print(torch.get_num_threads())"]).split()[0])


# (dropout, weight drop) of the training rows.
TRAINING_SETTINGS = [(0.0, 0.0), (0.2, 0.0), (0.2, 0.4)]

# The figures' goals, as (comparison, bound, unit) on a row's ratio.
TRAINING_GOAL = (">=", 1.0, "x")
GENERATION_GOAL = (">=", 10.0, "x")  # 2x512 only
LIMIT_GOAL = (">=", 0.70, "")  # of the one-thread read limit: 2x512 f32 and the shipped default
PROMPT_GOAL = ("<=", 1.2, "x")


def training_rows(a, tmp, hidden, steps, common):
    """Training throughput, like with like, for each of TRAINING_SETTINGS."""
    rows = []
    for dropout, weight_drop in TRAINING_SETTINGS:
        d, w = str(dropout), str(weight_drop)
        ref = lambda: field(run([PY, REF, "train", "--data", a.data, "--steps", str(steps + TRAIN_WARMUP),
                                 "--dropout", d, "--head-dropout", d, "--weight-drop", w] + common), "chars_per_s")
        ours = lambda: float(re.search(r"\(([0-9]+) chars/s\)", run([
            GS, "train", "--data", a.data, "--out", os.path.join(tmp, "t.safetensors"),
            "--steps", str(steps + TRAIN_WARMUP), "--eval-every", "1000000", "--checkpoint-every", "1000000",
            "--dropout", d, "--weight-drop", w, "--lr", "2e-3"] + common)).group(1))
        r, o, rs, os_ = median_pair(a.runs, ref, ours)
        name = f"training 2x{hidden} dropout {dropout:g}" + (f" weight-drop {weight_drop:g}" if weight_drop else "")
        rows.append(row(name + ", chars/s", r, o, o / r, rs, os_, TRAINING_GOAL))
    return rows


def row(name, ref=None, ours=None, ratio=None, ref_runs=(), our_runs=(), goal=None):
    return dict(name=name, ref=ref, ours=ours, ratio=ratio, ref_runs=list(ref_runs), our_runs=list(our_runs), goal=goal)


def generation_speeds(a, ck):
    """Sampling speed of checkpoint `ck` on both sides, PyTorch at its faster
    of 1 thread and the default: (PyTorch's median, its runs, what it tried,
    gatescope's median, its runs, the model bench's outputs)."""
    def ref_gen(threads):
        return lambda: field(run([PY, REF, "sample", "--checkpoint", ck, "--prompt", PROMPT,
                                  "--length", str(a.gen_length + GEN_WARMUP), "--warmup", str(GEN_WARMUP),
                                  "--threads", str(threads)]), "chars_per_s")
    bench_out = []

    def ours_gen():
        out = run(["cargo", "bench", "--quiet", "--bench", "model", "--", ck, str(a.gen_length)])
        bench_out.append(out)
        return field(out, "gen_chars_per_s")

    thread_counts = sorted({1, torch_default_threads()})
    medians, runs = median_runs(a.runs, [ref_gen(t) for t in thread_counts] + [ours_gen])
    best = max(range(len(thread_counts)), key=lambda j: medians[j])
    r, rs, t = medians[best], runs[best], thread_counts[best]
    o, os_ = medians[-1], runs[-1]
    tried = ", ".join(f"{n} thread{'s' if n > 1 else ''}: {m:.0f}" for n, m in zip(thread_counts, medians))
    return r, rs, tried, o, os_, bench_out


def limit_rows(name, bench_out, goal):
    """The step's speed as a share of the read limit, and the limit itself."""
    med = statistics.median
    share = [field(x, "gen_of_limit") for x in bench_out]
    limit = [field(x, "gen_limit_chars_per_s") for x in bench_out]
    read = [field(x, "read_gb_per_s") for x in bench_out]
    share2 = [field(x, "gen_of_limit2") for x in bench_out]
    read2 = [field(x, "read2_gb_per_s") for x in bench_out]
    mb = field(bench_out[0], "step_bytes") / 1e6
    return [row(f"  {name}: share of the read limit", ratio=med(share), our_runs=share, goal=goal),
            row(f"  the limit, chars/s ({mb:.1f} MB a step at B = {med(read):.1f} GB/s)", ours=med(limit),
                our_runs=limit),
            row(f"  share of the two-thread read limit (B2 = {med(read2):.1f} GB/s)", ratio=med(share2),
                our_runs=share2)]


def generation_rows(a, tmp, hidden, common):
    """Sampling speed and the prompt path's, 2 layers of `hidden` in f32."""
    ck = os.path.join(tmp, f"m{hidden}.safetensors")
    run([PY, REF, "train", "--data", a.data, "--steps", "1", "--out", ck] + common)
    r, rs, tried, o, os_, bench_out = generation_speeds(a, ck)
    rows = [row(f"generation 2x{hidden} with gates, chars/s", r, o, o / r, rs, os_,
                GENERATION_GOAL if hidden == 512 else None),
            row(f"  (PyTorch's best of {tried})")]
    trace = [field(x, "gen_trace_chars_per_s") for x in bench_out]
    prompt = [field(x, "prompt1000_ms") for x in bench_out]
    fused = [field(x, "prompt1000_fused_only_ms") for x in bench_out]
    # The bench's own ratio when it prints one (of its alternating medians),
    # else each run's prompt over its fused time.
    ratios = [float(m.group(1)) if (m := re.search(r"prompt1000_ratio=([0-9.]+)", x)) else p / f
              for x, p, f in zip(bench_out, prompt, fused)]
    med = statistics.median
    rows += limit_rows(f"2x{hidden} f32", bench_out, LIMIT_GOAL if hidden == 512 else None)
    rows.append(row(f"generation 2x{hidden} writing the JSONL trace, chars/s", r, med(trace), med(trace) / r, rs, trace))
    rows.append(row(f"1,000-char prompt 2x{hidden} with gates, ms", ours=med(prompt), our_runs=prompt))
    rows.append(row(f"  the same through libtorch's fused LSTM alone, ms", ours=med(fused), our_runs=fused))
    rows.append(row(f"  prompt with gates / fused alone", ratio=med(ratios), our_runs=ratios, goal=PROMPT_GOAL))
    return rows + floor_rows(bench_out)


def floor_rows(bench_out):
    """The products alone that the prompt's read does: its floor with these kernels."""
    floor = [field(x, "prompt1000_products_only_ms") for x in bench_out]
    return [row("  the read's products alone (its floor), ms", ours=statistics.median(floor), our_runs=floor)]


def f16_generation_rows(a, tmp):
    """Sampling speed of a 3x512 model stored in f16 (the shipped code
    model's size and dtype): gatescope steps on its f16 matrices; the
    reference loads the file to f32, as a PyTorch user would."""
    f32 = os.path.join(tmp, "m3x512.safetensors")
    f16 = os.path.join(tmp, "m3x512-f16.safetensors")
    common = ["--layers", "3", "--hidden", "512", "--embed", "64", "--batch", "64", "--seq", "100"]
    run([PY, REF, "train", "--data", a.data, "--steps", "1", "--out", f32] + common)
    run([GS, "convert", f32, "--dtype", "f16", "--out", f16])
    r, rs, tried, o, os_, bench_out = generation_speeds(a, f16)
    rows = [row("generation 3x512 stored in f16, with gates, chars/s", r, o, o / r, rs, os_),
            row(f"  (PyTorch's best of {tried})")] + limit_rows("3x512 f16", bench_out, None)
    shipped = os.path.join(ROOT, "assets", "default.safetensors")
    r, rs, tried, o, os_, bench_out = generation_speeds(a, shipped)
    prompt = [field(x, "prompt1000_ms") for x in bench_out]
    return rows + [row("generation, shipped default (2x512 in f16), with gates, chars/s", r, o, o / r, rs, os_),
                   row(f"  (PyTorch's best of {tried})")] + limit_rows("shipped default", bench_out, LIMIT_GOAL) + [
                   row("1,000-char prompt, shipped default, with gates, ms", ours=statistics.median(prompt),
                       our_runs=prompt)] + floor_rows(bench_out)


def verdict(value, goal):
    """'>= 1.00x  met' or '<= 1.20x  NOT MET'; blank without a goal."""
    if goal is None or value is None:
        return ""
    op, bound, unit = goal
    ok = value >= bound if op == ">=" else value <= bound
    return f"{op} {bound:.2f}{unit}  {'met' if ok else 'NOT MET'}"


def cpu_model():
    """The CPU's model name and the cores this process may use."""
    try:
        names = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")]
    except OSError:
        names = []
    return f"{names[0] if names else 'unknown CPU'}, {len(os.sched_getaffinity(0))} cores"


def print_table(rows, runs):
    print()
    print(f"CPU: {cpu_model()}")
    print(f"Medians of {runs} alternating runs; ratios > 1 mean gatescope is faster, except the prompt's "
          "(its time over the fused time).")
    print(f"{'measure':58} {'PyTorch':>9} {'gatescope':>10} {'ratio':>7}  {'goal':18}  runs (PyTorch | gatescope)")
    for x in rows:
        rr = f"{x['ref']:9.0f}" if x["ref"] is not None else f"{'':>9}"
        oo = f"{x['ours']:10.1f}" if x["ours"] is not None else f"{'':>10}"
        ra = f"{x['ratio']:6.2f}x" if x["ratio"] is not None else f"{'':>7}"
        fmt = lambda v: ", ".join(f"{y:.0f}" if y > 10 else f"{y:.2f}" for y in v)
        runs_text = f"{fmt(x['ref_runs'])} | {fmt(x['our_runs'])}" if x["ref_runs"] else fmt(x["our_runs"])
        print(f"{x['name']:58} {rr} {oo} {ra}  {verdict(x['ratio'], x['goal']):18}  {runs_text}")


# The playground's and the analyses' figures with a goal (README, Speed),
# keyed by the name their bench prints; a line that states its own goal
# is printed as it is.
RAW_GOALS = {
    "frame_ms_median": ("<=", 2.0, " ms"),
    "frame_ms_median_all_panels": ("<=", 2.0, " ms"),
    "keystroke_to_ghost_ms_median": ("<=", 50.0, " ms"),
    "edit_middle_to_ghost_ms_median": ("<=", 50.0, " ms"),
    "edit_start_to_ghost_ms_median": ("<=", 50.0, " ms"),
    "cells_ratio": ("<=", 1.5, "x"),
    # The playground's attribution colouring, 500-character history.
    "grad_ms": ("<=", 150.0, " ms"),
    "grad_worker_ms": ("<=", 150.0, " ms"),
    "ig32_worker_ms": ("<=", 1500.0, " ms"),
}


def with_goals(text):
    """The bench's lines, each figure that has a goal followed by it."""
    out = []
    for line in text.splitlines():
        notes = [] if "goal" in line else [
            f"{k}: goal {verdict(float(m.group(1)), g)}"
            for k, g in RAW_GOALS.items() if (m := re.search(rf"(?<![A-Za-z_]){k}=([0-9.]+)", line))]
        out.append(line + "".join(f"   [{n}]" for n in notes))
    return "\n".join(out)


def attribution_lines(a, chars=500):
    """Attribution on the shipped model over the first `chars` validation
    characters, on every core as the playground's worker runs it: gatescope's
    library call (benches/attribute.rs) beside reference/charlstm.py's
    computation (its seconds=), taken in alternation, both at libtorch's
    default thread count."""
    text = open(a.data, encoding="utf-8").read()
    prompt = text[len(text) - int(len(text) * 0.1):][:chars]
    ck = os.path.join(ROOT, "assets", "default.safetensors")
    env = dict(os.environ, GOMP_SPINCOUNT=os.environ.get("GOMP_SPINCOUNT", "1000"))
    outs = []

    def ours():
        outs.append(run(["cargo", "bench", "--quiet", "--bench", "attribute", "--", "-", str(chars), "1"],
                        env=env).strip())
        return field(outs[-1], "grad_ms")

    def ref(method):
        return lambda: 1e3 * field(run([PY, REF, "attribute", "--checkpoint", ck, "--prompt", prompt,
                                        "--method", method]), "seconds")

    (rg, ri, _), runs = median_runs(a.runs, [ref("grad"), ref("ig"), ours])
    grad = statistics.median(field(o, "grad_ms") for o in outs)
    ig = statistics.median(field(o, "ig32_ms") for o in outs)
    worker = statistics.median(field(o, "ig32_worker_ms") for o in outs)
    grad_worker = statistics.median(field(o, "grad_worker_ms") for o in outs)
    lines = [f"Attribution (shipped model, {chars}-character prompt, {torch_default_threads()} threads; "
             f"medians of {a.runs}):",
             f"  grad:  PyTorch {rg:.0f} ms  gatescope grad_ms={grad:.0f}  ({rg / grad:.2f}x PyTorch's speed), "
             f"in the worker grad_worker_ms={grad_worker:.0f}",
             f"  ig 32: PyTorch {ri:.0f} ms  gatescope one batch {ig:.0f} ms ({ri / ig:.2f}x), "
             f"in the worker's passes ig32_worker_ms={worker:.0f}",
             f"  runs (ms): PyTorch grad {[round(x) for x in runs[0]]}, ig {[round(x) for x in runs[1]]}; "
             f"gatescope grad {[round(field(o, 'grad_ms')) for o in outs]}, "
             f"ig {[round(field(o, 'ig32_ms')) for o in outs]}, "
             f"worker {[round(field(o, 'ig32_worker_ms')) for o in outs]}"]
    return with_goals("\n".join(lines))


def sizes(text):
    """'256:30,512:15' -> [(256, 30), (512, 15)]: hidden size and timed training steps."""
    return [tuple(int(x) for x in item.split(":")) for item in text.split(",")]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=DATA)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--sizes", type=sizes, default=sizes("256:30,512:15"),
                   help="hidden:timed_training_steps,... (default 256:30,512:15)")
    p.add_argument("--gen-length", type=int, default=2000, help="timed generated characters")
    p.add_argument("--skip-tui", action="store_true")
    p.add_argument("--skip-analysis", action="store_true")
    a = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="gatescope-bench-")
    rows = []
    subprocess.run(["cargo", "build", "--release", "--benches", "--quiet"], cwd=ROOT, check=True)

    for hidden, steps in a.sizes:
        common = ["--layers", "2", "--hidden", str(hidden), "--embed", "64", "--batch", "64", "--seq", "100"]
        rows += training_rows(a, tmp, hidden, steps, common)
        rows += generation_rows(a, tmp, hidden, common)
    rows += f16_generation_rows(a, tmp)
    print_table(rows, a.runs)

    if not a.skip_analysis:
        print()
        print("Cell analyses (gatescope only; shipped model, first 20,000 validation characters):")
        # GOMP_SPINCOUNT as the gatescope binary sets it for itself (src/main.rs).
        env = dict(os.environ, GOMP_SPINCOUNT=os.environ.get("GOMP_SPINCOUNT", "1000"))
        print(with_goals(run(["cargo", "bench", "--quiet", "--bench", "analysis", "--", "-", a.data, "20000",
                              str(a.runs)], env=env).strip()))

    if not a.skip_analysis:
        print()
        print(attribution_lines(a))

    if not a.skip_tui and os.path.exists(os.path.join(ROOT, "benches", "tui.rs")):
        print()
        print("TUI (gatescope only):")
        # The keystroke latency with the shipped model, as a user meets it.
        env = dict(os.environ, GATESCOPE_BENCH_CHECKPOINT=os.path.join(ROOT, "assets", "default.safetensors"))
        print(with_goals(run(["cargo", "bench", "--quiet", "--bench", "tui"], env=env).strip()))


if __name__ == "__main__":
    main()
