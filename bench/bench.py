#!/usr/bin/env python3
"""`make bench`: gatescope against the PyTorch reference, side by side in one
run, on this machine. Each figure is the median of --runs runs, taken in
alternation (reference, gatescope, reference, ...) so that load from other
work hits both alike. Prints one table; ratios > 1 mean gatescope is faster.

  bench/bench.py --data ../shared/data/tinyshakespeare.txt [--runs 3] [--skip-tui]
"""
import argparse, os, re, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REF = os.path.join(ROOT, "..", "shared", "bench", "pytorch_ref.py")
PY = os.path.join(ROOT, ".venv", "bin", "python")
GS = os.path.join(ROOT, "target", "release", "gatescope")


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, **kw)
    if r.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
    return r.stdout + r.stderr


def field(text, key):
    m = re.search(rf"{key}=([0-9.]+)", text)
    if not m:
        sys.exit(f"bench: no {key}= in output:\n{text[-1000:]}")
    return float(m.group(1))


def median_pair(n, ref_fn, ours_fn):
    ref, ours = [], []
    for _ in range(n):
        ref.append(ref_fn())
        ours.append(ours_fn())
    return statistics.median(ref), statistics.median(ours), ref, ours


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--skip-tui", action="store_true")
    a = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="gatescope-bench-")
    rows = []
    subprocess.run(["cargo", "build", "--release", "--benches", "--quiet"], cwd=ROOT, check=True)

    for hidden, steps in [(256, 30), (512, 15)]:
        common = ["--layers", "2", "--hidden", str(hidden), "--embed", "64", "--batch", "64", "--seq", "100"]
        ref_train = lambda: field(run([PY, REF, "train", "--data", a.data, "--steps", str(steps)] + common), "train_chars_per_s")
        ours_train = lambda: float(re.search(r"\(([0-9]+) chars/s\)", run([
            GS, "train", "--data", a.data, "--out", os.path.join(tmp, "t.safetensors"), "--steps", str(steps + 2),
            "--eval-every", "1000000", "--checkpoint-every", "1000000", "--dropout", "0", "--lr", "2e-3"] + common)).group(1))
        r, o, rs, os_ = median_pair(a.runs, ref_train, ours_train)
        rows.append((f"training 2x{hidden}, chars/s", r, o, o / r, rs, os_))

        ck = os.path.join(tmp, f"m{hidden}.safetensors")
        run([PY, REF, "train", "--data", a.data, "--steps", "1", "--out", ck] + common)
        ref_gen = lambda: field(run([PY, REF, "sample", "--checkpoint", ck, "--length", "2000"]), "sample_chars_per_s")
        bench_out = {}
        def ours_gen():
            out = run(["cargo", "bench", "--quiet", "--bench", "model", "--", ck, "2000"])
            bench_out.setdefault("all", []).append(out)
            return field(out, "gen_chars_per_s")
        r, o, rs, os_ = median_pair(a.runs, ref_gen, ours_gen)
        rows.append((f"generation 2x{hidden} with gates, chars/s", r, o, o / r, rs, os_))
        trace = [field(x, "gen_trace_chars_per_s") for x in bench_out["all"]]
        prompt = [field(x, "prompt1000_ms") for x in bench_out["all"]]
        fused = [field(x, "prompt1000_fused_only_ms") for x in bench_out["all"]]
        rows.append((f"generation 2x{hidden} writing the JSONL trace, chars/s", r, statistics.median(trace), statistics.median(trace) / r, rs, trace))
        rows.append((f"1,000-char prompt 2x{hidden} with gates, ms", None, statistics.median(prompt), None, [], prompt))
        rows.append((f"  the same through libtorch's fused LSTM alone, ms", None, statistics.median(fused), None, [], fused))

    print()
    print(f"{'measure':52} {'PyTorch':>10} {'gatescope':>10} {'ratio':>7}   runs (gatescope)")
    for name, r, o, ratio, rs, os_ in rows:
        rr = f"{r:10.0f}" if r is not None else f"{'':>10}"
        ra = f"{ratio:6.2f}x" if ratio is not None else f"{'':>7}"
        print(f"{name:52} {rr} {o:10.1f} {ra}   {', '.join(f'{x:.0f}' if x > 10 else f'{x:.1f}' for x in os_)}")

    if not a.skip_tui and os.path.exists(os.path.join(ROOT, "benches", "tui.rs")):
        print()
        print("TUI (gatescope only):")
        # The keystroke latency with the shipped model, as a user meets it.
        env = dict(os.environ, GATESCOPE_BENCH_CHECKPOINT=os.path.join(ROOT, "assets", "default.safetensors"))
        print(run(["cargo", "bench", "--quiet", "--bench", "tui"], env=env).strip())


if __name__ == "__main__":
    main()
