#!/usr/bin/env python3
"""gatescope's reference for its cell analyses: the same definitions as
gatescope's CLI, written plainly in numpy on states from charlstm.py's
explicit cell, printing JSON of the same structure so a Rust test can compare.

Common arguments: --checkpoint F --data FILE [--chars N (default 20000)]
The analyses read the first N characters (Unicode scalar values) x_0..x_(N-1)
of the UTF-8 file (newlines untouched) in one pass from a zero state; step t
consumes x_t, and c_t, h_t are the states after that step. N larger than the
file, N < 1, or a character not in the model's vocabulary: `error: ...` on
stderr, exit 1. Lines are lines of those N characters (the last one ends at
x_(N-1)).

States are computed in float32 torch by the explicit cell (charlstm.py),
checked against nn.LSTM (the top layer's h at every step, and every layer's
final h and c, to 1e-4 relative for values above 1), then analysed in
float64 numpy (float32 values converted exactly).

Subcommands
-----------
cells [--top 3]
    --data takes one or more files. Each is read as above (its first N
    characters from a zero state, its features computed from its own start),
    and the steps of all of them are pooled: "the steps" below are every
    step of every file, in order, and "chars" in the output is their count.
    A half-life never reaches into an earlier file (t counts from each
    file's start).
    For each text feature (below) and each unit's c_t and h_t in every layer:
    Pearson r over the steps, in float64:
      r = sum((f - mean f) * (u - mean u)) / sqrt(sum((f - mean f)^2) * sum((u - mean u)^2)).
    A unit whose value is the same at every step is skipped; a feature whose
    value is the same at every step lists no units. Each feature lists its
    top --top units by |r| with the signed r; ties (equal |r|) go to the lower
    layer, then the lower unit, then c before h.
    Each listed unit also carries median_half_life: its half-life at step t
    is the smallest m in 1..t with f_(t-m+1)*...*f_t < 0.5 (the forget gates
    of the unit, product in float64), none if there is none (always at
    t = 0); the median (numpy's: the mean of the two middle values for an
    even count) over the steps that have one, null when none has.
    stdout: {"chars": N, "features": [{"name": "line_position", "units":
             [{"unit": "l1:134", "state": "c", "r": 0.885,
               "median_half_life": 12.0}, ...]}, ...]}
    (unit "lK:U": K the layer index as in PyTorch's tensor names, U the index
    in the layer). Features in the order of the table below.

search --layer lK --span S..E [--state c|h (c)] [--threshold 0.3]
       [--pad-left 1] [--pad-right 0] [--top 50]
    v_t = tanh(c_t) (float64 tanh of the float32 c) for state c, h_t for h.
    A unit is on at t when v_t >= threshold. S1 = the layer's units on at
    every step of [S, E) and off at every step of [S-pad_left, S) and
    [E, E+pad_right) that exists (0 <= t < N). If S1 is empty there are no
    matches. k = ceil(|S1|/2); n_t = number of S1 units on at t. Candidates:
    the maximal runs [a, b) with n_t >= k throughout and b - a >= 2, minus any
    that overlap [S, E). For each, S2 = the layer's units on at every step of
    [a, b) and off at every existing step of [a-pad_left, a) and [b, b+pad_right).
    Ranked by larger |S1 & S2|, then smaller |S1 | S2|, then longer run, then
    earlier start; the first --top are kept. 0 <= S < E <= N is required.
    stdout: {"selected": [sorted unit indices of S1], "matches": [{"start": a,
             "end": b, "shared": n, "union": m, "text": "x_a..x_(b-1)"}, ...]}

saturation [--low 0.1] [--high 0.9]
    Per layer, per gate i, f, o, per unit: left = the fraction of the N steps
    with gate < low, right = the fraction with gate > high (the float32 gate
    compared in float64 with the float64 bound).
    stdout: {"chars": N, "layers": [{"layer": "l0", "gates": {"i": {"left":
             [...], "right": [...]}, "f": {...}, "o": {...}}}, ...]}

Text features (value at step t; indicators are 0/1)
----------------------------------------------------
line_position  characters of x_t's line before x_t (a "\\n" belongs to the line it ends)
word_position  0 if x_t is not alphabetic, else 1 + the alphabetic characters directly before it
in_word        x_t is alphabetic (str.isalpha)
newline        x_t is "\\n"
space          x_t is " "
uppercase      x_t is an uppercase letter (str.isupper)
vowel          x_t is one of aeiouAEIOU
punctuation    x_t is ASCII punctuation (Python's string.punctuation)
speaker_line   x_t's line without its "\\n" ends with ":", and the part before
               that final ":" has at least one uppercase and no lowercase letter
in_quotes      the number of '"' in x_0..x_(t-1) is odd
bracket_depth  d_t = max(0, d_(t-1) + [x_t in "([{"] - [x_t in ")]}"]), d_(-1) = 0
indent         the number of leading spaces and tabs of x_t's line
in_string      x_t is in a Python string, from its opening quote(s) through its
               closing quote(s) (prefix letters such as f or r are not)
in_comment     x_t is in a Python comment, from "#" up to its "\\n" (not included)
The last two lex the text from its start with four states: code, comment,
single-quoted string, triple-quoted string. In code, "#" starts a comment
that runs up to the next "\\n" (which is code); ' or " starts a string,
triple-quoted when the next two characters are the same quote, else
single-quoted. In a string a backslash escapes the next character, which
never ends the string (raw or not); a single-quoted string ends at its
unescaped quote or before an unescaped "\\n" (the "\\n" is code); a
triple-quoted one ends at three of its quote in a row.
str.isalpha/isupper/islower are Unicode-aware; the tests use ASCII-range
text, where Rust's char::is_alphabetic/is_uppercase/is_lowercase agree.
"""
import argparse
import json
import math
import os
import string
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import charlstm  # noqa: E402
from charlstm import RefError  # noqa: E402

FEATURES = ("line_position", "word_position", "in_word", "newline", "space", "uppercase",
            "vowel", "punctuation", "speaker_line", "in_quotes", "bracket_depth", "indent",
            "in_string", "in_comment")
STATE_TOLERANCE = 1e-4


# ----------------------------------------------------------------------------
# Text and states

def read_chars(path, n):
    text = charlstm.read_text(path)
    if n < 1:
        raise RefError("--chars must be at least 1")
    if n > len(text):
        raise RefError(f"{path}: --chars {n} but the file has {len(text)} characters")
    return text[:n]


@torch.no_grad()
def run_states(model, ids):
    """Per layer, float32 numpy arrays [N, H] of i, f, g, o, c, h at every step."""
    cell = charlstm.ExplicitCell(model)
    state = cell.zero_state()
    steps = []
    for t, ch in enumerate(ids.tolist()):
        records, state, _ = cell.step(ch, state, t)
        steps.append(records)
    layers = [{name: torch.stack([s[k][name] for s in steps]).numpy() for name in charlstm.TARGETS}
              for k in range(cell.layers)]
    check_states(model, ids, layers)
    return layers


@torch.no_grad()
def check_states(model, ids, layers):
    """The explicit cell's states must be nn.LSTM's over the same text."""
    y, (h_n, c_n) = model.lstm(model.inputs(ids.view(1, -1)))
    pairs = [("h of the top layer", layers[-1]["h"], y[0].numpy())]
    for k, st in enumerate(layers):
        pairs += [(f"final h l{k}", st["h"][-1], h_n[k, 0].numpy()),
                  (f"final c l{k}", st["c"][-1], c_n[k, 0].numpy())]
    for name, ours, theirs in pairs:
        ours, theirs = ours.astype(np.float64), theirs.astype(np.float64)
        diff = np.max(np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1.0))
        if not diff <= STATE_TOLERANCE:
            raise RefError(f"the explicit cell disagrees with nn.LSTM on {name}: max |diff| {diff:.3g}")


def load_inputs(a):
    model, vocab = charlstm.load(a.checkpoint)
    text = read_chars(a.data, a.chars)
    return model, text, charlstm.encode(text, vocab, a.data)


def load_run(a):
    model, text, ids = load_inputs(a)
    return model, text, run_states(model, ids)


# ----------------------------------------------------------------------------
# Text features

def line_spans(text):
    """(start, end) of every line; a line includes the "\\n" that ends it."""
    spans, start = [], 0
    for t, ch in enumerate(text):
        if ch == "\n":
            spans.append((start, t + 1))
            start = t + 1
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def is_speaker(line):
    if not line.endswith(":"):
        return False
    name = line[:-1]
    return any(ch.isupper() for ch in name) and not any(ch.islower() for ch in name)


def leading_blanks(line):
    return len(line) - len(line.lstrip(" \t"))


def python_spans(text):
    """The comments and strings of `text` as (kind, start, end, triple), in
    order: kind is "comment" or "string", [start, end) its characters (see
    in_string above), triple whether a string opened with three quotes."""
    n = len(text)
    i = 0
    while i < n:
        ch = text[i]
        if ch == "#":
            end = text.find("\n", i)
            end = n if end < 0 else end
            yield "comment", i, end, False
            i = end
        elif ch in "'\"":
            triple = text[i + 1:i + 3] == ch * 2
            j = i + 3 if triple else i + 1
            end = n
            while j < n:
                if text[j] == "\\":
                    j += 2
                elif triple and text[j:j + 3] == ch * 3:
                    end = j + 3
                    break
                elif not triple and text[j] == ch:
                    end = j + 1
                    break
                elif not triple and text[j] == "\n":
                    end = j
                    break
                else:
                    j += 1
            yield "string", i, end, triple
            i = end
        else:
            i += 1


def python_lexemes(text):
    """Per character: "code", "comment" or "string" (see in_string above)."""
    out = ["code"] * len(text)
    for kind, start, end, _ in python_spans(text):
        out[start:end] = [kind] * (end - start)
    return out


def text_features(text):
    """Dict name -> float64 array [N]."""
    n = len(text)
    f = {name: np.zeros(n) for name in FEATURES}
    for s, e in line_spans(text):
        line = text[s:e - 1] if text[e - 1] == "\n" else text[s:e]
        speaker, indent = float(is_speaker(line)), float(leading_blanks(line))
        for t in range(s, e):
            f["line_position"][t] = t - s
            f["speaker_line"][t] = speaker
            f["indent"][t] = indent
    run, quotes, depth = 0, 0, 0
    for t, ch in enumerate(text):
        run = run + 1 if ch.isalpha() else 0
        f["word_position"][t] = run
        f["in_word"][t] = ch.isalpha()
        f["newline"][t] = ch == "\n"
        f["space"][t] = ch == " "
        f["uppercase"][t] = ch.isupper()
        f["vowel"][t] = ch in "aeiouAEIOU"
        f["punctuation"][t] = ch in string.punctuation
        f["in_quotes"][t] = quotes % 2  # quotes before x_t
        quotes += ch == '"'
        depth = max(0, depth + (ch in "([{") - (ch in ")]}"))
        f["bracket_depth"][t] = depth
    lexemes = python_lexemes(text)
    f["in_string"][:] = [lx == "string" for lx in lexemes]
    f["in_comment"][:] = [lx == "comment" for lx in lexemes]
    return f


# ----------------------------------------------------------------------------
# cells

def unit_columns(layers):
    """float64 [N, M] of every unit's c and h, and the (layer, unit, state) of each column."""
    cols, names = [], []
    for k, st in enumerate(layers):
        for state in ("c", "h"):
            cols.append(st[state].astype(np.float64))
            names += [(k, u, state) for u in range(st[state].shape[1])]
    return np.concatenate(cols, axis=1), names


def pearson(feature, units):
    """r of the feature with every column, NaN where the column is constant."""
    fc = feature - feature.mean()
    uc = units - units.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (fc @ uc) / np.sqrt((fc @ fc) * (uc * uc).sum(axis=0))
    # Exactly constant columns are skipped (the mean of equal values need not round back to them).
    r[np.all(units == units[0], axis=0)] = np.nan
    return r


def half_lives(f):
    """The half-life at every step t of a unit with forget gates f (float32
    [N]): the smallest m in 1..t with prod(f[t-m+1..t]) < 0.5, the product
    taken in float64 with m growing; 0 where there is none."""
    n = len(f)
    f = f.astype(np.float64)
    kept, result = np.ones(n), np.zeros(n, dtype=np.int64)
    active = np.arange(1, n)
    for m in range(1, n):
        active = active[active >= m]
        if active.size == 0:
            break
        kept[active] *= f[active - m + 1]
        done = kept[active] < 0.5
        result[active[done]] = m
        active = active[~done]
    return result


def median_half_life(fs):
    """The median of the half-lives over the steps of one or more texts (a
    forget-gate array per text, each from its own start), steps without one
    left out; None if none has one."""
    h = np.concatenate([half_lives(f) for f in fs])
    h = h[h > 0]
    return float(np.median(h)) if h.size else None


def cmd_cells(a):
    """Over one file, or several pooled: each file's first --chars characters
    from a zero state, its features from its own start, r over all steps."""
    model, vocab = charlstm.load(a.checkpoint)
    runs, texts = [], []
    for path in a.data:
        text = read_chars(path, a.chars)
        runs.append(run_states(model, charlstm.encode(text, vocab, path)))
        texts.append(text)
    units = np.concatenate([unit_columns(layers)[0] for layers in runs], axis=0)
    names = unit_columns(runs[0])[1]
    per_text = [text_features(text) for text in texts]
    pooled = {name: np.concatenate([f[name] for f in per_text]) for name in FEATURES}
    medians = {}

    def median_of(k, u):
        if (k, u) not in medians:
            medians[(k, u)] = median_half_life([layers[k]["f"][:, u] for layers in runs])
        return medians[(k, u)]

    features = []
    for name, f in pooled.items():
        listed = []
        if not np.all(f == f[0]):
            r = pearson(f, units)
            order = sorted((j for j in range(len(names)) if not np.isnan(r[j])),
                           key=lambda j: (-abs(r[j]), names[j][0], names[j][1], names[j][2] == "h"))
            listed = [{"unit": f"l{names[j][0]}:{names[j][1]}", "state": names[j][2], "r": float(r[j]),
                       "median_half_life": median_of(names[j][0], names[j][1])}
                      for j in order[:a.top]]
        features.append({"name": name, "units": listed})
    print(json.dumps({"chars": sum(len(t) for t in texts), "features": features}))


# ----------------------------------------------------------------------------
# search

def parse_layer(s, layers):
    if not (s.startswith("l") and s[1:].isdigit() and int(s[1:]) < layers):
        raise RefError(f"--layer {s!r}: expected one of l0..l{layers - 1}")
    return int(s[1:])


def parse_span(s, n):
    parts = s.split("..")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise RefError(f"--span {s!r}: expected S..E")
    start, end = int(parts[0]), int(parts[1])
    if not 0 <= start < end <= n:
        raise RefError(f"--span {s!r}: need 0 <= S < E <= {n}")
    return start, end


def units_on_off(on, start, end, pad_left, pad_right):
    """Units on at every step of [start, end) and off at every existing step of the pads."""
    n = on.shape[0]
    ok = on[start:end].all(axis=0)
    ok &= ~on[max(0, start - pad_left):start].any(axis=0)
    ok &= ~on[end:min(n, end + pad_right)].any(axis=0)
    return set(np.flatnonzero(ok).tolist())


def runs_at_least(counts, k):
    """Maximal runs [a, b) with counts >= k throughout."""
    runs, a = [], None
    for t, c in enumerate(counts.tolist() + [-1]):  # the sentinel closes a final run
        if c >= k and a is None:
            a = t
        elif c < k and a is not None:
            runs.append((a, t))
            a = None
    return runs


def cmd_search(a):
    model, text, ids = load_inputs(a)
    # Arguments are checked before the (slow) run over the text.
    k_layer = parse_layer(a.layer, model.lstm.num_layers)
    start, end = parse_span(a.span, len(text))
    layers = run_states(model, ids)
    c_or_h = layers[k_layer][a.state].astype(np.float64)
    v = np.tanh(c_or_h) if a.state == "c" else c_or_h
    on = v >= a.threshold
    s1 = units_on_off(on, start, end, a.pad_left, a.pad_right)
    matches = []
    if s1:
        k = math.ceil(len(s1) / 2)
        counts = on[:, sorted(s1)].sum(axis=1)
        for ra, rb in runs_at_least(counts, k):
            if rb - ra < 2 or (ra < end and start < rb):
                continue
            s2 = units_on_off(on, ra, rb, a.pad_left, a.pad_right)
            matches.append({"start": ra, "end": rb, "shared": len(s1 & s2), "union": len(s1 | s2),
                            "text": text[ra:rb]})
        matches.sort(key=lambda m: (-m["shared"], m["union"], -(m["end"] - m["start"]), m["start"]))
    print(json.dumps({"selected": sorted(s1), "matches": matches[:a.top]}, ensure_ascii=False))


# ----------------------------------------------------------------------------
# saturation

def cmd_saturation(a):
    _, text, layers = load_run(a)
    out = []
    for k, st in enumerate(layers):
        gates = {}
        for g in ("i", "f", "o"):
            x = st[g].astype(np.float64)
            gates[g] = {"left": (x < a.low).mean(axis=0).tolist(), "right": (x > a.high).mean(axis=0).tolist()}
        out.append({"layer": f"l{k}", "gates": gates})
    print(json.dumps({"chars": len(text), "layers": out}))


# ----------------------------------------------------------------------------

def parser():
    p = argparse.ArgumentParser(description="gatescope's reference cell analyses (see the module docstring)")
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(name, several=False):
        s = sub.add_parser(name)
        s.add_argument("--checkpoint", required=True)
        s.add_argument("--data", required=True, nargs="+" if several else None)
        s.add_argument("--chars", type=int, default=20000)
        return s

    c = common("cells", several=True)
    c.add_argument("--top", type=int, default=3)
    s = common("search")
    s.add_argument("--layer", required=True)
    s.add_argument("--span", required=True)
    s.add_argument("--state", choices=["c", "h"], default="c")
    s.add_argument("--threshold", type=float, default=0.3)
    s.add_argument("--pad-left", type=int, default=1)
    s.add_argument("--pad-right", type=int, default=0)
    s.add_argument("--top", type=int, default=50)
    t = common("saturation")
    t.add_argument("--low", type=float, default=0.1)
    t.add_argument("--high", type=float, default=0.9)
    return p


COMMANDS = {"cells": cmd_cells, "search": cmd_search, "saturation": cmd_saturation}


def main(argv=None):
    charlstm.run(parser, COMMANDS, argv)


if __name__ == "__main__":
    main()
