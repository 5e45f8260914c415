"""How closely one unit follows the code features when they are split by
kind: strings into triple-quoted and single-quoted ones, bracket depth into
round, square and curly brackets (and being inside any). On the same held-out
files as tools/held_out.py, the first 20,000 characters of each, it prints the
best |r| of any unit state (c or h, any layer) per file, and its mean and
lowest over the files, beside the unsplit feature.

    .venv/bin/python tools/split_features.py CHECKPOINT

The states are PyTorch's (nn.LSTMCell with the checkpoint's weights, layer by
layer, checked against nn.LSTM's output); the features and r are
reference/analysis.py's, whose definitions the tests hold gatescope's to.
"""

import os, sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "reference"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import analysis, charlstm  # noqa: E402
from held_out import CHARS, FILES, TORCH  # noqa: E402


@torch.no_grad()
def unit_states(model, ids):
    """float64 [N, 2 * layers * H]: every layer's c and h at every step."""
    x = model.inputs(ids.view(1, -1))[0]
    cols = []
    for k in range(model.lstm.num_layers):
        cell = torch.nn.LSTMCell(x.shape[1], model.lstm.hidden_size)
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(model.lstm, f"{name}_l{k}"))
        h = c = torch.zeros(1, model.lstm.hidden_size)
        hs, cs = [], []
        for t in range(x.shape[0]):
            h, c = cell(x[t:t + 1], (h, c))
            hs.append(h[0])
            cs.append(c[0])
        x = torch.stack(hs)
        cols += [torch.stack(cs), x]
    top, _ = model.lstm(model.inputs(ids.view(1, -1)))
    # Two float32 orders of summation drift apart over 20,000 steps (up to
    # 4e-4 on one file for a four-layer model); a wrong weight layout is off
    # by tenths.
    if not torch.allclose(top[0], x, atol=1e-3):
        sys.exit("split_features: the cell-by-cell states disagree with nn.LSTM")
    return torch.cat(cols, dim=1).double().numpy()


def string_kinds(text):
    """(triple, single) indicator arrays: in_string's strings by their opening quote."""
    triple, single = np.zeros(len(text)), np.zeros(len(text))
    for kind, start, end, is_triple in analysis.python_spans(text):
        if kind == "string":
            (triple if is_triple else single)[start:end] = 1
    return triple, single


def depth(text, opens, closes):
    d, out = 0, np.zeros(len(text))
    for t, ch in enumerate(text):
        d = max(0, d + (ch in opens) - (ch in closes))
        out[t] = d
    return out


def features(text):
    f = analysis.text_features(text)
    triple, single = string_kinds(text)
    if not np.array_equal(triple + single, f["in_string"]):
        sys.exit("split_features: the string kinds do not add up to in_string")
    return {
        "in_string": f["in_string"],
        "  triple-quoted": triple,
        "  single-quoted": single,
        "bracket_depth": f["bracket_depth"],
        "  round ( )": depth(text, "(", ")"),
        "  square [ ]": depth(text, "[", "]"),
        "  curly { }": depth(text, "{", "}"),
        "  inside any (depth > 0)": (f["bracket_depth"] > 0).astype(float),
    }


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    torch.set_num_threads(1)
    model, vocab = charlstm.load(sys.argv[1])
    best = {}
    for name in FILES:
        text = charlstm.read_text(os.path.join(TORCH, name))[:CHARS]
        units = unit_states(model, charlstm.encode(text, vocab, name))
        for feat, values in features(text).items():
            best.setdefault(feat, []).append(np.nanmax(np.abs(analysis.pearson(values, units))))
    short = [n.rsplit("/", 1)[-1] for n in FILES]
    print(f"{'feature':26}{'mean':>7}{'lowest':>8}  " + " ".join(f"{s[:10]:>10}" for s in short))
    for feat, rs in best.items():
        print(f"{feat:26}{np.mean(rs):7.3f}{np.min(rs):8.3f}  " + " ".join(f"{r:10.3f}" for r in rs))


if __name__ == "__main__":
    main()
