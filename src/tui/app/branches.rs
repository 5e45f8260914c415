//! The branch tree of a run: plain data. Each branch holds the steps of its
//! whole text (the prompt's first), shared with its parent up to its branch
//! point through the same `Arc`s where they were the same steps. A branch
//! with parent P and `at = a` has P's text up to step a and then its own: it
//! replaced the character at a + 1. The first branch (the root) has no
//! parent and is never dropped.
//!
//! Memory is bounded: at most `MAX_BRANCHES` branches, and at most a given
//! number of distinct steps over all of them (the history ring's capacity);
//! past either, the oldest branches are dropped, never the root nor the one
//! on screen, and a dropped branch's children hang from its parent at its
//! branch point, which is where their text leaves the parent's.

use crate::generate::Step;
use serde::Serialize;
use std::collections::HashSet;
use std::sync::Arc;

/// The most branches a tree keeps.
pub const MAX_BRANCHES: usize = 64;

#[derive(Debug, Clone)]
pub struct Branch {
    /// Never reused within a tree.
    pub id: usize,
    pub parent: Option<usize>,
    /// The step of the parent's text after which this branch's own text
    /// starts (None for the root).
    pub at: Option<usize>,
    /// The whole text's steps, in step order (a long run's ring may have
    /// dropped the first ones: steps are found by their `t`).
    pub steps: Vec<Arc<Step>>,
}

/// Where the text on screen has alternatives: after step `at`, the
/// branches `members` (the one going on past `at` first, then the ones
/// that replaced step `at + 1`, oldest first); `on` is the index of the one
/// the text on screen follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    pub at: usize,
    pub members: Vec<usize>,
    pub on: usize,
}

#[derive(Debug, Clone)]
pub struct Tree {
    /// The prompt the root was generated from.
    pub prompt: String,
    /// In creation order: the oldest first, the root at 0.
    branches: Vec<Branch>,
    next_id: usize,
    /// The branch on screen.
    pub shown: usize,
}

impl Tree {
    /// A tree of one branch, the root (id 0), with `steps`.
    pub fn new(prompt: String, steps: Vec<Arc<Step>>) -> Self {
        Self { prompt, branches: vec![Branch { id: 0, parent: None, at: None, steps }], next_id: 1, shown: 0 }
    }

    pub fn branches(&self) -> &[Branch] {
        &self.branches
    }

    pub fn len(&self) -> usize {
        self.branches.len()
    }

    pub fn is_empty(&self) -> bool {
        self.branches.is_empty()
    }

    pub fn get(&self, id: usize) -> Option<&Branch> {
        self.branches.iter().find(|b| b.id == id)
    }

    fn get_mut(&mut self, id: usize) -> Option<&mut Branch> {
        self.branches.iter_mut().find(|b| b.id == id)
    }

    /// The branch's steps (empty for an unknown id).
    pub fn steps(&self, id: usize) -> &[Arc<Step>] {
        self.get(id).map_or(&[], |b| &b.steps)
    }

    /// Replace the steps of branch `id` (what the run on screen has read).
    pub fn set_steps(&mut self, id: usize, steps: Vec<Arc<Step>>) {
        if let Some(b) = self.get_mut(id) {
            b.steps = steps;
        }
    }

    /// The branch's text, from its first kept step.
    pub fn text(&self, id: usize) -> String {
        self.steps(id).iter().map(|s| s.ch).collect()
    }

    /// The ids from the root down to `id`.
    pub fn path(&self, id: usize) -> Vec<usize> {
        let mut path = Vec::new();
        let mut at = self.get(id).map(|b| b.id);
        while let Some(x) = at {
            path.push(x);
            at = self.get(x).and_then(|b| b.parent);
        }
        path.reverse();
        path
    }

    fn children(&self, id: usize) -> impl Iterator<Item = &Branch> {
        self.branches.iter().filter(move |b| b.parent == Some(id))
    }

    /// A new, empty branch that replaces the character after step `t` of
    /// the text on screen, which becomes the one shown; returns its id. Its
    /// parent is the branch on screen's ancestor (or itself) whose own text
    /// holds step t + 1, so that every branch point has one parent: a
    /// branch at the same step as the one on screen is its sibling.
    pub fn add(&mut self, t: usize) -> usize {
        let path = self.path(self.shown);
        let parent =
            path.iter().rev().copied().find(|&x| self.get(x).is_some_and(|b| b.at.is_none_or(|a| a < t))).unwrap_or(0);
        let id = self.next_id;
        self.next_id += 1;
        self.branches.push(Branch { id, parent: Some(parent), at: Some(t), steps: Vec::new() });
        self.shown = id;
        id
    }

    /// The branch points along the text on screen, in step order. Each step
    /// is a branch point at most once: a branch always leaves its parent
    /// after its parent's own branch point.
    pub fn points(&self) -> Vec<Point> {
        let path = self.path(self.shown);
        let mut out = Vec::new();
        for (k, &x) in path.iter().enumerate() {
            let next = path.get(k + 1).copied();
            let leave = next.and_then(|n| self.get(n)).and_then(|b| b.at);
            let mut ats: Vec<usize> =
                self.children(x).filter_map(|c| c.at).filter(|&a| leave.is_none_or(|l| a <= l)).collect();
            ats.sort_unstable();
            ats.dedup();
            for a in ats {
                let mut members = vec![x];
                members.extend(self.children(x).filter(|c| c.at == Some(a)).map(|c| c.id));
                let follows = if Some(a) == leave { next.unwrap_or(x) } else { x };
                let on = members.iter().position(|&m| m == follows).unwrap_or(0);
                out.push(Point { at: a, members, on });
            }
        }
        out.sort_by_key(|p| p.at);
        out
    }

    /// The branch point nearest step `t` (the earlier of two as near).
    pub fn point_near(&self, t: usize) -> Option<Point> {
        self.points().into_iter().min_by_key(|p| p.at.abs_diff(t))
    }

    /// The sibling `by` places from the one on screen (wrapping) at the
    /// branch point nearest step `t`, and that point's step.
    pub fn sibling(&self, t: usize, by: i32) -> Option<(usize, usize)> {
        let p = self.point_near(t)?;
        let n = p.members.len() as i64;
        let k = (p.on as i64 + by as i64).rem_euclid(n) as usize;
        Some((p.members[k], p.at))
    }

    /// Distinct steps held over every branch.
    pub fn distinct_steps(&self) -> usize {
        let mut seen: HashSet<*const Step> = HashSet::new();
        for b in &self.branches {
            seen.extend(b.steps.iter().map(Arc::as_ptr));
        }
        seen.len()
    }

    /// Drop the oldest branches (never the root nor the one on screen)
    /// while there are more than `MAX_BRANCHES` or more than `max_steps`
    /// distinct steps. Returns how many were dropped.
    pub fn trim(&mut self, max_steps: usize) -> usize {
        let mut dropped = 0;
        while self.branches.len() > MAX_BRANCHES || self.distinct_steps() > max_steps {
            let Some(k) = self.branches.iter().position(|b| b.parent.is_some() && b.id != self.shown) else {
                break;
            };
            let gone = self.branches.remove(k);
            for c in self.branches.iter_mut().filter(|c| c.parent == Some(gone.id)) {
                // The child's text leaves the dropped branch after `gone.at`
                // or earlier, so it leaves the grandparent there too.
                c.parent = gone.parent;
                c.at = match (c.at, gone.at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            dropped += 1;
        }
        dropped
    }

    /// The tree file (`NAME.tree.json`): the prompt, and per branch its id,
    /// parent, branch point and its own text (the root's: after the prompt).
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct File<'a> {
            prompt: &'a str,
            branches: Vec<Entry>,
        }
        #[derive(Serialize)]
        struct Entry {
            id: usize,
            parent: Option<usize>,
            at: Option<usize>,
            text: String,
        }
        let plen = self.prompt.chars().count();
        let branches = self
            .branches
            .iter()
            .map(|b| {
                let from = b.at.map_or(plen, |a| a + 1);
                let text = b.steps.iter().filter(|s| s.t >= from).map(|s| s.ch).collect();
                Entry { id: b.id, parent: b.parent, at: b.at, text }
            })
            .collect();
        serde_json::to_string(&File { prompt: &self.prompt, branches }).expect("a tree serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(text: &str, plen: usize) -> Vec<Arc<Step>> {
        text.chars()
            .enumerate()
            .map(|(t, ch)| {
                Arc::new(Step { t, ch, is_prompt: t < plen, prob: None, layers: Vec::new(), top: Vec::new() })
            })
            .collect()
    }

    /// `parent`'s steps up to `at` (the same Arcs), then `own` from `at + 1`.
    fn branch_steps(tree: &Tree, parent: usize, at: usize, own: &str) -> Vec<Arc<Step>> {
        let mut s: Vec<Arc<Step>> = tree.steps(parent)[..=at].to_vec();
        s.extend(own.chars().enumerate().map(|(k, ch)| {
            Arc::new(Step { t: at + 1 + k, ch, is_prompt: false, prob: None, layers: Vec::new(), top: Vec::new() })
        }));
        s
    }

    fn tree() -> Tree {
        Tree::new("ab".into(), steps("abcdefgh", 2))
    }

    #[test]
    fn a_branch_is_a_sibling_of_the_continuation_it_replaced() {
        let mut t = tree();
        let b = t.add(4);
        t.set_steps(b, branch_steps(&t, 0, 4, "XYZ"));
        assert_eq!((t.get(b).unwrap().parent, t.get(b).unwrap().at), (Some(0), Some(4)));
        assert_eq!(t.text(b), "abcdeXYZ");
        assert_eq!(t.points(), vec![Point { at: 4, members: vec![0, b], on: 1 }]);
        assert_eq!(t.sibling(4, 1), Some((0, 4)), "wraps");
        assert_eq!(t.sibling(4, -1), Some((0, 4)));
        t.shown = 0;
        assert_eq!(t.points(), vec![Point { at: 4, members: vec![0, b], on: 0 }], "the root's text has the point too");
        // Branching again at the same step from the branch gives a third sibling.
        t.shown = b;
        let c = t.add(4);
        assert_eq!(t.get(c).unwrap().parent, Some(0));
        assert_eq!(t.points(), vec![Point { at: 4, members: vec![0, b, c], on: 2 }]);
        assert_eq!(t.sibling(0, 1), Some((0, 4)), "the nearest point, wrapping");
    }

    #[test]
    fn points_follow_the_text_on_screen() {
        let mut t = tree();
        let b = t.add(3); // leaves the root after d
        t.set_steps(b, branch_steps(&t, 0, 3, "pqrs"));
        let c = t.add(6); // leaves b after its q... at step 6 (r)
        t.set_steps(c, branch_steps(&t, b, 6, "zz"));
        assert_eq!(t.get(c).unwrap().parent, Some(b));
        t.shown = 0;
        let d = t.add(6); // the root's own text at 6: another point, off the root
        assert_eq!(t.get(d).unwrap().parent, Some(0));
        t.shown = c;
        // On c's text: the root's point at 3 (c's path goes through b) and
        // b's at 6; the root's point at 6 is not on c's text.
        assert_eq!(
            t.points(),
            vec![Point { at: 3, members: vec![0, b], on: 1 }, Point { at: 6, members: vec![b, c], on: 1 }]
        );
        assert_eq!(t.point_near(0).unwrap().at, 3);
        assert_eq!(t.point_near(100).unwrap().at, 6);
        t.shown = 0;
        assert_eq!(
            t.points(),
            vec![Point { at: 3, members: vec![0, b], on: 0 }, Point { at: 6, members: vec![0, d], on: 0 }]
        );
        assert_eq!(t.path(c), vec![0, b, c]);
    }

    #[test]
    fn memory_is_bounded_and_dropping_keeps_the_text_of_every_branch() {
        let mut t = tree();
        let b = t.add(3);
        t.set_steps(b, branch_steps(&t, 0, 3, "pqrs"));
        let c = t.add(5);
        t.set_steps(c, branch_steps(&t, b, 5, "zz"));
        let texts: Vec<String> = [0, b, c].iter().map(|&x| t.text(x)).collect();
        // root 8 + b's own 4 + c's own 2.
        assert_eq!(t.distinct_steps(), 14);
        t.shown = 0;
        assert_eq!(t.trim(14), 0);
        // Over budget: the oldest branch that is not the root nor shown (b)
        // goes; c hangs from the root where its text leaves it.
        assert_eq!(t.trim(13), 1);
        assert!(t.get(b).is_none());
        let cb = t.get(c).unwrap();
        assert_eq!((cb.parent, cb.at), (Some(0), Some(3)));
        assert_eq!(t.text(c), texts[2], "its steps are its own");
        assert_eq!(t.text(0), texts[0]);
        let json: serde_json::Value = serde_json::from_str(&t.to_json()).unwrap();
        assert_eq!(json["branches"][1]["text"], "pqzz");
        // Never the root nor the one on screen, however small the budget.
        t.shown = c;
        t.trim(0);
        assert_eq!(t.len(), 2);
        // The count cap.
        let mut t = tree();
        for _ in 0..MAX_BRANCHES + 10 {
            t.shown = 0;
            t.add(2);
        }
        t.trim(usize::MAX);
        assert_eq!(t.len(), MAX_BRANCHES);
        assert!(t.get(0).is_some() && t.get(t.shown).is_some());
        // 75 branches: the 11 oldest after the root (1 to 11) went.
        assert_eq!(t.branches()[1].id, 12, "the oldest went first");
    }

    #[test]
    fn the_tree_file_has_the_issues_form() {
        let mut t = tree();
        let b = t.add(4);
        t.set_steps(b, branch_steps(&t, 0, 4, "XY\"\n"));
        let c = t.add(0); // inside the prompt
        t.set_steps(c, branch_steps(&t, 0, 0, "Q"));
        assert_eq!(
            t.to_json(),
            r#"{"prompt":"ab","branches":[{"id":0,"parent":null,"at":null,"text":"cdefgh"},{"id":1,"parent":0,"at":4,"text":"XY\"\n"},{"id":2,"parent":0,"at":0,"text":"Q"}]}"#
        );
    }
}
