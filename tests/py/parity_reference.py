#!/usr/bin/env python3
"""Build a character LSTM in PyTorch, save it in gatescope's checkpoint format,
and record what PyTorch computes over a text: logits from nn.LSTM, and every
gate, c and h from the cell equations written with torch ops (checked against
nn.LSTM's own h and c before they are written).

  parity_reference.py --out DIR --kind embed|onehot --layers L --hidden H --text TEXT
writes DIR/model.safetensors and DIR/expected.safetensors.
"""
import argparse, json, os
import torch, torch.nn as nn, torch.nn.functional as F
from safetensors.torch import save_file


class CharLSTM(nn.Module):
    def __init__(self, vocab, embed, hidden, layers):
        super().__init__()
        self.vocab = vocab
        self.embed = nn.Embedding(vocab, embed) if embed else None
        self.lstm = nn.LSTM(embed or vocab, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def inputs(self, x):
        return self.embed(x) if self.embed is not None else F.one_hot(x, self.vocab).float()

    def forward(self, x):
        y, state = self.lstm(self.inputs(x))
        return self.head(y), state


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--kind", choices=["embed", "onehot"], required=True)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--embed", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--text", required=True)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    vocab = sorted(set(a.text))
    idx = {c: i for i, c in enumerate(vocab)}
    m = CharLSTM(len(vocab), a.embed if a.kind == "embed" else 0, a.hidden, a.layers).eval()
    # Larger-than-default weights so gates spread over their whole range.
    with torch.no_grad():
        for prm in m.lstm.parameters():
            prm.mul_(3.0)
    x = torch.tensor([[idx[c] for c in a.text]])
    with torch.no_grad():
        logits, (h_n, c_n) = m(x)
        # The cell written out, from the same weights, gate rows i, f, g, o.
        H = a.hidden
        layer_in = m.inputs(x)[0]
        expected = {"logits": logits[0].contiguous()}
        for k in range(a.layers):
            w_ih = getattr(m.lstm, f"weight_ih_l{k}"); w_hh = getattr(m.lstm, f"weight_hh_l{k}")
            b = getattr(m.lstm, f"bias_ih_l{k}") + getattr(m.lstm, f"bias_hh_l{k}")
            h = torch.zeros(H); c = torch.zeros(H)
            gates, cs, hs = [], [], []
            for t in range(layer_in.shape[0]):
                z = w_ih @ layer_in[t] + w_hh @ h + b
                i, f, g, o = torch.sigmoid(z[:H]), torch.sigmoid(z[H:2*H]), torch.tanh(z[2*H:3*H]), torch.sigmoid(z[3*H:])
                c = f * c + i * g
                h = o * torch.tanh(c)
                gates.append(torch.cat([i, f, g, o])); cs.append(c); hs.append(h)
            expected[f"gates_l{k}"] = torch.stack(gates)
            expected[f"c_l{k}"] = torch.stack(cs)
            expected[f"h_l{k}"] = torch.stack(hs)
            assert torch.allclose(hs[-1], h_n[k, 0], atol=1e-5), "written-out cell disagrees with nn.LSTM (h)"
            assert torch.allclose(cs[-1], c_n[k, 0], atol=1e-5), "written-out cell disagrees with nn.LSTM (c)"
            layer_in = torch.stack(hs)
    os.makedirs(a.out, exist_ok=True)
    sd = {k: v.contiguous() for k, v in m.state_dict().items()}
    save_file(sd, os.path.join(a.out, "model.safetensors"), metadata={"vocab": json.dumps(vocab)})
    save_file(expected, os.path.join(a.out, "expected.safetensors"), metadata={"text": a.text})


if __name__ == "__main__":
    main()
