//! Finding the character LSTM in a state_dict whatever its modules are
//! called: the LSTM is the prefix P with `P.weight_ih_l0` and
//! `P.weight_hh_l0`; the head a `[vocab, hidden]` weight beside a `[vocab]`
//! bias; the embedding a `[vocab, input]` matrix (or none: one-hot input).
//! `--map lstm=P,embed=E,head=H` settles what the shapes cannot.

use anyhow::{anyhow, bail, Result};
use std::fmt;
use std::str::FromStr;

/// Module names given by hand (`--map lstm=rnn,embed=encoder,head=decoder`).
/// `embed=none` says the input is one-hot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameMap {
    pub lstm: Option<String>,
    pub embed: Option<String>,
    pub head: Option<String>,
}

impl NameMap {
    pub fn is_empty(&self) -> bool {
        self == &NameMap::default()
    }
}

impl FromStr for NameMap {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        let mut m = NameMap::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| anyhow!("--map: '{part}' is not KEY=NAME (keys: lstm, embed, head)"))?;
            // An empty name is the top level (tensors named `weight_ih_l0`, ...).
            let value = value.trim();
            let slot = match key.trim() {
                "lstm" => &mut m.lstm,
                "embed" => &mut m.embed,
                "head" => &mut m.head,
                other => bail!("--map: unknown key '{other}'; expected lstm, embed or head"),
            };
            if slot.replace(value.to_string()).is_some() {
                bail!("--map: '{}' is given twice", key.trim());
            }
        }
        Ok(m)
    }
}

/// What the state_dict holds, by the names it uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The LSTM's prefix ("" when its tensors sit at the top level).
    pub lstm: String,
    pub layers: usize,
    pub hidden: usize,
    /// weight_ih_l0's columns: the embedding width, or the vocabulary for one-hot.
    pub input: usize,
    /// False for `nn.LSTM(bias=False)`: the biases are then zero.
    pub lstm_bias: bool,
    /// The embedding matrix's tensor name; None for one-hot input.
    pub embed: Option<String>,
    pub head_weight: String,
    pub head_bias: String,
    /// The head's rows: the vocabulary size the model was built for.
    pub vocab: usize,
    /// Tensors of the file that are not part of embed -> LSTM -> head.
    pub ignored: Vec<String>,
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn module_of(name: &str) -> &str {
    name.rsplit_once('.').map(|(m, _)| m).unwrap_or("")
}

fn shown(prefix: &str) -> String {
    if prefix.is_empty() {
        "(top level)".into()
    } else {
        format!("'{prefix}'")
    }
}

impl Found {
    /// The LSTM's four tensor names of layer k in this file.
    pub fn layer_names(&self, k: usize) -> [String; 4] {
        ["weight_ih", "weight_hh", "bias_ih", "bias_hh"].map(|p| join(&self.lstm, &format!("{p}_l{k}")))
    }

    /// A `--map` value that finds the same modules again.
    pub fn as_map(&self) -> String {
        let embed = self.embed.as_deref().map(|e| e.strip_suffix(".weight").unwrap_or(e)).unwrap_or("none");
        format!("lstm={},embed={embed},head={}", self.lstm, module_of(&self.head_weight))
    }
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lstm {} ({} layers x {} hidden, input {}", shown(&self.lstm), self.layers, self.hidden, self.input)?;
        write!(f, "{}), ", if self.lstm_bias { "" } else { ", no biases" })?;
        match &self.embed {
            Some(e) => write!(f, "embedding '{e}' [{}, {}], ", self.vocab, self.input)?,
            None => write!(f, "one-hot input over {}, ", self.vocab)?,
        }
        write!(f, "head '{}' [{}, {}] + '{}'", self.head_weight, self.vocab, self.hidden, self.head_bias)
    }
}

/// Locate embed -> LSTM -> head among `tensors` (name, shape), in file order.
pub fn find(tensors: &[(String, Vec<usize>)], map: &NameMap) -> Result<Found> {
    let shape = |n: &str| tensors.iter().find(|(name, _)| name == n).map(|(_, s)| s.clone());
    let has = |n: &str| shape(n).is_some();

    // The LSTM.
    let candidates: Vec<String> = match &map.lstm {
        Some(p) => {
            if !has(&join(p, "weight_ih_l0")) {
                let all: Vec<String> = lstm_prefixes(tensors).iter().map(|p| shown(p)).collect();
                bail!(
                    "--map lstm={p}: no tensor '{}'; LSTMs found: {}",
                    join(p, "weight_ih_l0"),
                    if all.is_empty() { "none".into() } else { all.join(", ") }
                );
            }
            vec![p.clone()]
        }
        None => lstm_prefixes(tensors),
    };
    let lstm = match candidates.as_slice() {
        [one] => one.clone(),
        [] => {
            let listed: Vec<String> = tensors.iter().take(8).map(|(n, s)| format!("{n} {s:?}")).collect();
            bail!(
                "no LSTM found: no tensors P.weight_ih_l0 and P.weight_hh_l0 (found {} tensors: {}{})",
                tensors.len(),
                listed.join(", "),
                if tensors.len() > 8 { ", ..." } else { "" }
            );
        }
        many => {
            let names: Vec<String> = many.iter().map(|p| shown(p)).collect();
            bail!("found {} LSTMs ({}); choose one with --map lstm=NAME", many.len(), names.join(", "));
        }
    };
    for (bad, what) in [("weight_ih_l0_reverse", "bidirectional"), ("weight_hr_l0", "projected (proj_size)")] {
        if has(&join(&lstm, bad)) {
            bail!(
                "lstm {} is {what} ('{}'); gatescope reads one-direction LSTMs without projection",
                shown(&lstm),
                join(&lstm, bad)
            );
        }
    }
    let w_hh = shape(&join(&lstm, "weight_hh_l0")).unwrap_or_default();
    let hidden = match w_hh.as_slice() {
        [rows, h] if *h > 0 && *rows == 4 * h => *h,
        [rows, h] if *h > 0 && (*rows == 3 * h || rows == h) => bail!(
            "'{}' has shape {w_hh:?}: {} rows per unit, a {} rather than an LSTM (4 gates)",
            join(&lstm, "weight_hh_l0"),
            rows / h,
            if *rows == 3 * h { "GRU" } else { "plain RNN" }
        ),
        _ => bail!("'{}' has shape {w_hh:?}; expected [4*hidden, hidden]", join(&lstm, "weight_hh_l0")),
    };
    let layers = (0..).take_while(|k| has(&join(&lstm, &format!("weight_ih_l{k}")))).count();
    let input = shape(&join(&lstm, "weight_ih_l0")).and_then(|s| s.get(1).copied()).unwrap_or(0);
    let lstm_bias = has(&join(&lstm, "bias_ih_l0"));
    let mut part_of_lstm: Vec<String> = Vec::new();
    for k in 0..layers {
        let names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"].map(|p| join(&lstm, &format!("{p}_l{k}")));
        let width = if k == 0 { input } else { hidden };
        let want = [vec![4 * hidden, width], vec![4 * hidden, hidden], vec![4 * hidden], vec![4 * hidden]];
        for (i, (name, want)) in names.iter().zip(want).enumerate() {
            match shape(name) {
                Some(got) if got == want => part_of_lstm.push(name.clone()),
                Some(got) => bail!("tensor '{name}' has shape {got:?}; expected {want:?}"),
                None if i >= 2 && !lstm_bias => {}
                None => bail!("lstm {}: tensor '{name}' is missing", shown(&lstm)),
            }
        }
    }
    if input == 0 {
        bail!("tensor '{}' has no columns", join(&lstm, "weight_ih_l0"));
    }
    let found_lstm = format!("lstm {} ({layers} layers x {hidden} hidden, input {input})", shown(&lstm));

    // The head: a [V, hidden] weight whose module also has a [V] bias.
    let heads: Vec<(String, String, usize)> = match &map.head {
        Some(h) => {
            let (w, b) = (join(h, "weight"), join(h, "bias"));
            match (shape(&w), shape(&b)) {
                (Some(ws), Some(bs)) if ws.len() == 2 && ws[1] == hidden && bs == [ws[0]] => vec![(w, b, ws[0])],
                (ws, bs) => bail!(
                    "--map head={h}: expected '{w}' [vocab, {hidden}] and '{b}' [vocab]; found {} and {}; {found_lstm}",
                    ws.map(|s| format!("{s:?}")).unwrap_or_else(|| "no weight".into()),
                    bs.map(|s| format!("{s:?}")).unwrap_or_else(|| "no bias".into())
                ),
            }
        }
        None => tensors
            .iter()
            .filter(|(n, s)| !part_of_lstm.contains(n) && s.len() == 2 && s[1] == hidden)
            .filter(|(n, _)| n == "weight" || n.ends_with(".weight"))
            .filter_map(|(n, s)| {
                let b = join(module_of(n), "bias");
                (shape(&b)? == [s[0]]).then(|| (n.clone(), b, s[0]))
            })
            .collect(),
    };
    let (head_weight, head_bias, vocab) = match heads.as_slice() {
        [one] => one.clone(),
        [] => bail!("{found_lstm}; missing: a head (a [vocab, {hidden}] weight with a [vocab] bias); name it with --map head=NAME"),
        many => {
            let names: Vec<String> = many.iter().map(|(w, _, v)| format!("'{}' [{v}, {hidden}]", module_of(w))).collect();
            bail!("{found_lstm}; {} possible heads ({}); choose one with --map head=NAME", many.len(), names.join(", "));
        }
    };
    let found_head = format!("head '{head_weight}' [{vocab}, {hidden}]");

    // The embedding: [V, input], or none when the input is one-hot over V.
    let embed = match map.embed.as_deref() {
        Some("none") => {
            if input != vocab {
                bail!(
                    "--map embed=none: one-hot input needs {vocab} columns in the LSTM's first layer; it has {input}"
                );
            }
            None
        }
        Some(e) => {
            let name = if has(e) { e.to_string() } else { join(e, "weight") };
            match shape(&name) {
                Some(s) if s == [vocab, input] => Some(name),
                Some(s) => bail!("--map embed={e}: '{name}' has shape {s:?}; expected [{vocab}, {input}]"),
                None => bail!("--map embed={e}: no tensor '{name}' (or '{e}'); {found_lstm}, {found_head}"),
            }
        }
        None => {
            let embeds: Vec<&String> = tensors
                .iter()
                .filter(|(n, s)| !part_of_lstm.contains(n) && *n != head_weight && *s == [vocab, input])
                .map(|(n, _)| n)
                .collect();
            match embeds.as_slice() {
                [one] => Some(one.to_string()),
                [] if input == vocab => None,
                [] => bail!(
                    "{found_lstm}, {found_head}; missing: an embedding [{vocab}, {input}] (or one-hot input, which needs \
                     input = {vocab}); name it with --map embed=NAME"
                ),
                many => {
                    let names: Vec<String> = many.iter().map(|n| format!("'{n}'")).collect();
                    bail!(
                        "{found_lstm}, {found_head}; {} possible embeddings ({}); choose one with --map embed=NAME (or embed=none)",
                        many.len(),
                        names.join(", ")
                    );
                }
            }
        }
    };
    let used: Vec<&String> = part_of_lstm.iter().chain([&head_weight, &head_bias]).chain(embed.as_ref()).collect();
    let ignored = tensors.iter().map(|(n, _)| n).filter(|n| !used.contains(n)).cloned().collect();
    Ok(Found { lstm, layers, hidden, input, lstm_bias, embed, head_weight, head_bias, vocab, ignored })
}

/// Every prefix P with P.weight_ih_l0 and P.weight_hh_l0, in file order.
fn lstm_prefixes(tensors: &[(String, Vec<usize>)]) -> Vec<String> {
    tensors
        .iter()
        .filter_map(|(n, _)| {
            let p = if n == "weight_ih_l0" { "" } else { n.strip_suffix(".weight_ih_l0")? };
            tensors.iter().any(|(m, _)| *m == join(p, "weight_hh_l0")).then(|| p.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lstm(prefix: &str, input: usize, hidden: usize, layers: usize) -> Vec<(String, Vec<usize>)> {
        let mut v = Vec::new();
        for k in 0..layers {
            let w = if k == 0 { input } else { hidden };
            v.push((join(prefix, &format!("weight_ih_l{k}")), vec![4 * hidden, w]));
            v.push((join(prefix, &format!("weight_hh_l{k}")), vec![4 * hidden, hidden]));
            v.push((join(prefix, &format!("bias_ih_l{k}")), vec![4 * hidden]));
            v.push((join(prefix, &format!("bias_hh_l{k}")), vec![4 * hidden]));
        }
        v
    }

    #[test]
    fn finds_encoder_rnn_decoder_and_one_hot() {
        let mut t = vec![("encoder.weight".to_string(), vec![30, 8])];
        t.extend(lstm("rnn", 8, 16, 2));
        t.push(("decoder.weight".into(), vec![30, 16]));
        t.push(("decoder.bias".into(), vec![30]));
        let f = find(&t, &NameMap::default()).unwrap();
        assert_eq!((f.lstm.as_str(), f.layers, f.hidden, f.vocab), ("rnn", 2, 16, 30));
        assert_eq!(f.embed.as_deref(), Some("encoder.weight"));
        assert_eq!(f.as_map(), "lstm=rnn,embed=encoder,head=decoder");

        let mut t = lstm("", 30, 16, 1);
        t.push(("out.weight".into(), vec![30, 16]));
        t.push(("out.bias".into(), vec![30]));
        let f = find(&t, &NameMap::default()).unwrap();
        assert_eq!((f.lstm.as_str(), f.embed.clone()), ("", None));
    }

    #[test]
    fn ambiguity_is_named_and_settled_by_the_map() {
        let mut t = lstm("rnn", 8, 16, 1);
        for h in ["fc", "aux"] {
            t.push((format!("{h}.weight"), vec![30, 16]));
            t.push((format!("{h}.bias"), vec![30]));
        }
        t.push(("emb.weight".into(), vec![30, 8]));
        let err = find(&t, &NameMap::default()).unwrap_err().to_string();
        assert!(err.contains("2 possible heads") && err.contains("'fc'") && err.contains("'aux'"), "{err}");
        let f = find(&t, &"head=aux".parse().unwrap()).unwrap();
        assert_eq!(f.head_weight, "aux.weight");
        assert_eq!(f.ignored, vec!["fc.weight".to_string(), "fc.bias".to_string()]);
    }

    #[test]
    fn bidirectional_gru_and_bad_maps_are_refused_by_name() {
        let mut t = lstm("rnn", 8, 16, 1);
        t.push(("rnn.weight_ih_l0_reverse".into(), vec![64, 8]));
        assert!(find(&t, &NameMap::default()).unwrap_err().to_string().contains("bidirectional"));
        let gru = vec![("g.weight_ih_l0".to_string(), vec![48, 8]), ("g.weight_hh_l0".to_string(), vec![48, 16])];
        assert!(find(&gru, &NameMap::default()).unwrap_err().to_string().contains("GRU"));
        assert!("lstm=a,lstm=b".parse::<NameMap>().unwrap_err().to_string().contains("twice"));
        assert!("rnn=a".parse::<NameMap>().unwrap_err().to_string().contains("unknown key 'rnn'"));
        assert!("lstm".parse::<NameMap>().is_err());
    }
}
