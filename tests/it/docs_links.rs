//! Every relative link in the documents resolves: README.md, GUIDE.md,
//! ARCHITECTURE.md and docs/*.md. A link `[text](target)` or image
//! `![alt](target)` whose target is not http(s) or mailto must name a file
//! that exists (relative to the document), and a `#anchor` (alone, or after
//! a `.md` file) must be a heading of that document, spelled as GitHub spells
//! its anchors: lowercase, spaces to `-`, punctuation dropped, a repeated
//! heading suffixed `-1`, `-2`, ... Links inside code (fenced blocks and
//! backtick spans) are text, not links, and are skipped.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The documents whose links are checked, relative to the crate's root.
fn documents(root: &Path) -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = ["README.md", "GUIDE.md", "ARCHITECTURE.md"].iter().map(PathBuf::from).collect();
    let dir = root.join("docs");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: cannot list ({e})", dir.display()));
    let mut more: Vec<PathBuf> = entries
        .map(|e| e.expect("a readable docs/ entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "md"))
        .map(|p| p.strip_prefix(root).expect("inside the root").to_path_buf())
        .collect();
    more.sort();
    docs.extend(more);
    docs
}

/// The text outside code: fenced blocks become empty lines (so line numbers
/// stay), and backtick spans are blanked within their line.
fn prose_lines(text: &str) -> Vec<String> {
    let mut fence: Option<&str> = None;
    let mut out = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m));
        match (fence, marker) {
            (None, Some(m)) => {
                fence = Some(m);
                out.push(String::new());
            }
            (Some(open), Some(m)) if open == m => {
                fence = None;
                out.push(String::new());
            }
            (Some(_), _) => out.push(String::new()),
            (None, None) => out.push(blank_code_spans(line)),
        }
    }
    out
}

/// `a `[x](y)` b` -> `a        b`: a backtick span (of any run length) is
/// not markdown, so its brackets are no link.
fn blank_code_spans(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&c| c == '`').count();
        // Find the closing run of the same length.
        let mut j = i + run;
        let mut close = None;
        while j < chars.len() {
            if chars[j] == '`' {
                let n = chars[j..].iter().take_while(|&&c| c == '`').count();
                if n == run {
                    close = Some(j);
                    break;
                }
                j += n;
            } else {
                j += 1;
            }
        }
        match close {
            Some(c) => {
                out.extend(std::iter::repeat_n(' ', c + run - i));
                i = c + run;
            }
            None => {
                // An unmatched run is literal text.
                out.extend(&chars[i..i + run]);
                i += run;
            }
        }
    }
    out
}

/// Every `[text](target)` and `![alt](target)` of the prose, as (1-based
/// line, target). The target is the destination without a title.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in prose_lines(text).iter().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i + 1 < chars.len() {
            if !(chars[i] == ']' && chars[i + 1] == '(' && opens_bracket_before(&chars[..i])) {
                i += 1;
                continue;
            }
            // The destination runs to the matching ')' (nested pairs allowed).
            let mut depth = 0usize;
            let mut end = None;
            for (k, &c) in chars.iter().enumerate().skip(i + 2) {
                match c {
                    '(' => depth += 1,
                    ')' if depth == 0 => {
                        end = Some(k);
                        break;
                    }
                    ')' => depth -= 1,
                    _ => {}
                }
            }
            let Some(end) = end else { break };
            let inside: String = chars[i + 2..end].iter().collect();
            let target = inside.split_whitespace().next().unwrap_or("");
            let target = target.trim_start_matches('<').trim_end_matches('>');
            found.push((n + 1, target.to_string()));
            i = end + 1;
        }
    }
    found
}

/// Whether an unmatched `[` stands before the `]` at the end of `before`.
fn opens_bracket_before(before: &[char]) -> bool {
    let mut depth = 0usize;
    for &c in before.iter().rev() {
        match c {
            ']' => depth += 1,
            '[' if depth == 0 => return true,
            '[' => depth -= 1,
            _ => {}
        }
    }
    false
}

/// GitHub's anchor for a heading's text: the rendered text (code spans keep
/// their content, a link keeps its text), lowercase, letters, digits, `-` and
/// `_` kept, spaces to `-`, everything else dropped.
fn slug(heading: &str) -> String {
    let mut text = String::new();
    let chars: Vec<char> = heading.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        // [text](target) -> text
        if chars[i] == ']' && chars.get(i + 1) == Some(&'(') {
            if let Some(close) = chars[i..].iter().position(|&c| c == ')') {
                i += close + 1;
                continue;
            }
        }
        text.push(chars[i]);
        i += 1;
    }
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a document's headings (`#` to `######`, outside code), a
/// repeated one suffixed as GitHub does.
fn anchors(text: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut fence: Option<&str> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(m) = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m)) {
            fence = match fence {
                None => Some(m),
                Some(open) if open == m => None,
                other => other,
            };
            continue;
        }
        if fence.is_some() {
            continue;
        }
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let base = slug(line[hashes..].trim().trim_end_matches('#').trim());
        let mut anchor = base.clone();
        let mut n = 0;
        while seen.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        seen.insert(anchor);
    }
    seen
}

fn is_external(target: &str) -> bool {
    let lower = target.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("mailto:")
}

/// The broken links of the document `doc` (a path relative to `root`) with
/// text `text`, one message each naming the document, line and link.
fn broken_links(root: &Path, doc: &Path, text: &str) -> Vec<String> {
    let dir = doc.parent().unwrap_or(Path::new(""));
    let mut broken = Vec::new();
    for (line, target) in links(text) {
        if is_external(&target) {
            continue;
        }
        let at = format!("{}:{line}: link ({target})", doc.display());
        if target.is_empty() {
            broken.push(format!("{at}: empty target"));
            continue;
        }
        let (file, anchor) = match target.split_once('#') {
            Some((f, a)) => (f, Some(a)),
            None => (target.as_str(), None),
        };
        let linked = if file.is_empty() { doc.to_path_buf() } else { dir.join(file) };
        let full = root.join(&linked);
        if !full.exists() {
            broken.push(format!("{at}: no file {}", linked.display()));
            continue;
        }
        let Some(anchor) = anchor else { continue };
        if full.extension().is_none_or(|x| x != "md") {
            broken.push(format!("{at}: an anchor into {}, which is not a markdown file", linked.display()));
            continue;
        }
        let linked_text = if file.is_empty() {
            text.to_string()
        } else {
            match std::fs::read_to_string(&full) {
                Ok(t) => t,
                Err(e) => {
                    broken.push(format!("{at}: cannot read {} ({e})", linked.display()));
                    continue;
                }
            }
        };
        if !anchors(&linked_text).contains(anchor) {
            broken.push(format!("{at}: no heading with anchor #{anchor} in {}", linked.display()));
        }
    }
    broken
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_relative_link_in_the_documents_resolves() {
    let root = root();
    let mut broken = Vec::new();
    let mut checked = 0;
    for doc in documents(&root) {
        let text =
            std::fs::read_to_string(root.join(&doc)).unwrap_or_else(|e| panic!("{}: cannot read ({e})", doc.display()));
        checked += links(&text).len();
        broken.extend(broken_links(&root, &doc, &text));
    }
    assert!(broken.is_empty(), "{} broken link(s):\n{}", broken.len(), broken.join("\n"));
    // The documents link to each other: finding none means the scan is broken.
    assert!(checked > 20, "only {checked} links found in the documents");
}

#[test]
fn the_front_page_links_every_document() {
    let root = root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let targets: HashSet<String> =
        links(&readme).into_iter().map(|(_, t)| t.split('#').next().unwrap_or("").to_string()).collect();
    for doc in documents(&root).iter().skip(1) {
        let name = doc.to_string_lossy().replace('\\', "/");
        assert!(targets.contains(&name), "README.md does not link {name}");
    }
}

#[test]
fn anchors_are_spelled_as_github_spells_them() {
    assert_eq!(slug("How long `make test` takes"), "how-long-make-test-takes");
    assert_eq!(slug("The default model's catalogue"), "the-default-models-catalogue");
    assert_eq!(slug("default: Shakespeare"), "default-shakespeare");
    assert_eq!(slug("snake_case and [a link](x.md)"), "snake_case-and-a-link");
    let set = anchors("# A\n\n## A\n\n```\n# not a heading\n```\n### B!\n");
    let want: HashSet<String> = ["a", "a-1", "b"].into_iter().map(String::from).collect();
    assert_eq!(set, want);
}

#[test]
fn links_in_code_are_not_links_and_titles_are_not_targets() {
    let text = "a [x](one.md \"title\") and `[y](two.md)`\n```\n[z](three.md)\n```\n![img](p.png) [0, 1) (no link)\n";
    let found = links(text);
    assert_eq!(found, vec![(1, "one.md".to_string()), (5, "p.png".to_string())]);
}

#[test]
fn a_broken_link_or_anchor_is_reported_with_file_line_and_link() {
    let root = root();
    let doc = Path::new("README.md");
    let text = "# Top\n\nfine: [top](#top), [guide](GUIDE.md)\n\
                bad: [gone](no-such-file.md)\n\
                bad: [here](#no-such-heading)\n\
                bad: ![pic](docs/no-such.png)\n";
    let broken = broken_links(&root, doc, text);
    assert_eq!(broken.len(), 3, "{broken:#?}");
    assert!(broken[0].starts_with("README.md:4: link (no-such-file.md)"), "{}", broken[0]);
    assert!(broken[1].starts_with("README.md:5: link (#no-such-heading)"), "{}", broken[1]);
    assert!(broken[2].starts_with("README.md:6: link (docs/no-such.png)"), "{}", broken[2]);
}
