#!/usr/bin/env python3
"""`make bench`: gatescope against the PyTorch reference (reference/charlstm.py,
nn.LSTM as a PyTorch user writes it), side by side in one run, on this
machine. Each figure is the median of --runs runs, taken in alternation
(reference, gatescope, reference, ...) so that load from other work hits both
alike. Prints one table; ratios > 1 mean gatescope is faster.

  bench/bench.py [--data data/tinyshakespeare.txt] [--runs 3] [--sizes 256,512] [--skip-tui] [--skip-analysis]

Like with like:
- training: the same hyperparameters on both sides, at dropout 0 and at
  dropout 0.2; the reference's --head-dropout equals its --dropout there
  (gatescope drops between layers and before the head; nn.LSTM's dropout is
  between layers only). Both time their steps after the same 2 warm-up
  steps, both on all cores.
- generation: both sample at temperature 1 from "ROMEO:" and time 2,000
  characters after the same 50 warm-up characters. PyTorch's batch-1
  sampling is measured on 1 thread and on torch's default thread count,
  and the faster of the two medians is reported (its thread count is shown).
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


def training_rows(a, tmp, hidden, steps, common):
    """Training throughput at dropout 0 and 0.2, like with like."""
    rows = []
    for dropout in (0.0, 0.2):
        d = str(dropout)
        ref = lambda: field(run([PY, REF, "train", "--data", a.data, "--steps", str(steps + TRAIN_WARMUP),
                                 "--dropout", d, "--head-dropout", d] + common), "chars_per_s")
        ours = lambda: float(re.search(r"\(([0-9]+) chars/s\)", run([
            GS, "train", "--data", a.data, "--out", os.path.join(tmp, "t.safetensors"),
            "--steps", str(steps + TRAIN_WARMUP), "--eval-every", "1000000", "--checkpoint-every", "1000000",
            "--dropout", d, "--lr", "2e-3"] + common)).group(1))
        r, o, rs, os_ = median_pair(a.runs, ref, ours)
        rows.append((f"training 2x{hidden} dropout {dropout:g}, chars/s", r, o, o / r, rs, os_))
    return rows


def generation_rows(a, tmp, hidden, common):
    """Sampling speed; PyTorch at its faster of 1 thread and the default."""
    ck = os.path.join(tmp, f"m{hidden}.safetensors")
    run([PY, REF, "train", "--data", a.data, "--steps", "1", "--out", ck] + common)

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
    rows = [(f"generation 2x{hidden} with gates, chars/s", r, o, o / r, rs, os_),
            (f"  (PyTorch's best of {tried})", None, None, None, [], [])]
    trace = [field(x, "gen_trace_chars_per_s") for x in bench_out]
    prompt = [field(x, "prompt1000_ms") for x in bench_out]
    fused = [field(x, "prompt1000_fused_only_ms") for x in bench_out]
    rows.append((f"generation 2x{hidden} writing the JSONL trace, chars/s", r, statistics.median(trace), statistics.median(trace) / r, rs, trace))
    rows.append((f"1,000-char prompt 2x{hidden} with gates, ms", None, statistics.median(prompt), None, [], prompt))
    rows.append((f"  the same through libtorch's fused LSTM alone, ms", None, statistics.median(fused), None, [], fused))
    return rows


def print_table(rows):
    print()
    print(f"{'measure':52} {'PyTorch':>10} {'gatescope':>10} {'ratio':>7}   runs (gatescope)")
    for name, r, o, ratio, rs, os_ in rows:
        rr = f"{r:10.0f}" if r is not None else f"{'':>10}"
        oo = f"{o:10.1f}" if o is not None else f"{'':>10}"
        ra = f"{ratio:6.2f}x" if ratio is not None else f"{'':>7}"
        print(f"{name:52} {rr} {oo} {ra}   {', '.join(f'{x:.0f}' if x > 10 else f'{x:.1f}' for x in os_)}")


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
    print_table(rows)

    if not a.skip_analysis:
        print()
        print("Cell analyses (gatescope only; shipped model, first 20,000 validation characters):")
        # GOMP_SPINCOUNT as the gatescope binary sets it for itself (src/main.rs).
        env = dict(os.environ, GOMP_SPINCOUNT=os.environ.get("GOMP_SPINCOUNT", "1000"))
        print(run(["cargo", "bench", "--quiet", "--bench", "analysis", "--", "-", a.data, "20000", str(a.runs)],
                  env=env).strip())

    if not a.skip_tui and os.path.exists(os.path.join(ROOT, "benches", "tui.rs")):
        print()
        print("TUI (gatescope only):")
        # The keystroke latency with the shipped model, as a user meets it.
        env = dict(os.environ, GATESCOPE_BENCH_CHECKPOINT=os.path.join(ROOT, "assets", "default.safetensors"))
        print(run(["cargo", "bench", "--quiet", "--bench", "tui"], env=env).strip())


if __name__ == "__main__":
    main()
