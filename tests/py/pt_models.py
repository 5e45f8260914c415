#!/usr/bin/env python3
"""Save character LSTMs the way PyTorch users do (torch.save(model.state_dict()))
under various module names and dtypes, and record what PyTorch computes from
them: the greedy continuation of a prompt and every gate of every consumed
character (the explicit cell from the saved weights, as parity_reference.py
does, checked against nn.LSTM's own h and c and nn.Linear's own logits).

  pt_models.py --out DIR --style STYLE --text CORPUS --prompt P --length N
writes DIR/model.pt, DIR/vocab (the corpus, or a JSON array for style fc)
and DIR/expected.json {"text": prompt + continuation, "steps": [...]}.

  pt_models.py --out DIR --style evil --marker PATH
writes DIR/model.pt whose pickle would create PATH when torch.load ran it.
"""
import argparse, json, os
import torch, torch.nn as nn, torch.nn.functional as F


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class EncoderRnnDecoder(nn.Module):
    """The PyTorch tutorials' names."""
    def __init__(self, v, e, h, layers):
        super().__init__()
        self.encoder = nn.Embedding(v, e)
        self.rnn = nn.LSTM(e, h, num_layers=layers, batch_first=True)
        self.decoder = nn.Linear(h, v)

    def parts(self):
        return self.encoder, self.rnn, self.decoder


class EmbeddingLstmFc(nn.Module):
    def __init__(self, v, e, h, layers):
        super().__init__()
        self.embedding = nn.Embedding(v, e)
        self.dropout = nn.Dropout(0.1)
        self.lstm = nn.LSTM(e, h, num_layers=layers, batch_first=True, dropout=0.1)
        self.fc = nn.Linear(h, v)

    def parts(self):
        return self.embedding, self.lstm, self.fc


class NestedOneHot(nn.Module):
    """One-hot input (char-rnn style) and modules nested one level down."""
    def __init__(self, v, h, layers):
        super().__init__()
        self.net = nn.ModuleDict({"core": nn.LSTM(v, h, num_layers=layers), "proj": nn.Linear(h, v)})
        self.register_buffer("steps_seen", torch.tensor(1234))

    def parts(self):
        return None, self.net["core"], self.net["proj"]


class TwoHeads(nn.Module):
    def __init__(self, v, e, h):
        super().__init__()
        self.emb = nn.Embedding(v, e)
        self.lstm = nn.LSTM(e, h, batch_first=True)
        self.fc = nn.Linear(h, v)
        self.aux = nn.Linear(h, v)

    def parts(self):
        return self.emb, self.lstm, self.fc


def build(style, v):
    if style in ("encoder", "legacy"):
        return EncoderRnnDecoder(v, 12, 24, 2)
    if style == "fc":
        return EmbeddingLstmFc(v, 10, 20, 2)
    if style == "onehot":
        return NestedOneHot(v, 16, 2)
    if style == "ambiguous":
        return TwoHeads(v, 8, 16)
    raise SystemExit(f"unknown style {style}")


def cell_run(w, embed, layers, head, ids):
    """The cell written out from the f32 weights; returns logits and per-layer gates, c, h for one id."""
    def step(x_id, state):
        x = embed[x_id] if embed is not None else F.one_hot(torch.tensor(x_id), head[0].shape[0]).float()
        out = []
        for k, (w_ih, w_hh, b) in enumerate(layers):
            h, c = state[k]
            H = h.shape[0]
            z = w_ih @ x + w_hh @ h + b
            i, f, g, o = torch.sigmoid(z[:H]), torch.sigmoid(z[H:2*H]), torch.tanh(z[2*H:3*H]), torch.sigmoid(z[3*H:])
            c = f * c + i * g
            h = o * torch.tanh(c)
            state[k] = (h, c)
            out.append({"i": i, "f": f, "g": g, "o": o, "c": c, "h": h})
            x = h
        return head[0] @ x + head[1], out
    return step


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--style", required=True)
    p.add_argument("--text", default="")
    p.add_argument("--prompt", default="")
    p.add_argument("--length", type=int, default=40)
    p.add_argument("--dtype", choices=["f32", "f16", "bf16"], default="f32")
    p.add_argument("--marker", default="")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "model.pt")
    if a.style == "evil":
        torch.save({"w": torch.zeros(2), "x": Evil(a.marker)}, path)
        return
    if a.style in ("bidir", "proj", "gru", "module"):
        # Models gatescope refuses by name: saved only, nothing computed.
        rnn = {"bidir": nn.LSTM(8, 16, bidirectional=True), "proj": nn.LSTM(8, 16, proj_size=4),
               "gru": nn.GRU(8, 16), "module": nn.LSTM(8, 16)}[a.style]
        head = nn.Linear(32 if a.style == "bidir" else 4 if a.style == "proj" else 16, 5)
        m = nn.ModuleDict({"emb": nn.Embedding(5, 8), "rnn": rnn, "head": head})
        torch.save(m if a.style == "module" else m.state_dict(), path)
        return

    torch.manual_seed(a.seed)
    chars = sorted(set(a.text))
    idx = {ch: i for i, ch in enumerate(chars)}
    m = build(a.style, len(chars)).eval()
    embed_m, lstm_m, head_m = m.parts()
    with torch.no_grad():
        # Larger-than-default weights so gates spread over their whole range.
        for prm in lstm_m.parameters():
            prm.mul_(3.0)
    dt = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[a.dtype]
    sd = m.state_dict()
    sd = {k: (t.to(dt) if t.is_floating_point() else t) for k, t in sd.items()}
    if a.style == "onehot":
        # Non-contiguous tensors as PyTorch saves views: a transposed head and a
        # bias that is a slice (storage offset 3) of a longer tensor.
        w = sd["net.proj.weight"]
        sd["net.proj.weight"] = w.t().contiguous().t()
        assert not sd["net.proj.weight"].is_contiguous()
        b = sd["net.core.bias_ih_l1"]
        sd["net.core.bias_ih_l1"] = torch.cat([torch.randn(3).to(dt), b, torch.randn(2).to(dt)])[3:3 + b.shape[0]]
        assert sd["net.core.bias_ih_l1"].storage_offset() == 3
    torch.save(sd, path, _use_new_zipfile_serialization=(a.style != "legacy"))

    # What PyTorch computes from the saved weights, in f32.
    loaded = {k: v.float() for k, v in torch.load(path, weights_only=True).items() if v.is_floating_point()}
    ref = build(a.style, len(chars)).eval()
    ref.load_state_dict({**ref.state_dict(), **loaded})
    embed_m, lstm_m, head_m = ref.parts()
    L = lstm_m.num_layers
    layers = [(getattr(lstm_m, f"weight_ih_l{k}"), getattr(lstm_m, f"weight_hh_l{k}"),
               getattr(lstm_m, f"bias_ih_l{k}") + getattr(lstm_m, f"bias_hh_l{k}")) for k in range(L)]
    step = cell_run(None, embed_m.weight if embed_m is not None else None, layers, (head_m.weight, head_m.bias), None)
    H = lstm_m.hidden_size
    state = [(torch.zeros(H), torch.zeros(H)) for _ in range(L)]
    ids = [idx[ch] for ch in a.prompt]
    steps, logits = [], None
    with torch.no_grad():
        for t in range(len(a.prompt) + a.length):
            if t >= len(a.prompt):
                ids.append(int(torch.argmax(logits)))
            logits, out = step(ids[t], state)
            steps.append({"char": chars[ids[t]], "layers": [
                {g: l[g].tolist() for g in "ifgo"} | {"c_norm": float(l["c"].norm()), "h_norm": float(l["h"].norm())}
                for l in out]})
        # The same sequence through nn.LSTM and nn.Linear: the written-out cell must agree.
        x = torch.tensor([ids])
        inp = embed_m(x) if embed_m is not None else F.one_hot(x, len(chars)).float()
        y, (h_n, c_n) = lstm_m(inp if lstm_m.batch_first else inp.transpose(0, 1))
        y = y if lstm_m.batch_first else y.transpose(0, 1)
        module_logits = head_m(y)[0]
        assert torch.allclose(h_n[:, 0], torch.stack([s[0] for s in state]), atol=1e-5), "cell disagrees with nn.LSTM"
        assert torch.allclose(c_n[:, 0], torch.stack([s[1] for s in state]), atol=1e-5), "cell disagrees with nn.LSTM"
        greedy = module_logits.argmax(-1).tolist()
        assert greedy[len(a.prompt) - 1:-1] == ids[len(a.prompt):], "greedy text differs from the modules' argmax"
    text = "".join(chars[i] for i in ids)
    with open(os.path.join(a.out, "expected.json"), "w") as f:
        json.dump({"text": text, "steps": steps}, f)
    with open(os.path.join(a.out, "vocab"), "w", encoding="utf-8") as f:
        f.write(json.dumps(chars) if a.style == "fc" else a.text)


if __name__ == "__main__":
    main()
