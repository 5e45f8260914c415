"""Compares the features in_string and in_comment with Python's tokenize.

usage: tokenize_agreement.py TEXTS.jsonl

Each line of TEXTS.jsonl is {"name": ..., "text": ..., "marks": ...,
"pieces": [[start, end], ...]}: a text, gatescope's features over the whole
of it as one character per text character ("s" in_string, "c" in_comment,
"." neither; both at once is "!"), and the spans of it that are separate
Python files. Each piece is tokenized on its own; every character must be
inside a STRING token (its prefix letters aside) exactly where the features
say in_string, and inside a COMMENT token exactly where they say in_comment.
reference/analysis.py's lexer is held to the same check on the same text.

Documented difference: Python 3.12+ tokenizes an f-string as FSTRING_START,
FSTRING_MIDDLE, FSTRING_END and the tokens of its replacement fields; there
the span from an outermost FSTRING_START to its FSTRING_END counts as one
string (comments inside it are part of the string), which is what 3.11's
single STRING token covers.

stdout: one JSON object: {"python": version, "files": number of pieces,
"chars": characters compared, "string_chars": ..., "comment_chars": ...,
"gatescope": [disagreements], "reference": [disagreements],
"gatescope_total": n, "reference_total": n,
"documented": [the differences applied]}. A disagreement names the text, the
piece, the character offset, what tokenize says and what the features say,
with the line around it; at most 20 per text are listed, the totals count
them all. Exit status 0 when
the comparison ran, whatever it found; 1 when tokenize failed on a piece.
"""
import io
import json
import os
import sys
import tokenize

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "reference"))
import analysis  # noqa: E402

FSTRING_TOKENS = sys.version_info >= (3, 12)


def tokenize_marks(src):
    """One character per character of src: "s", "c" or "." by tokenize's tokens."""
    line_starts, pos = [], 0
    for line in src.split("\n"):
        line_starts.append(pos)
        pos += len(line) + 1
    marks = ["."] * len(src)

    def offset(rowcol):
        row, col = rowcol
        return line_starts[row - 1] + col if row - 1 < len(line_starts) else len(src)

    fstring_depth, fstring_start = 0, None
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type == tokenize.ERRORTOKEN and tok.string.strip():
            raise SyntaxError(f"tokenize: error token {tok.string!r} at line {tok.start[0]}")
        start, end = offset(tok.start), offset(tok.end)
        if FSTRING_TOKENS and tok.type == tokenize.FSTRING_START:
            if fstring_depth == 0:
                # The prefix letters of an f-string are those before its quote.
                fstring_start = start + (len(tok.string) - len(tok.string.lstrip("bBrRuUfF")))
            fstring_depth += 1
            continue
        if FSTRING_TOKENS and tok.type == tokenize.FSTRING_END:
            fstring_depth -= 1
            if fstring_depth == 0:
                marks[fstring_start:end] = ["s"] * (end - fstring_start)
            continue
        if fstring_depth > 0:
            continue
        if tok.type == tokenize.STRING:
            prefix = len(tok.string) - len(tok.string.lstrip("bBrRuUfF"))
            marks[start + prefix:end] = ["s"] * (end - start - prefix)
        elif tok.type == tokenize.COMMENT:
            marks[start:end] = ["c"] * (end - start)
    return "".join(marks)


def reference_marks(text):
    return "".join({"code": ".", "comment": "c", "string": "s"}[x] for x in analysis.python_lexemes(text))


def disagreements(name, piece, text, start, want, got):
    out = []
    for k, (w, g) in enumerate(zip(want, got)):
        if w != g:
            t = start + k
            a, b = text.rfind("\n", 0, t) + 1, text.find("\n", t)
            b = len(text) if b < 0 else b
            out.append({"text": name, "piece": piece, "offset": t, "tokenize": w, "features": g,
                        "line": text[a:b], "column": t - a})
    return out


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        texts = [json.loads(line) for line in f if line.strip()]
    report = {"python": sys.version.split()[0], "files": 0, "chars": 0, "string_chars": 0, "comment_chars": 0,
              "gatescope": [], "reference": [], "gatescope_total": 0, "reference_total": 0,
              "documented": ["f-strings as FSTRING_START..FSTRING_END"] if FSTRING_TOKENS else []}
    for item in texts:
        name, text, marks = item["name"], item["text"], item["marks"]
        if len(marks) != len(text):
            raise SystemExit(f"{name}: {len(marks)} marks for {len(text)} characters")
        ref = reference_marks(text)
        found = {"gatescope": 0, "reference": 0}
        ends = [0] + [e for _, e in item["pieces"]]
        if [s for s, _ in item["pieces"]] != ends[:-1] or ends[-1] != len(text):
            raise SystemExit(f"{name}: the pieces do not cover the text end to end")
        for s, e in item["pieces"]:
            try:
                want = tokenize_marks(text[s:e])
            except (SyntaxError, tokenize.TokenError) as err:
                print(f"error: {name} [{s}, {e}): {err}", file=sys.stderr)
                return 1
            report["files"] += 1
            report["chars"] += e - s
            report["string_chars"] += want.count("s")
            report["comment_chars"] += want.count("c")
            for key, got in (("gatescope", marks[s:e]), ("reference", ref[s:e])):
                d = disagreements(name, f"[{s}, {e})", text, s, want, got)
                report[key + "_total"] += len(d)
                report[key] += d[:20 - found[key]]
                found[key] += len(d[:20 - found[key]])
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
