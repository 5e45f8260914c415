//! An answer the worker computes for what is on screen (the explain panel's
//! explanation, the attribution colouring's attributions): the request sent
//! last and the newest answer, each with the key that says what it is of.
//! The app asks from `tick` whenever the key changes; the newest request
//! replaces one not yet answered, so an answer to any other is stale.

#[derive(Debug)]
pub struct Asked<K, A> {
    /// The request sent last, and its id.
    sent: Option<(u64, K)>,
    last_id: u64,
    /// The newest answer, and what it answers.
    answer: Option<(K, Result<A, String>)>,
}

impl<K, A> Default for Asked<K, A> {
    fn default() -> Self {
        Self { sent: None, last_id: 0, answer: None }
    }
}

impl<K: Copy + PartialEq, A> Asked<K, A> {
    /// The answer for `key`, if it has come (an error is one line).
    pub fn get(&self, key: K) -> Option<&Result<A, String>> {
        self.answer.as_ref().filter(|(k, _)| *k == key).map(|(_, r)| r)
    }

    /// The newest answer, whatever it is of (a panel may show it while the
    /// answer for the key it needs is computed).
    pub fn newest(&self) -> Option<(&K, &Result<A, String>)> {
        self.answer.as_ref().map(|(k, r)| (k, r))
    }

    /// Whether `key` is neither answered nor asked for.
    pub fn owed(&self, key: K) -> bool {
        self.sent.is_none_or(|(_, k)| k != key) && self.answer.as_ref().is_none_or(|(k, _)| *k != key)
    }

    /// A new request for `key`: its id.
    pub fn ask(&mut self, key: K) -> u64 {
        self.last_id += 1;
        self.sent = Some((self.last_id, key));
        self.last_id
    }

    /// The worker's answer to request `id`: kept if it is the newest asked.
    pub fn answered(&mut self, id: u64, result: Result<A, String>) {
        if let Some((sent, key)) = self.sent {
            if sent == id {
                self.answer = Some((key, result));
                self.sent = None;
            }
        }
    }

    /// The worker dropped request `id` unanswered: the key is owed again.
    pub fn dropped(&mut self, id: u64) {
        if self.sent.is_some_and(|(sent, _)| sent == id) {
            self.sent = None;
        }
    }
}
