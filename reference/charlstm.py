#!/usr/bin/env python3
"""gatescope's PyTorch reference: a character LSTM written the way a PyTorch
user writes one, on torch.nn.LSTM, reading and writing gatescope's checkpoint
format. The Rust tests and bench/bench.py run it; every subcommand prints its
result in the exact format given here.

Checkpoint format
-----------------
One .safetensors file holding CharLSTM's state_dict:
  embed.weight [V, E]            absent for one-hot input (then the input is one_hot(x)
                                 and lstm.weight_ih_l0 has V columns)
  lstm.weight_ih_l{k} [4H, in]   lstm.weight_hh_l{k} [4H, H]
  lstm.bias_ih_l{k} [4H]         lstm.bias_hh_l{k} [4H]
  head.weight [V, H]             head.bias [V]
Gate rows in PyTorch's order i, f, g, o. Written as f32; f16 and bf16 load
(converted to f32). Metadata key "vocab": a JSON array of one-character
strings in index order. Text files are read as UTF-8 with newlines kept as
they are (no \\r\\n translation); characters are Unicode scalar values.

Subcommands
-----------
train --data FILE [--layers 2 --hidden 256 --embed 64 --batch 64 --seq 100
      --steps 50 --lr 2e-3 --dropout 0.0 --head-dropout P --weight-drop 0.0 --input-dropout 0.0
      --val-frac 0.1 --threads N --seed 0 --log-every 50 --out FILE.safetensors]
    vocab = sorted(set(text)); characters from int(n*(1-val_frac)) on are
    validation (nanoGPT's split), training windows are drawn at random from the
    rest; Adam at a constant --lr, gradient norm clipped to 5.
    --dropout is nn.LSTM's dropout, which acts between layers only. gatescope
    also drops the top layer's output before the head; --head-dropout (default:
    equal to --dropout) does the same here, so the two are compared like with
    like. --weight-drop P is AWD-LSTM's DropConnect on every weight_hh_l{k}:
    one mask per forward pass (one per training step). --input-dropout P is
    AWD-LSTM's input dropout: dropout on the embedding's output (the first
    layer's input).
    --embed 0 trains a one-hot model. --threads defaults to torch's default.
    stdout: `step=N loss=X` after every --log-every steps and after the last
    step (N counts completed steps, X is that step's training loss), then, as
    the last line, `chars_per_s=X ms_per_step=Y`. The first 2 steps are
    warm-up and not timed (gatescope times its training the same way); with
    --steps <= 2 every step is timed.

sample --checkpoint F [--prompt "ROMEO:" --length 2000 --temperature 1.0
       --seed 0 --threads 1 --warmup 50]
    Batch-1 sampling under torch.no_grad on one thread by default.
    --temperature 0 is greedy. stdout: the continuation only, no trailing
    newline. stderr, last line: `chars_per_s=X us_per_char=Y threads=T`, timed
    over the characters after the first --warmup generated ones (all of them
    when --length <= --warmup).

greedy --checkpoint F --prompt TEXT --length N [--intervene SPEC ...]
    stdout: the argmax continuation (torch.argmax: the first index on ties),
    no trailing newline. Without interventions it runs nn.LSTM; with any, the
    whole run (prompt included) goes through the explicit cell.

eval --checkpoint F --data FILE [--val-frac 0.1 --window 256]
    stdout: one JSON line {"val_chars": n, "windowed_loss": x, "stateful_loss": y}
    in nats per character. windowed: window w reads val[w*W : w*W+W] from a
    zero state and predicts val[w*W+1 : w*W+W+1]; the final partial window
    predicts what remains, so every validation character after the first is
    predicted exactly once. stateful: one pass with the state carried across
    the split. Log-probabilities in float64, summed in float64.

trace --checkpoint F --prompt TEXT --length N [--intervene SPEC ...]
    Greedy generation of N characters through the explicit cell; stdout: one
    JSON object per consumed character, len(prompt) + N lines (the last
    generated character is consumed too):
      {"t": 0, "char": "R", "prompt": true,
       "layers": [{"i": [...], "f": [...], "g": [...], "o": [...], "c": [...],
                   "h": [...], "c_norm": x, "h_norm": y}, ...],
       "top": [["O", 0.61], ...]}
    gates after their sigmoid/tanh, c and h after the step (after any
    intervention), norms the float32 L2 norms of c_t and h_t, top the 5
    likeliest next characters at temperature 1 (probability descending, ties
    to the lower index). Floats are printed as the shortest decimal that reads
    back as the same float32 (a non-finite value prints as null, as serde_json
    does). Without interventions the run is checked against nn.LSTM's forward
    over the same characters (top-layer h and logits at every step, final h
    and c of every layer) to 1e-5 (relative for values above 1 in magnitude:
    c and logits are unbounded); a mismatch is an error.

explain --checkpoint F --prompt TEXT --unit lK:U [--step T (default: the last) --top 5]
    The LSTM's equations for unit U of layer k at step T of the prompt read
    from a zero state by the explicit cell (checked against nn.LSTM as trace
    is). Row r = G*H + U of lstm.weight_ih_lk / weight_hh_lk for gate G
    (0..3 in i, f, g, o). x is the layer's input at T (the embedding row or
    one-hot vector of x_T for k = 0, else h_T of layer k-1); h', c' are layer
    k's h, c after step T-1 (zeros at T = 0). In float64 from the float32
    weights and states: bias = b_ih[r] + b_hh[r]; input terms W_ih[r,j]*x[j];
    recurrent terms W_hh[r,j]*h'[j]; z = bias + sum(input) + sum(recurrent);
    value = sigmoid(z) (tanh(z) for g). Listed: for k = 0 one input term
    named by the character, its value sum(input); for k > 0 the top --top
    input terms by |term| named l(k-1):j; the top --top recurrent terms named
    lk:j; exact zeros never listed, ties to the lower j; *_rest = the sum of
    the terms not listed. Cell: kept = f*c', written = i*g, c = kept +
    written, h = o*tanh(c) (the gate values above). Memory, from the cell's
    float32 gates of the unit at steps 0..T: writes w_s = i_s*g_s*prod(f_r,
    r = s+1..T); half_life = the smallest m in 1..T with prod(f_r, r =
    T-m+1..T) < 0.5, else null.
    stdout: one JSON line {"step", "char", "unit", "gates": {"i": {"z",
    "value", "bias", "input": [{"from", "term"}], "input_rest", "recurrent",
    "recurrent_rest"}, "f", "g", "o"}, "cell": {"c_prev", "kept", "written",
    "c", "h"}, "memory": {"writes": [...], "half_life"}}.

score --checkpoint F (--data FILE | --text TEXT)
    The text x_0..x_{N-1} (N >= 2) read by nn.LSTM in one forward pass from
    a zero state (no chunks: gatescope's chunked pass is checked against
    it). log_p[i-1] = log_softmax(logits at x_{i-1})[x_i] in float64 from the
    float32 logits, i = 1..N-1; nats_per_char = -mean(log_p), bits_per_char
    = nats_per_char / ln 2; surprising: the 10 lowest log_p (ascending, ties
    to the lower offset), t = i. stdout, one JSON line:
      {"chars": N, "scored": N-1, "nats_per_char": x, "bits_per_char": y,
       "log_p": [...], "surprising": [{"t": i, "char": c, "log_p": x}, ...]}

beam --checkpoint F --prompt TEXT --length N --width W
    Beam search: nn.LSTM reads the prompt; one beam of score 0. At each of N
    steps every beam b (each with its own batch-1 state, no batching) is
    extended by every character v with score_b + log_softmax(logits_b)[v]
    (float64 from the float32 logits); the W best are kept, sorted by score
    descending, ties to the lower b, then the lower v (a stable sort of the
    candidates in (b, v) order). stdout: the first beam's N characters, no
    trailing newline.

init (--text TEXT | --text-file F) [--layers 2 --hidden 32 --embed 16
     --scale 1.0 --seed 0 --dtype f32|f16|bf16] --out FILE
    A randomly initialised model (PyTorch's default initialisation) in
    gatescope's format, vocab = sorted(set(text)); --embed 0 is one-hot input.
    --scale S multiplies every LSTM parameter (weights and biases, as
    tests/py/parity_reference.py does) so gates spread over their range.
    stdout: `vocab=V layers=L hidden=H embed=E params=P`.

attribute --checkpoint F --prompt TEXT [--step T] [--target CHAR | --unit lK:U[:c|:h]]
          [--method grad|ig] [--ig-steps M]
    Which earlier characters F depends on, by torch.autograd through nn.LSTM
    in float32. The model reads prompt[0..T] (T defaults to the last
    character) from a zero state; e_s is layer 0's input at step s (the
    embedding row, or the one-hot vector). F is log_softmax(logits_T)[y] at
    temperature 1, y = --target (one character, or one of the escapes \\n \\t
    \\r \\\\), else prompt[T+1] when there is one, else
    the argmax at T (the first index on ties); with --unit, F is that unit's
    c_T (the default) or h_T. grad: a_s = sum_d e_s[d] * dF/de_s[d].
    ig (the default; --ig-steps M, default 32, 1..1024): every step's input
    scaled by alpha_m = (m - 0.5)/M for m = 1..M, the M copies one batch,
    a_s = sum_d e_s[d] * mean_m dF/dx_s[d] at alpha_m * e. f_x = F(e),
    f_baseline = F(0). stdout, one JSON line:
      {"step": T, "method": "ig", "ig_steps": 32, "target": {"char": "o", "log_p": x}
       | {"unit": "l1:5", "state": "c", "value": x}, "chars": [prompt[0..T]],
       "attributions": [a_0, ..., a_T], "f_x": x, "f_baseline": y}
    ig_steps is null for grad; floats as trace's. stderr: `seconds=X
    cpu_seconds=Y`, the wall-clock and process CPU time of the attribution
    itself (after loading; every pass).

Interventions (--intervene, repeatable)
---------------------------------------
  lK:U:TARGET OP VALUE[@SPAN]     e.g. l1:42:f=0  l0:7:c*=2@3..10  l0:0:h+=0.5@12..
TARGET is one of i f g o c h; OP one of =, +=, *= (spaces around OP are
allowed); VALUE a finite decimal float; SPAN @A..B (A <= t < B) or @A.. (t >= A);
with no span: every generated step (t >= len(prompt)). t is the 0-based index
of the consumed character, the prompt's included. At each t in its span the
target is replaced right after it is computed, before anything uses it: i, f,
g, o after their nonlinearity (before c_t = f*c_(t-1) + i*g; o before h_t);
c before h_t = o*tanh(c_t) and before it is carried to t+1; h before the next
layer, the head and the carry. Several interventions apply in the order given.
No clamping. Bad grammar, an empty span, a span that starts after the run,
a non-finite value, or a layer or unit the model does not have: one line
`error: ...` on stderr, exit 1.

Errors of every subcommand: one line `error: ...` on stderr, exit status 1
(argparse's own usage errors, such as a missing required option, exit 2).
"""
import argparse
import json
import math
import re
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file

GATES = ("i", "f", "g", "o")
TARGETS = ("i", "f", "g", "o", "c", "h")
TOP_K = 5
WARMUP_TRAIN_STEPS = 2


class RefError(Exception):
    """An error reported as one line on stderr with exit status 1."""


# ----------------------------------------------------------------------------
# The model

class CharLSTM(nn.Module):
    """Embedding (or one-hot) -> nn.LSTM -> Linear. state_dict keys are
    exactly gatescope's checkpoint tensor names."""

    def __init__(self, vocab, embed, hidden, layers, dropout=0.0, head_dropout=None, weight_drop=0.0,
                 input_dropout=0.0):
        super().__init__()
        self.vocab = vocab
        self.embed = nn.Embedding(vocab, embed) if embed else None
        # nn.LSTM warns about dropout with one layer; it would have no effect anyway.
        self.lstm = nn.LSTM(embed or vocab, hidden, num_layers=layers, batch_first=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.head = nn.Linear(hidden, vocab)
        self.head_dropout = dropout if head_dropout is None else head_dropout
        self.weight_drop = weight_drop
        self.input_dropout = input_dropout

    def inputs(self, x):
        return self.embed(x) if self.embed is not None else F.one_hot(x, self.vocab).float()

    def forward(self, x, state=None):
        """x: [batch, time] character ids. Returns logits [batch, time, V] and (h_n, c_n)."""
        inp = F.dropout(self.inputs(x), self.input_dropout, self.training)
        if self.training and self.weight_drop > 0:
            y, state = self._weight_dropped_lstm(inp, state)
        else:
            y, state = self.lstm(inp, state)
        y = F.dropout(y, self.head_dropout, self.training)
        return self.head(y), state

    def _weight_dropped_lstm(self, inp, state):
        """AWD-LSTM's DropConnect: the recurrent matrices are dropped with one
        mask for this whole forward pass, and the functional LSTM runs on the
        dropped copies, so gradients reach the raw weights through the mask."""
        lstm = self.lstm
        params = []
        for k in range(lstm.num_layers):
            params += [getattr(lstm, f"weight_ih_l{k}"),
                       F.dropout(getattr(lstm, f"weight_hh_l{k}"), self.weight_drop, True),
                       getattr(lstm, f"bias_ih_l{k}"), getattr(lstm, f"bias_hh_l{k}")]
        if state is None:
            z = inp.new_zeros(lstm.num_layers, inp.shape[0], lstm.hidden_size)
            state = (z, z)
        y, h, c = torch._VF.lstm(inp, state, params, True, lstm.num_layers, lstm.dropout,
                                 self.training, False, True)
        return y, (h, c)


def read_text(path):
    """The file's characters, newlines untouched (newline="" keeps \\r\\n)."""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except UnicodeDecodeError as e:
        raise RefError(f"{path}: not UTF-8 (byte {e.start})")
    except OSError as e:
        raise RefError(f"{path}: {e.strerror}")


def encode(text, vocab, what="text"):
    idx = {c: i for i, c in enumerate(vocab)}
    ids = []
    for pos, ch in enumerate(text):
        if ch not in idx:
            raise RefError(f"{what}: character {ch!r} at {pos} is not in the model's vocabulary")
        ids.append(idx[ch])
    return torch.tensor(ids, dtype=torch.long)


def load(path):
    """(model in eval mode, vocab) from a gatescope checkpoint; any float dtype is converted to f32."""
    try:
        with safe_open(path, "pt") as f:
            meta = f.metadata() or {}
            sd = {k: f.get_tensor(k).float() for k in f.keys()}
    except Exception as e:  # safetensors raises several types for bad files
        raise RefError(f"{path}: cannot read safetensors: {e}")
    if "vocab" not in meta:
        raise RefError(f"{path}: no 'vocab' in the metadata")
    vocab = json.loads(meta["vocab"])
    if not all(isinstance(c, str) and len(c) == 1 for c in vocab):
        raise RefError(f"{path}: 'vocab' must be an array of one-character strings")
    if "lstm.weight_hh_l0" not in sd:
        raise RefError(f"{path}: no lstm.weight_hh_l0")
    hidden = sd["lstm.weight_hh_l0"].shape[1]
    layers = sum(1 for k in sd if k.startswith("lstm.weight_ih_l"))
    embed = sd["embed.weight"].shape[1] if "embed.weight" in sd else 0
    m = CharLSTM(len(vocab), embed, hidden, layers)
    try:
        m.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        raise RefError(f"{path}: {e}")
    return m.eval(), vocab


DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}


def save(model, vocab, path, metadata=None, dtype="f32"):
    sd = {k: v.detach().to(DTYPES[dtype]).contiguous() for k, v in model.state_dict().items()}
    meta = {"vocab": json.dumps(vocab), "tokenizer": "char"}
    meta.update(metadata or {})
    save_file(sd, path, metadata=meta)


# ----------------------------------------------------------------------------
# Interventions

SPEC_RE = re.compile(
    r"^l(?P<layer>\d+):(?P<unit>\d+):(?P<target>[ifgoch])\s*(?P<op>\+=|\*=|=)\s*"
    r"(?P<value>[^@\s]+)\s*(?:@(?P<start>\d+)\.\.(?P<end>\d*))?$")
# A plain decimal float: Python's float() also takes "1_0", "nan" and "inf",
# which gatescope (Rust's f32 parser) would treat differently.
VALUE_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
NONFINITE_RE = re.compile(r"^[+-]?(nan|inf|infinity)$", re.IGNORECASE)


class Intervention:
    def __init__(self, spec, layer, unit, target, op, value, start, end):
        self.spec, self.layer, self.unit, self.target = spec, layer, unit, target
        self.op, self.value, self.start, self.end = op, value, start, end

    def covers(self, t, prompt_len):
        start = prompt_len if self.start is None else self.start
        return t >= start and (self.end is None or t < self.end)

    def apply(self, v):
        """Changes unit `self.unit` of the 1-D float32 tensor v in place."""
        if self.op == "=":
            v[self.unit] = self.value
        elif self.op == "+=":
            v[self.unit] += self.value
        else:
            v[self.unit] *= self.value


def parse_intervention(spec):
    m = SPEC_RE.match(spec.strip())
    if not m:
        raise RefError(f"--intervene {spec!r}: expected lK:U:TARGET OP VALUE[@A..B], "
                       "TARGET one of i f g o c h, OP one of = += *=")
    raw = m["value"]
    if NONFINITE_RE.match(raw):
        raise RefError(f"--intervene {spec!r}: the value must be finite")
    if not VALUE_RE.match(raw):
        raise RefError(f"--intervene {spec!r}: {raw!r} is not a number")
    value = float(raw)
    # float32 is what the cell computes in; a value beyond its range is not finite there.
    if not math.isfinite(value) or abs(value) > float(np.finfo(np.float32).max):
        raise RefError(f"--intervene {spec!r}: the value must be finite")
    start = int(m["start"]) if m["start"] is not None else None
    end = int(m["end"]) if m["end"] else None
    if start is not None and end is not None and end <= start:
        raise RefError(f"--intervene {spec!r}: the span {start}..{end} is empty")
    return Intervention(spec, int(m["layer"]), int(m["unit"]), m["target"], m["op"], value, start, end)


def parse_interventions(specs, layers, hidden, run_steps=None):
    """run_steps: the steps of the run (prompt + generated); a span that starts
    at or after it, or no span with nothing generated, covers no step."""
    out = []
    for spec in specs or []:
        iv = parse_intervention(spec)
        if iv.layer >= layers:
            raise RefError(f"--intervene {spec!r}: the model has layers l0..l{layers - 1}")
        if iv.unit >= hidden:
            raise RefError(f"--intervene {spec!r}: the model has units 0..{hidden - 1}")
        if run_steps is not None and iv.start is not None and iv.start >= run_steps:
            raise RefError(f"--intervene {spec!r}: the span starts after the run (steps 0..{run_steps - 1})")
        out.append(iv)
    return out


# ----------------------------------------------------------------------------
# The explicit cell: nn.LSTM's arithmetic written in torch ops, so every gate
# can be seen (and changed). Float32 throughout, the module's own weights.

class ExplicitCell:
    def __init__(self, model):
        self.model = model
        lstm = model.lstm
        self.layers = lstm.num_layers
        self.hidden = lstm.hidden_size
        self.w = [tuple(getattr(lstm, f"{name}_l{k}").detach()
                        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
                  for k in range(self.layers)]
        self.head_w = model.head.weight.detach()
        self.head_b = model.head.bias.detach()

    def zero_state(self):
        z = torch.zeros(self.hidden)
        return [(z, z) for _ in range(self.layers)]

    @torch.no_grad()
    def step(self, char_id, state, t=0, prompt_len=0, interventions=()):
        """Consumes one character at time t. Returns (per-layer dicts of
        i, f, g, o, c, h after any intervention, new state, logits)."""
        x = self.model.inputs(torch.tensor([char_id]))[0]
        H = self.hidden
        active = [iv for iv in interventions if iv.covers(t, prompt_len)]
        records, new_state = [], []
        for k, (w_ih, w_hh, b_ih, b_hh) in enumerate(self.w):
            h_prev, c_prev = state[k]
            mine = [iv for iv in active if iv.layer == k]
            pre = w_ih @ x + b_ih + w_hh @ h_prev + b_hh
            i = torch.sigmoid(pre[0:H])
            f = torch.sigmoid(pre[H:2 * H])
            g = torch.tanh(pre[2 * H:3 * H])
            o = torch.sigmoid(pre[3 * H:4 * H])
            for name, v in (("i", i), ("f", f), ("g", g), ("o", o)):
                intervene(mine, name, v)
            c = f * c_prev + i * g
            intervene(mine, "c", c)
            h = o * torch.tanh(c)
            intervene(mine, "h", h)
            records.append({"i": i, "f": f, "g": g, "o": o, "c": c, "h": h})
            new_state.append((h, c))
            x = h
        logits = self.head_w @ x + self.head_b
        return records, new_state, logits


def intervene(interventions, target, v):
    for iv in interventions:
        if iv.target == target:
            iv.apply(v)


def explicit_greedy(model, prompt_ids, length, interventions=()):
    """Yields (t, char_id, is_prompt, records, logits) for every consumed
    character: the prompt's, then `length` argmax choices, each consumed too."""
    cell = ExplicitCell(model)
    state = cell.zero_state()
    P = len(prompt_ids)
    logits = None
    for t in range(P + length):
        ch = int(prompt_ids[t]) if t < P else int(torch.argmax(logits))
        records, state, logits = cell.step(ch, state, t, P, interventions)
        yield t, ch, t < P, records, logits


# ----------------------------------------------------------------------------
# Subcommands

def cmd_train(a):
    if a.threads:
        torch.set_num_threads(a.threads)
    text = read_text(a.data)
    vocab = sorted(set(text))
    data = encode(text, vocab, a.data)
    split = int(len(data) * (1 - a.val_frac))
    train = data[:split]
    if len(train) <= a.seq + 1:
        raise RefError(f"{a.data}: {len(train)} training characters, too few for --seq {a.seq}")
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    m = CharLSTM(len(vocab), a.embed, a.hidden, a.layers, a.dropout, a.head_dropout, a.weight_drop,
                 a.input_dropout)
    opt = torch.optim.Adam(m.parameters(), lr=a.lr)
    m.train()
    t0, timed_from = time.perf_counter(), 0
    for step in range(1, a.steps + 1):
        ix = torch.randint(len(train) - a.seq, (a.batch,), generator=gen)
        x = torch.stack([train[i:i + a.seq] for i in ix])
        y = torch.stack([train[i + 1:i + a.seq + 1] for i in ix])
        logits, _ = m(x)
        loss = F.cross_entropy(logits.reshape(-1, len(vocab)), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(m.parameters(), 5.0)
        opt.step()
        if step % a.log_every == 0 or step == a.steps:
            print(f"step={step} loss={loss.item():.4f}", flush=True)
        if step == WARMUP_TRAIN_STEPS and a.steps > WARMUP_TRAIN_STEPS:
            t0, timed_from = time.perf_counter(), step
    dt = time.perf_counter() - t0
    timed = a.steps - timed_from
    if a.out:
        save(m.eval(), vocab, a.out, {"steps": str(a.steps)})
    print(f"chars_per_s={timed * a.batch * a.seq / dt:.0f} ms_per_step={1000 * dt / max(timed, 1):.2f}")


@torch.no_grad()
def cmd_sample(a):
    torch.set_num_threads(a.threads)
    m, vocab = load(a.checkpoint)
    if not a.prompt:
        raise RefError("--prompt is empty")
    ids = encode(a.prompt, vocab, "--prompt")
    gen = torch.Generator().manual_seed(a.seed)
    logits, state = m(ids.view(1, -1))
    logits = logits[0, -1]
    out = []
    t0, timed_from = time.perf_counter(), 0
    for n in range(a.length):
        if n == a.warmup and a.length > a.warmup:
            t0, timed_from = time.perf_counter(), n
        if a.temperature == 0:
            nxt = torch.argmax(logits).view(1)
        else:
            nxt = torch.multinomial(torch.softmax(logits / a.temperature, -1), 1, generator=gen)
        out.append(vocab[nxt.item()])
        logits, state = m(nxt.view(1, 1), state)
        logits = logits[0, -1]
    dt = time.perf_counter() - t0
    timed = a.length - timed_from
    sys.stdout.write("".join(out))
    sys.stdout.flush()
    cps = timed / dt if dt > 0 else float("inf")
    sys.stderr.write(f"chars_per_s={cps:.0f} us_per_char={1e6 * dt / max(timed, 1):.1f} "
                     f"threads={torch.get_num_threads()}\n")


@torch.no_grad()
def nn_greedy(m, ids, length):
    logits, state = m(ids.view(1, -1))
    logits = logits[0, -1]
    out = []
    for _ in range(length):
        nxt = int(torch.argmax(logits))
        out.append(nxt)
        logits, state = m(torch.tensor([[nxt]]), state)
        logits = logits[0, -1]
    return out


def prompt_ids(a, vocab):
    if not a.prompt:
        raise RefError("--prompt is empty")
    return encode(a.prompt, vocab, "--prompt")


def cmd_greedy(a):
    m, vocab = load(a.checkpoint)
    ids = prompt_ids(a, vocab)
    ivs = parse_interventions(a.intervene, m.lstm.num_layers, m.lstm.hidden_size, len(ids) + a.length)
    if ivs:
        out = [ch for t, ch, is_prompt, _, _ in explicit_greedy(m, ids, a.length, ivs) if not is_prompt]
    else:
        out = nn_greedy(m, ids, a.length)
    sys.stdout.write("".join(vocab[i] for i in out))


def f32(x):
    """The shortest decimal that reads back as this float32 (serde_json's
    output for an f32); None (JSON null) when not finite."""
    x = np.float32(x)
    return float(str(x)) if np.isfinite(x) else None


def f32_list(t):
    return [f32(x) for x in t.numpy()]


def top_chars(logits, vocab):
    p = torch.softmax(logits, -1).numpy()
    order = np.argsort(-p, kind="stable")[:TOP_K]  # stable: ties go to the lower index
    return [[vocab[j], f32(p[j])] for j in order]


def trace_line(t, ch, is_prompt, records, logits, vocab):
    layers = []
    for r in records:
        d = {name: f32_list(r[name]) for name in TARGETS}
        d["c_norm"] = f32(torch.linalg.vector_norm(r["c"]))
        d["h_norm"] = f32(torch.linalg.vector_norm(r["h"]))
        layers.append(d)
    return json.dumps({"t": t, "char": vocab[ch], "prompt": is_prompt, "layers": layers,
                       "top": top_chars(logits, vocab)}, ensure_ascii=False)


@torch.no_grad()
def check_against_nn_lstm(m, steps):
    """The explicit cell must be nn.LSTM: compare top-layer h and logits at
    every step and the final h, c of every layer."""
    ids = torch.tensor([s[1] for s in steps]).view(1, -1)
    y, (h_n, c_n) = m.lstm(m.inputs(ids))
    logits = m.head(y)[0]
    top = len(steps[0][3]) - 1
    ours_h = torch.stack([s[3][top]["h"] for s in steps])
    ours_logits = torch.stack([s[4] for s in steps])
    checks = [("h", ours_h, y[0]), ("logits", ours_logits, logits)]
    for k, r in enumerate(steps[-1][3]):
        checks += [(f"final h l{k}", r["h"], h_n[k, 0]), (f"final c l{k}", r["c"], c_n[k, 0])]
    for name, ours, theirs in checks:
        # Within 1e-5, relative for values above 1: c and the logits are not
        # bounded, and float32 carries about 7 significant digits.
        diff = ((ours - theirs).abs() / theirs.abs().clamp(min=1.0)).max().item()
        if not diff <= 1e-5:
            raise RefError(f"the explicit cell disagrees with nn.LSTM on {name}: max |diff| {diff:.3g}")


def cmd_trace(a):
    m, vocab = load(a.checkpoint)
    ids = prompt_ids(a, vocab)
    ivs = parse_interventions(a.intervene, m.lstm.num_layers, m.lstm.hidden_size, len(ids) + a.length)
    steps = list(explicit_greedy(m, ids, a.length, ivs))
    if not ivs:
        check_against_nn_lstm(m, steps)
    out = sys.stdout
    for t, ch, is_prompt, records, logits in steps:
        out.write(trace_line(t, ch, is_prompt, records, logits, vocab) + "\n")


def nll_sum(logits, targets):
    """Sum over positions of -log p(target), computed in float64."""
    lp = logits.double().log_softmax(-1)
    return -lp.gather(-1, targets.unsqueeze(-1)).sum().item()


@torch.no_grad()
def windowed_loss(m, val, W, batch=64):
    n = len(val)
    full = (n - 1) // W  # windows with W predictions each
    total = 0.0
    xs = val[:full * W].view(full, W)
    ys = val[1:full * W + 1].view(full, W)
    for s in range(0, full, batch):
        logits, _ = m(xs[s:s + batch])
        total += nll_sum(logits, ys[s:s + batch])
    if full * W < n - 1:  # the final partial window
        logits, _ = m(val[full * W:n - 1].view(1, -1))
        total += nll_sum(logits[0], val[full * W + 1:n])
    return total / (n - 1)


@torch.no_grad()
def stateful_loss(m, val, chunk=1000):
    # Chunks carry the state, so this is one pass over the split.
    n, total, state = len(val), 0.0, None
    for s in range(0, n - 1, chunk):
        e = min(s + chunk, n - 1)
        logits, state = m(val[s:e].view(1, -1), state)
        total += nll_sum(logits[0], val[s + 1:e + 1])
    return total / (n - 1)


def cmd_eval(a):
    m, vocab = load(a.checkpoint)
    text = read_text(a.data)
    # The whole file must be in the vocabulary (as gatescope requires), not just the split.
    data = encode(text, vocab, a.data)
    val = data[int(len(data) * (1 - a.val_frac)):]
    if len(val) < 2:
        raise RefError(f"{a.data}: the validation split has fewer than 2 characters")
    if a.window < 1:
        raise RefError("--window must be at least 1")
    print(json.dumps({"val_chars": len(val), "windowed_loss": windowed_loss(m, val, a.window),
                      "stateful_loss": stateful_loss(m, val)}))


def cmd_init(a):
    text = a.text if a.text is not None else read_text(a.text_file)
    vocab = sorted(set(text))
    if not vocab:
        raise RefError("the text is empty")
    torch.manual_seed(a.seed)
    m = CharLSTM(len(vocab), a.embed, a.hidden, a.layers).eval()
    with torch.no_grad():
        for p in m.lstm.parameters():
            p.mul_(a.scale)
    save(m, vocab, a.out, dtype=a.dtype)
    params = sum(p.numel() for p in m.parameters())
    print(f"vocab={len(vocab)} layers={a.layers} hidden={a.hidden} embed={a.embed} params={params}")


UNIT_TARGET_RE = re.compile(r"^l(?P<layer>\d+):(?P<unit>\d+)(?::(?P<state>[ch]))?$")
MAX_IG_STEPS = 1024
# --target's escapes for characters a shell makes awkward (as gatescope's).
TARGET_ESCAPES = {"\\n": "\n", "\\t": "\t", "\\r": "\r", "\\\\": "\\"}


def cmd_attribute(a):
    m, vocab = load(a.checkpoint)
    ids = prompt_ids(a, vocab)
    T = len(ids) - 1 if a.step is None else a.step
    if not 0 <= T < len(ids):
        raise RefError(f"--step {T}: the prompt has {len(ids)} characters (steps 0..{len(ids) - 1})")
    if a.target is not None and a.unit is not None:
        raise RefError("give one of --target and --unit")
    if a.method == "grad" and a.ig_steps is not None:
        raise RefError("--ig-steps belongs to --method ig")
    M = 32 if a.ig_steps is None else a.ig_steps
    if a.method == "ig" and not 1 <= M <= MAX_IG_STEPS:
        raise RefError(f"--ig-steps must be from 1 to {MAX_IG_STEPS}")
    unit = None
    if a.unit is not None:
        u = UNIT_TARGET_RE.match(a.unit)
        if not u:
            raise RefError(f"--unit {a.unit!r}: expected lK:U[:c|:h]")
        unit = (int(u["layer"]), int(u["unit"]), u["state"] or "c")
        if unit[0] >= m.lstm.num_layers or unit[1] >= m.lstm.hidden_size:
            raise RefError(f"--unit {a.unit}: out of range")
    target = None
    if a.target is not None:
        target = TARGET_ESCAPES.get(a.target, a.target)
        if len(target) != 1:
            raise RefError(f"--target {a.target!r}: expected one character or an escape \\n \\t \\r \\\\")
        if target not in vocab:
            raise RefError(f"--target {a.target!r} is not in the vocabulary")

    t0, c0 = time.perf_counter(), time.process_time()
    e = m.inputs(ids[:T + 1]).detach()  # [T+1, D]

    def quantity(x, y):
        """F for each input sequence of the batch x: [B, T+1, D] -> [B]."""
        out, (h, c) = m.lstm(x)
        if unit is not None:
            k, j, state = unit
            return (c if state == "c" else h)[k, :, j]
        return torch.log_softmax(m.head(out[:, T]), -1)[:, y]

    y = None
    with torch.no_grad():
        if unit is None:
            if target is not None:
                y = vocab.index(target)
            elif T + 1 < len(ids):
                y = int(ids[T + 1])
            else:
                out, _ = m.lstm(e[None])
                y = int(torch.argmax(m.head(out[0, T])))
        f_x = quantity(e[None], y)[0].item()
        f_baseline = quantity(torch.zeros_like(e)[None], y)[0].item()
    alphas = [1.0] if a.method == "grad" else [(k - 0.5) / M for k in range(1, M + 1)]
    x = (torch.tensor(alphas).view(-1, 1, 1) * e[None]).requires_grad_(True)
    (grad,) = torch.autograd.grad(quantity(x, y).sum(), x)
    attributions = (e * grad.mean(0)).sum(-1)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0

    if unit is None:
        target = {"char": vocab[y], "log_p": f32(f_x)}
    else:
        target = {"unit": f"l{unit[0]}:{unit[1]}", "state": unit[2], "value": f32(f_x)}
    print(json.dumps({"step": T, "method": a.method, "ig_steps": M if a.method == "ig" else None,
                      "target": target, "chars": [vocab[int(i)] for i in ids[:T + 1]],
                      "attributions": f32_list(attributions.detach()), "f_x": f32(f_x),
                      "f_baseline": f32(f_baseline)}, ensure_ascii=False))
    sys.stderr.write(f"seconds={dt:.4f} cpu_seconds={cpu:.4f}\n")


# ----------------------------------------------------------------------------
# explain: the LSTM's equations for one unit at one step

UNIT_RE = re.compile(r"^l(\d+):(\d+)$")


def parse_unit(s, layers, hidden):
    m = UNIT_RE.match(s.strip())
    if not m:
        raise RefError(f"--unit {s!r}: expected lK:U")
    k, u = int(m[1]), int(m[2])
    if k >= layers:
        raise RefError(f"--unit {s!r}: the model has layers l0..l{layers - 1}")
    if u >= hidden:
        raise RefError(f"--unit {s!r}: the model has units 0..{hidden - 1}")
    return k, u


def half_life(f, t):
    """The smallest m in 1..t with prod(f[t-m+1..t]) < 0.5 (float64), or None."""
    kept = 1.0
    for m in range(1, t + 1):
        kept *= float(f[t - m + 1])
        if kept < 0.5:
            return m
    return None


def memory_writes(i, g, f, t):
    """w_s = i_s*g_s*prod(f[s+1..t]) for s = 0..t, float64."""
    w = [0.0] * (t + 1)
    since = 1.0
    for s in range(t, -1, -1):
        w[s] = float(i[s]) * float(g[s]) * since
        since *= float(f[s])
    return w


def listed_terms(terms, top, prefix):
    """The top terms by |value| (ties to the lower j, exact zeros never), and the sum of the rest."""
    order = sorted((j for j in range(len(terms)) if terms[j] != 0.0), key=lambda j: (-abs(terms[j]), j))[:top]
    chosen = set(order)
    rest = 0.0
    for j in range(len(terms)):
        if j not in chosen:
            rest += float(terms[j])
    return [{"from": f"{prefix}{j}", "term": float(terms[j])} for j in order], rest


@torch.no_grad()
def cmd_explain(a):
    m, vocab = load(a.checkpoint)
    ids = prompt_ids(a, vocab)
    cell = ExplicitCell(m)
    k, u = parse_unit(a.unit, cell.layers, cell.hidden)
    T = len(ids) - 1 if a.step is None else a.step
    if not 0 <= T < len(ids):
        raise RefError(f"--step {T}: the prompt has steps 0..{len(ids) - 1}")
    if a.top < 1:
        raise RefError("--top must be at least 1")
    steps = list(explicit_greedy(m, ids[:T + 1], 0))
    check_against_nn_lstm(m, steps)
    records = [s[3] for s in steps]
    H = cell.hidden
    w_ih, w_hh, b_ih, b_hh = (w.numpy().astype(np.float64) for w in cell.w[k])
    x = (m.inputs(ids[T:T + 1])[0] if k == 0 else records[T][k - 1]["h"]).numpy().astype(np.float64)
    if T > 0:
        h_prev = records[T - 1][k]["h"].numpy().astype(np.float64)
        c_prev = float(records[T - 1][k]["c"][u])
    else:
        h_prev, c_prev = np.zeros(H), 0.0
    gates = {}
    for G, name in enumerate(GATES):
        r = G * H + u
        bias = float(b_ih[r] + b_hh[r])
        inp = w_ih[r] * x
        rec = w_hh[r] * h_prev
        z = bias + float(inp.sum()) + float(rec.sum())
        value = math.tanh(z) if name == "g" else 1.0 / (1.0 + math.exp(-z))
        if k == 0:
            total = float(inp.sum())
            listed, rest = ([{"from": vocab[int(ids[T])], "term": total}] if total != 0.0 else []), 0.0
        else:
            listed, rest = listed_terms(inp, a.top, f"l{k - 1}:")
        rec_listed, rec_rest = listed_terms(rec, a.top, f"l{k}:")
        gates[name] = {"z": z, "value": value, "bias": bias, "input": listed, "input_rest": rest,
                       "recurrent": rec_listed, "recurrent_rest": rec_rest}
    kept = gates["f"]["value"] * c_prev
    written = gates["i"]["value"] * gates["g"]["value"]
    c = kept + written
    cell_line = {"c_prev": c_prev, "kept": kept, "written": written, "c": c,
                 "h": gates["o"]["value"] * math.tanh(c)}
    series = {name: [float(rec[k][name][u]) for rec in records] for name in ("i", "g", "f")}
    memory = {"writes": memory_writes(series["i"], series["g"], series["f"], T),
              "half_life": half_life(series["f"], T)}
    print(json.dumps({"step": T, "char": vocab[int(ids[T])], "unit": f"l{k}:{u}", "gates": gates,
                      "cell": cell_line, "memory": memory}, ensure_ascii=False))


@torch.no_grad()
def score_log_probs(m, ids):
    logits, _ = m(ids[:-1].view(1, -1))
    lp = logits[0].double().log_softmax(-1)
    return lp.gather(-1, ids[1:].unsqueeze(-1)).squeeze(-1).tolist()


def cmd_score(a):
    m, vocab = load(a.checkpoint)
    if (a.data is None) == (a.text is None):
        raise RefError("give one of --data and --text")
    text = read_text(a.data) if a.data is not None else a.text
    ids = encode(text, vocab, a.data or "--text")
    if len(ids) < 2:
        raise RefError("the text needs at least 2 characters")
    log_p = score_log_probs(m, ids)
    nats = -math.fsum(log_p) / len(log_p)
    order = sorted(range(len(log_p)), key=lambda i: log_p[i])[:10]  # sorted() is stable
    print(json.dumps({"chars": len(ids), "scored": len(log_p), "nats_per_char": nats,
                      "bits_per_char": nats / math.log(2), "log_p": log_p,
                      "surprising": [{"t": i + 1, "char": vocab[int(ids[i + 1])], "log_p": log_p[i]}
                                     for i in order]}, ensure_ascii=False))


@torch.no_grad()
def cmd_beam(a):
    m, vocab = load(a.checkpoint)
    ids = prompt_ids(a, vocab)
    if not 1 <= a.width <= 64:
        raise RefError("--width must be from 1 to 64")
    logits, state = m(ids.view(1, -1))
    beams = [(0.0, [], state, logits[0, -1].double().log_softmax(-1).tolist())]
    for step in range(a.length):
        cands = [(s + lp[v], b, v) for b, (s, _, _, lp) in enumerate(beams) for v in range(len(vocab))]
        cands.sort(key=lambda c: -c[0])  # stable: ties keep the (b, v) order
        new = []
        for score, b, v in cands[:a.width]:
            _, seq, st, _ = beams[b]
            lp = None
            if step + 1 < a.length:
                logits, st = m(torch.tensor([[v]]), st)
                lp = logits[0, -1].double().log_softmax(-1).tolist()
            new.append((score, seq + [v], st, lp))
        beams = new
    sys.stdout.write("".join(vocab[v] for v in beams[0][1]) if beams else "")


# ----------------------------------------------------------------------------

def parser():
    p = argparse.ArgumentParser(description="gatescope's PyTorch reference (see the module docstring)")
    sub = p.add_subparsers(dest="cmd", required=True)

    t = sub.add_parser("train")
    t.add_argument("--data", required=True)
    t.add_argument("--layers", type=int, default=2)
    t.add_argument("--hidden", type=int, default=256)
    t.add_argument("--embed", type=int, default=64)
    t.add_argument("--batch", type=int, default=64)
    t.add_argument("--seq", type=int, default=100)
    t.add_argument("--steps", type=int, default=50)
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--dropout", type=float, default=0.0)
    t.add_argument("--head-dropout", type=float, default=None)
    t.add_argument("--weight-drop", type=float, default=0.0)
    t.add_argument("--input-dropout", type=float, default=0.0)
    t.add_argument("--val-frac", type=float, default=0.1)
    t.add_argument("--threads", type=int, default=0)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--log-every", type=int, default=50)
    t.add_argument("--out")

    s = sub.add_parser("sample")
    s.add_argument("--checkpoint", required=True)
    s.add_argument("--prompt", default="ROMEO:")
    s.add_argument("--length", type=int, default=2000)
    s.add_argument("--temperature", type=float, default=1.0)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--warmup", type=int, default=50)

    for name in ("greedy", "trace"):
        g = sub.add_parser(name)
        g.add_argument("--checkpoint", required=True)
        g.add_argument("--prompt", required=True)
        g.add_argument("--length", type=int, required=True)
        g.add_argument("--intervene", action="append", default=[])

    e = sub.add_parser("eval")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--data", required=True)
    e.add_argument("--val-frac", type=float, default=0.1)
    e.add_argument("--window", type=int, default=256)

    x = sub.add_parser("explain")
    x.add_argument("--checkpoint", required=True)
    x.add_argument("--prompt", required=True)
    x.add_argument("--unit", required=True)
    x.add_argument("--step", type=int, default=None)
    x.add_argument("--top", type=int, default=5)

    at = sub.add_parser("attribute")
    at.add_argument("--checkpoint", required=True)
    at.add_argument("--prompt", required=True)
    at.add_argument("--step", type=int)
    at.add_argument("--target")
    at.add_argument("--unit")
    at.add_argument("--method", choices=["grad", "ig"], default="ig")
    at.add_argument("--ig-steps", type=int)

    sc = sub.add_parser("score")
    sc.add_argument("--checkpoint", required=True)
    sc.add_argument("--data")
    sc.add_argument("--text")

    b = sub.add_parser("beam")
    b.add_argument("--checkpoint", required=True)
    b.add_argument("--prompt", required=True)
    b.add_argument("--length", type=int, required=True)
    b.add_argument("--width", type=int, required=True)

    i = sub.add_parser("init")
    src = i.add_mutually_exclusive_group(required=True)
    src.add_argument("--text")
    src.add_argument("--text-file")
    i.add_argument("--layers", type=int, default=2)
    i.add_argument("--hidden", type=int, default=32)
    i.add_argument("--embed", type=int, default=16)
    i.add_argument("--scale", type=float, default=1.0)
    i.add_argument("--seed", type=int, default=0)
    i.add_argument("--dtype", choices=sorted(DTYPES), default="f32")
    i.add_argument("--out", required=True)
    return p


COMMANDS = {"train": cmd_train, "sample": cmd_sample, "greedy": cmd_greedy, "eval": cmd_eval,
            "trace": cmd_trace, "init": cmd_init, "explain": cmd_explain, "attribute": cmd_attribute,
            "score": cmd_score, "beam": cmd_beam}


def run(parse, commands, argv=None):
    """Parse argv, run the chosen subcommand; a RefError is one line, exit 1."""
    a = parse().parse_args(argv)
    try:
        commands[a.cmd](a)
    except RefError as e:
        sys.stderr.write(f"error: {e}\n")
        sys.exit(1)


def main(argv=None):
    run(parser, COMMANDS, argv)


if __name__ == "__main__":
    main()
