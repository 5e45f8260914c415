//! The fourteen text features the catalogue correlates units with, with the
//! definitions `reference/analysis.py` computes too (the parity tests compare
//! the two). Each is a value per step t (the character x_t the model
//! consumed at t); indicators are 0 or 1. `in_string` and `in_comment` read
//! the text as Python source (`pylex`).
//!
//! Lines are lines of the analysed characters only: a `\n` belongs to the
//! line it ends, and the last line ends at the last character even when the
//! file goes on. Three features (`speaker_line`, `indent`, and the line of
//! `line_position`) look at a whole line, so the table is computed over the
//! whole text at once rather than streamed.

use super::pylex::{lex, Lexeme};

/// A text feature, in the order every output lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feature {
    LinePosition,
    WordPosition,
    InWord,
    Newline,
    Space,
    Uppercase,
    Vowel,
    Punctuation,
    SpeakerLine,
    InQuotes,
    BracketDepth,
    Indent,
    InString,
    InComment,
}

/// How many features there are.
pub const FEATURES: usize = 14;

impl Feature {
    pub const ALL: [Feature; FEATURES] = [
        Feature::LinePosition,
        Feature::WordPosition,
        Feature::InWord,
        Feature::Newline,
        Feature::Space,
        Feature::Uppercase,
        Feature::Vowel,
        Feature::Punctuation,
        Feature::SpeakerLine,
        Feature::InQuotes,
        Feature::BracketDepth,
        Feature::Indent,
        Feature::InString,
        Feature::InComment,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        [
            "line_position",
            "word_position",
            "in_word",
            "newline",
            "space",
            "uppercase",
            "vowel",
            "punctuation",
            "speaker_line",
            "in_quotes",
            "bracket_depth",
            "indent",
            "in_string",
            "in_comment",
        ][self.index()]
    }

    /// The definition in a few words, for tables and JSON.
    pub fn description(self) -> &'static str {
        [
            "characters of x_t's line before x_t (a \\n belongs to the line it ends)",
            "0 if x_t is not alphabetic, else 1 + the alphabetic characters directly before it",
            "x_t is alphabetic (Unicode)",
            "x_t is \\n",
            "x_t is a space",
            "x_t is an uppercase letter",
            "x_t is one of aeiouAEIOU",
            "x_t is ASCII punctuation",
            "x_t's line ends with ':' after a name with an uppercase and no lowercase letter",
            "an odd number of '\"' before x_t",
            "depth of ([{ minus )]} so far, never below 0",
            "leading spaces and tabs of x_t's line",
            "x_t is in a Python string, its quotes included (prefix letters not)",
            "x_t is in a Python comment, from '#' up to its \\n (not included)",
        ][self.index()]
    }

    /// Whether the feature is 0/1.
    pub fn is_indicator(self) -> bool {
        !matches!(self, Feature::LinePosition | Feature::WordPosition | Feature::BracketDepth | Feature::Indent)
    }

    pub fn from_name(name: &str) -> Option<Feature> {
        Feature::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// Every feature's value at every step: one row of `FEATURES` values per step.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureTable {
    rows: Vec<[f64; FEATURES]>,
}

impl FeatureTable {
    /// The features of `text` (x_0..x_(N-1)).
    pub fn new(text: &[char]) -> Self {
        let mut rows = vec![[0.0; FEATURES]; text.len()];
        // Whole-line features first: each line is [start, end), its `\n` included.
        let mut start = 0;
        while start < text.len() {
            let end = text[start..].iter().position(|&c| c == '\n').map_or(text.len(), |p| start + p + 1);
            let body = if text[end - 1] == '\n' { &text[start..end - 1] } else { &text[start..end] };
            let speaker = f64::from(u8::from(is_speaker(body)));
            let indent = body.iter().take_while(|&&c| c == ' ' || c == '\t').count() as f64;
            for (pos, row) in rows[start..end].iter_mut().enumerate() {
                row[Feature::LinePosition.index()] = pos as f64;
                row[Feature::SpeakerLine.index()] = speaker;
                row[Feature::Indent.index()] = indent;
            }
            start = end;
        }
        let (mut run, mut quotes, mut depth) = (0usize, 0usize, 0i64);
        let ind = |b: bool| f64::from(u8::from(b));
        for ((row, &c), lexeme) in rows.iter_mut().zip(text).zip(lex(text)) {
            let alpha = c.is_alphabetic();
            run = if alpha { run + 1 } else { 0 };
            depth = (depth + i64::from("([{".contains(c)) - i64::from(")]}".contains(c))).max(0);
            row[Feature::WordPosition.index()] = run as f64;
            row[Feature::InWord.index()] = ind(alpha);
            row[Feature::Newline.index()] = ind(c == '\n');
            row[Feature::Space.index()] = ind(c == ' ');
            row[Feature::Uppercase.index()] = ind(c.is_uppercase());
            row[Feature::Vowel.index()] = ind("aeiouAEIOU".contains(c));
            row[Feature::Punctuation.index()] = ind(c.is_ascii_punctuation());
            // Quotes strictly before x_t: the opening quote itself is outside.
            row[Feature::InQuotes.index()] = (quotes % 2) as f64;
            quotes += usize::from(c == '"');
            row[Feature::BracketDepth.index()] = depth as f64;
            row[Feature::InString.index()] = ind(lexeme == Lexeme::String);
            row[Feature::InComment.index()] = ind(lexeme == Lexeme::Comment);
        }
        Self { rows }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Every feature at step t, in `Feature::ALL`'s order.
    pub fn row(&self, t: usize) -> &[f64; FEATURES] {
        &self.rows[t]
    }

    /// One feature over every step.
    pub fn column(&self, f: Feature) -> Vec<f64> {
        self.rows.iter().map(|r| r[f.index()]).collect()
    }
}

/// A speaker line ("ROMEO:"): ends with ':' and the name before that last ':'
/// has at least one uppercase letter and no lowercase one.
fn is_speaker(line: &[char]) -> bool {
    match line.split_last() {
        Some((':', name)) => name.iter().any(|c| c.is_uppercase()) && !name.iter().any(|c| c.is_lowercase()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(text: &str, f: Feature) -> Vec<f64> {
        FeatureTable::new(&text.chars().collect::<Vec<_>>()).column(f)
    }

    fn ints(text: &str, f: Feature) -> Vec<i64> {
        col(text, f).into_iter().map(|v| v as i64).collect()
    }

    #[test]
    fn line_position_counts_from_the_line_start_and_the_newline_ends_its_line() {
        assert_eq!(ints("ab\ncd\n\nx", Feature::LinePosition), [0, 1, 2, 0, 1, 2, 0, 0]);
        assert_eq!(ints("\n\n", Feature::LinePosition), [0, 0]);
    }

    #[test]
    fn word_position_counts_letters_in_a_run() {
        assert_eq!(ints("ab c'de1é", Feature::WordPosition), [1, 2, 0, 1, 0, 1, 2, 0, 1]);
        assert_eq!(ints("ab c'de1é", Feature::InWord), [1, 1, 0, 1, 0, 1, 1, 0, 1]);
    }

    #[test]
    fn single_character_indicators() {
        let t = "Ab \n,É?z\"";
        assert_eq!(ints(t, Feature::Newline), [0, 0, 0, 1, 0, 0, 0, 0, 0]);
        assert_eq!(ints(t, Feature::Space), [0, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(ints(t, Feature::Uppercase), [1, 0, 0, 0, 0, 1, 0, 0, 0]);
        // É is a vowel letter but not one of aeiouAEIOU.
        assert_eq!(ints(t, Feature::Vowel), [1, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(ints(t, Feature::Punctuation), [0, 0, 0, 0, 1, 0, 1, 0, 1]);
        // A tab is neither a space nor punctuation; '—' is not ASCII punctuation.
        assert_eq!(ints("\t—", Feature::Space), [0, 0]);
        assert_eq!(ints("\t—", Feature::Punctuation), [0, 0]);
    }

    #[test]
    fn speaker_lines_cover_the_whole_line_and_its_newline() {
        let t = "ROMEO:\nFirst Citizen:\nKING HENRY VI:\nA: b\n:\n2:\nX:";
        let got = ints(t, Feature::SpeakerLine);
        let lines: Vec<(usize, i64)> =
            t.split_inclusive('\n').map(|l| l.chars().count()).zip([1, 0, 1, 0, 0, 0, 1]).collect();
        let mut want = Vec::new();
        for (len, v) in lines {
            want.extend(std::iter::repeat_n(v, len));
        }
        assert_eq!(got, want);
        // Only the last ':' ends the name; a name may hold other ':'s.
        assert_eq!(ints("A:B:", Feature::SpeakerLine), [1, 1, 1, 1]);
        assert_eq!(ints("A:b:", Feature::SpeakerLine), [0, 0, 0, 0]);
        // The line as analysed: cut at the last character, "ROMEO" is no speaker line.
        assert_eq!(ints("ROMEO", Feature::SpeakerLine), [0; 5]);
    }

    #[test]
    fn quotes_count_the_characters_before() {
        assert_eq!(ints("a\"bc\"d\"", Feature::InQuotes), [0, 0, 1, 1, 1, 0, 0]);
    }

    #[test]
    fn python_strings_and_comments_are_exclusive_indicators() {
        let t = "x = f'#' # \"q\"\n";
        assert_eq!(ints(t, Feature::InString), [0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(ints(t, Feature::InComment), [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0]);
        // in_quotes still counts every '"', comment or not.
        assert_eq!(ints(t, Feature::InQuotes), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0]);
    }

    #[test]
    fn bracket_depth_never_goes_below_zero() {
        assert_eq!(ints("a(b[c)]))(x}", Feature::BracketDepth), [0, 1, 1, 2, 2, 1, 0, 0, 0, 1, 1, 0]);
        // After a surplus closer the count restarts from zero, not from -1.
        assert_eq!(ints("))(", Feature::BracketDepth), [0, 0, 1]);
    }

    #[test]
    fn indent_counts_leading_spaces_and_tabs_for_the_whole_line() {
        assert_eq!(ints("  a b\n\t x\nc", Feature::Indent), [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0]);
        assert_eq!(ints("   \n", Feature::Indent), [3, 3, 3, 3]);
    }

    #[test]
    fn names_descriptions_and_order() {
        assert_eq!(Feature::ALL.len(), FEATURES);
        for (k, f) in Feature::ALL.into_iter().enumerate() {
            assert_eq!(f.index(), k);
            assert_eq!(Feature::from_name(f.name()), Some(f));
            assert!(!f.description().is_empty());
        }
        assert_eq!(Feature::ALL[0].name(), "line_position");
        assert_eq!(Feature::ALL[11].name(), "indent");
        assert_eq!(Feature::ALL[13].name(), "in_comment");
        // Indicators really are 0/1 on a mixed text.
        let text: Vec<char> = "KING:\n  \"Hi (there)!\" A e\tz # 'c'\n".chars().collect();
        let table = FeatureTable::new(&text);
        for f in Feature::ALL.into_iter().filter(|f| f.is_indicator()) {
            assert!(table.column(f).iter().all(|&v| v == 0.0 || v == 1.0), "{}", f.name());
        }
    }
}
