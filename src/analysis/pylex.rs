//! Which characters of a text lie in a Python string literal or comment: the
//! lexer behind the features `in_string` and `in_comment`.
//!
//! The text is lexed from its start with four states: code, comment,
//! single-quoted string and triple-quoted string.
//! - In code, `#` starts a comment that runs up to the next `\n` (the `\n` is
//!   code). `'` or `"` starts a string: triple-quoted when the next two
//!   characters are the same quote, single-quoted otherwise.
//! - In a string, a backslash escapes the next character, which never ends
//!   the string, raw or not (Python's own rule: `r'\''` is one string).
//! - A single-quoted string ends at its unescaped quote, or before an
//!   unescaped `\n`: an unterminated string ends at its line's end and the
//!   `\n` is code, so one stray quote cannot turn the rest of a file into a
//!   string. A triple-quoted string ends at three of its quote in a row.
//!
//! A string covers its quotes; prefix letters (`f`, `r`, `b`, `rb`, ...) are
//! read as code, because nothing marks them as a prefix until the quote.
//! On valid Python 3.11 source this agrees with `tokenize`'s STRING and
//! COMMENT tokens, prefixes aside (tests/py/tokenize_agreement.py).

/// What a character is part of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lexeme {
    Code,
    Comment,
    String,
}

/// The lexeme of every character of `text`.
pub fn lex(text: &[char]) -> Vec<Lexeme> {
    let n = text.len();
    let mut out = vec![Lexeme::Code; n];
    let mut i = 0;
    while i < n {
        match text[i] {
            '#' => {
                let end = text[i..].iter().position(|&c| c == '\n').map_or(n, |p| i + p);
                out[i..end].fill(Lexeme::Comment);
                i = end;
            }
            q @ ('\'' | '"') => {
                let end = string_end(text, i, q);
                out[i..end].fill(Lexeme::String);
                i = end;
            }
            _ => i += 1,
        }
    }
    out
}

/// The end (exclusive) of the string whose opening quote `q` is at `start`.
fn string_end(text: &[char], start: usize, q: char) -> usize {
    let n = text.len();
    let is_q = |k: usize| text.get(k) == Some(&q);
    let triple = is_q(start + 1) && is_q(start + 2);
    let mut j = if triple { start + 3 } else { start + 1 };
    while j < n {
        match text[j] {
            '\\' => j += 2,
            c if c == q && !triple => return j + 1,
            c if c == q && is_q(j + 1) && is_q(j + 2) => return j + 3,
            '\n' if !triple => return j,
            _ => j += 1,
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `.` code, `c` comment, `s` string.
    fn marks(text: &str) -> String {
        let chars: Vec<char> = text.chars().collect();
        lex(&chars)
            .into_iter()
            .map(|l| match l {
                Lexeme::Code => '.',
                Lexeme::Comment => 'c',
                Lexeme::String => 's',
            })
            .collect()
    }

    #[test]
    fn strings_and_comments() {
        assert_eq!(marks("a = 'x' # c\nb"), "....sss.ccc..");
        assert_eq!(marks(r#"'"' "'""#), r#"sss.sss"#);
        assert_eq!(marks("''x"), "ss.");
        assert_eq!(marks("'''a''b'''c"), "ssssssssss.");
        assert_eq!(marks("\"\"\"\"\"\""), "ssssss");
        // Three quotes end a triple-quoted string; a fourth opens a new one, which
        // runs to the end of the line.
        assert_eq!(marks("\"\"\"a\"\"\"\"b"), "sssssssss");
    }

    #[test]
    fn escapes_and_line_ends() {
        assert_eq!(marks(r"'a\'b'c"), "ssssss.");
        assert_eq!(marks("'ab\ncd"), "sss...");
        assert_eq!(marks("'a\\\nb'c"), "ssssss.");
        assert_eq!(marks("'''a\n'b'\n'''#"), "ssssssssssssc");
        // A backslash as the last character escapes nothing and ends nothing.
        assert_eq!(marks("'ab\\"), "ssss");
        assert_eq!(marks("# '\n'#'"), "ccc.sss");
    }
}
