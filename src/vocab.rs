//! Characters <-> ids. A vocabulary is a list of distinct Unicode scalar values
//! in index order; training builds it as Python's `sorted(set(text))` would.

use anyhow::{bail, Result};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Vocab {
    chars: Vec<char>,
    ids: HashMap<char, i64>,
}

impl Vocab {
    /// Build from characters in index order; refuses duplicates and an empty list.
    pub fn new(chars: Vec<char>) -> Result<Self> {
        if chars.is_empty() {
            bail!("vocabulary is empty");
        }
        let mut ids = HashMap::with_capacity(chars.len());
        for (i, &c) in chars.iter().enumerate() {
            if ids.insert(c, i as i64).is_some() {
                bail!("vocabulary lists {} twice", escape_char(c));
            }
        }
        Ok(Self { chars, ids })
    }

    /// The sorted distinct characters of `text` (Python's `sorted(set(text))`).
    pub fn from_text(text: &str) -> Result<Self> {
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        Self::new(chars)
    }

    /// Parse the checkpoint's `vocab` metadata: a JSON array of one-character strings.
    pub fn from_json(json: &str) -> Result<Self> {
        let entries: Vec<String> = serde_json::from_str(json)
            .map_err(|e| anyhow::anyhow!("metadata 'vocab' is not a JSON array of strings ({e})"))?;
        let mut chars = Vec::with_capacity(entries.len());
        for (i, s) in entries.iter().enumerate() {
            let mut it = s.chars();
            match (it.next(), it.next()) {
                (Some(c), None) => chars.push(c),
                _ => bail!("metadata 'vocab' entry {i} ({s:?}) is not exactly one character"),
            }
        }
        Self::new(chars).map_err(|e| anyhow::anyhow!("metadata 'vocab': {e}"))
    }

    pub fn to_json(&self) -> String {
        let strings: Vec<String> = self.chars.iter().map(|c| c.to_string()).collect();
        serde_json::to_string(&strings).expect("strings serialize")
    }

    pub fn len(&self) -> usize {
        self.chars.len()
    }

    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    pub fn id(&self, c: char) -> Option<i64> {
        self.ids.get(&c).copied()
    }

    pub fn char(&self, id: usize) -> char {
        self.chars[id]
    }

    pub fn contains(&self, c: char) -> bool {
        self.ids.contains_key(&c)
    }

    /// Characters of `text` the model cannot read, each once, in order of appearance.
    pub fn unknown_chars(&self, text: &str) -> Vec<char> {
        let mut seen = Vec::new();
        for c in text.chars() {
            if !self.contains(c) && !seen.contains(&c) {
                seen.push(c);
            }
        }
        seen
    }

    /// Encode text, or fail naming every character that is not in the vocabulary
    /// (the message reads on after "the prompt has " or "the text has ").
    pub fn encode(&self, text: &str) -> Result<Vec<i64>> {
        let unknown = self.unknown_chars(text);
        if !unknown.is_empty() {
            let names: Vec<String> = unknown.iter().map(|&c| escape_char(c)).collect();
            bail!(
                "{} not in the model's vocabulary: {}",
                if unknown.len() == 1 { "a character" } else { "characters" },
                names.join(", ")
            );
        }
        Ok(text.chars().map(|c| self.ids[&c]).collect())
    }
}

/// A character as a person can read it in an error or a listing: printable
/// characters quoted, the rest as escapes with their code point.
pub fn escape_char(c: char) -> String {
    match c {
        '\n' => "'\\n'".into(),
        '\t' => "'\\t'".into(),
        '\r' => "'\\r'".into(),
        ' ' => "' '".into(),
        c if c.is_control() => format!("U+{:04X}", c as u32),
        c => format!("'{c}' (U+{:04X})", c as u32),
    }
}

/// A character quoted for a listing: 'a', '\n', or U+001B for other controls.
pub fn quoted_char(c: char) -> String {
    match c {
        '\n' => "'\\n'".into(),
        '\t' => "'\\t'".into(),
        '\r' => "'\\r'".into(),
        c if c.is_control() => format!("U+{:04X}", c as u32),
        c => format!("'{c}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_text_sorts_by_scalar_value_like_python() {
        let v = Vocab::from_text("ba\u{e9}a\n—").unwrap();
        assert_eq!(v.chars(), &['\n', 'a', 'b', '\u{e9}', '—']);
    }

    #[test]
    fn encode_names_every_unknown_character() {
        let v = Vocab::from_text("abc").unwrap();
        let err = v.encode("abxzx").unwrap_err().to_string();
        assert!(err.contains("'x'") && err.contains("'z'"), "{err}");
    }

    #[test]
    fn json_rejects_duplicates_and_multichar_entries() {
        assert!(Vocab::from_json(r#"["a","a"]"#).unwrap_err().to_string().contains("twice"));
        assert!(Vocab::from_json(r#"["ab"]"#).is_err());
        assert!(Vocab::from_json(r#"[]"#).is_err());
        assert!(Vocab::from_json("not json").is_err());
    }
}
