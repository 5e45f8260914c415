//! The worker's prompt cache: the last prompt read in full, its steps and the
//! generator's state along it, so that the next request, typically the same
//! prompt with a character more, reads only what changed.

use crate::generate::{Mark, Step};
use crate::model::Intervention;
use std::sync::Arc;

/// Prompts longer than this are not cached (2,048 steps of a 2x512 model
/// hold about 40 MB).
pub(super) const PROMPT_CACHE_MAX: usize = 2048;

/// A cached prompt keeps the generator's state (a `Mark`) after every this
/// many characters, so an edit anywhere re-reads only from the last mark at
/// or before its first changed character: at most 63 characters, about a
/// sixteenth of a 1,000-character prompt.
///
/// A mark is h and c of every layer and the logits: (2·layers·hidden +
/// vocab)·4 bytes, 8,452 bytes for a 2x512 model with 65 characters. A
/// 100,000-character prompt would need 1,562 of them, 13.2 MB; but marks are
/// only useful beside the cached steps (an edit sends the steps before the
/// mark again), so they are kept only for prompts the cache holds: at most
/// `PROMPT_CACHE_MAX / SNAPSHOT_EVERY` = 32 marks, 270 KB for that model,
/// next to the 40 MB of its steps.
pub const SNAPSHOT_EVERY: usize = 64;

/// The last prompt read in full, its steps, and where the generator stood
/// after it and after every `SNAPSHOT_EVERY` characters. Typing at the end of
/// the prompt is the common edit: the next request then reads only the new
/// characters. Any other edit reads from the last mark before it.
pub(super) struct PromptCache {
    pub chars: Vec<char>,
    pub steps: Vec<Arc<Step>>,
    pub after: Mark,
    /// `marks[j]`: after the first `(j + 1) * every` characters.
    pub marks: Vec<Mark>,
    pub every: usize,
    /// The interventions that covered a step of `chars` when it was read: the
    /// cache serves a request only under the same ones (the others leave the
    /// prompt's steps as they are).
    pub covering: Vec<Intervention>,
}

/// The interventions of `list` that cover a step of a prompt of `len` characters.
pub(super) fn covering_prompt(list: &[Intervention], len: usize) -> Vec<Intervention> {
    list.iter().filter(|iv| iv.span.is_some_and(|s| s.start < len)).copied().collect()
}

impl PromptCache {
    /// How many of `prompt`'s first characters this cache serves under
    /// `interventions`, and the mark after them: the whole cached prompt when
    /// `prompt` starts with it, else up to the last mark at or before the
    /// first character that differs. Only as far as the same interventions
    /// covered those characters, in the same order, when they were read (the
    /// others did not touch them): an intervention newly covering the prompt
    /// from step A leaves the marks up to A usable.
    pub(super) fn serves(&self, prompt: &[char], interventions: &[Intervention]) -> Option<(usize, &Mark)> {
        let same = self.chars.iter().zip(prompt).take_while(|(a, b)| a == b).count();
        let unchanged = |len: usize| covering_prompt(interventions, len) == covering_prompt(&self.covering, len);
        if same == self.chars.len() && same > 0 && unchanged(same) {
            return Some((same, &self.after));
        }
        (1..=same / self.every).rev().find_map(|n| {
            let len = n * self.every;
            self.marks.get(n - 1).filter(|_| unchanged(len)).map(|m| (len, m))
        })
    }
}
