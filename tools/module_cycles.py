#!/usr/bin/env python3
"""List the imports between gatescope's source files and report cycles.

Every path that names a module (`use crate::a::b`, `use super::x`,
`crate::a::f()` in code, `use self::x`) becomes an edge from the file that
writes it to the file that defines the module, followed through `pub use`
re-exports to the file that defines the item. A parent `mod.rs` and its own
children are one unit in Rust (the parent declares the children, the children
see the parent's private items), so edges between a file and its ancestors
are listed apart and left out of the cycle check; a cycle is between files
where neither contains the other.

It also checks that no file imports from a higher layer than its own (the
layers are those src/lib.rs states, copied into LAYERS below).

Usage: tools/module_cycles.py [--edges] [SRC_DIR]
Exit status 1 when a cycle or an upward import is found.
"""
import os
import re
import sys

args = [a for a in sys.argv[1:] if not a.startswith("--")]
SHOW_EDGES = "--edges" in sys.argv
SRC = args[0] if args else "src"


def module_of(path):
    """src/a/b.rs -> ('a','b'); src/a/mod.rs -> ('a',); src/lib.rs -> ()."""
    rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return tuple(rel)


files = {}
for root, _, names in os.walk(SRC):
    for n in names:
        if n.endswith(".rs") and not (root == SRC and n == "main.rs"):
            p = os.path.join(root, n)
            files[module_of(p)] = p


def strip(text):
    """Drop comments, string literals and `#[cfg(test)]` modules."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'r#*"(?:.|\n)*?"#*', '""', text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    text = re.sub(r"b?'(?:\\.|[^'\\])'", "' '", text)
    m = re.search(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text)
    if m:
        text = text[: m.start()]
    return text


def expand_use(body):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e]."""
    body = body.strip()
    i = body.find("{")
    if i < 0:
        return [re.sub(r"\s+as\s+\w+$", "", body).strip()]
    prefix, inner = body[:i], body[i + 1 : body.rfind("}")]
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        if p.strip():
            out += [prefix + q for q in expand_use(p)]
    return out


def absolute(mod, path):
    segs = [s for s in path.replace(" ", "").split("::") if s]
    base = list(mod)
    if segs and segs[0] == "crate":
        base, segs = [], segs[1:]
    elif segs and segs[0] in ("super", "self"):
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                # a file's `super` is its parent module
                base = base[:-1]
            segs = segs[1:]
    else:
        return None
    return base + segs


texts = {m: strip(open(p).read()) for m, p in files.items()}

# re-exports: (module, name) -> absolute path it stands for
reexports = {}
for mod, text in texts.items():
    for body in re.findall(r"pub\s+use\s+([^;]+);", text):
        for path in expand_use(body):
            segs = [s for s in path.replace(" ", "").split("::") if s]
            if segs and segs[0] not in ("crate", "super", "self"):
                segs = ["self"] + segs  # 2018 edition: a child module's name
            full = absolute(mod, "::".join(segs))
            if full and full[-1] not in ("self", "*"):
                reexports[(mod, full[-1])] = full


def resolve(full, depth=0):
    """The file defining the longest module prefix of `full`, following re-exports."""
    for k in range(len(full), -1, -1):
        prefix = tuple(full[:k])
        if prefix in files:
            if k < len(full) and (prefix, full[k]) in reexports and depth < 10:
                return resolve(reexports[(prefix, full[k])] + full[k + 1 :], depth + 1)
            return prefix
    return None


edges = {}
for mod, text in texts.items():
    paths = []
    for body in re.findall(r"\buse\s+([^;]+);", text):
        for path in expand_use(body):
            segs = path.replace(" ", "").split("::")
            if segs[0] not in ("crate", "super", "self"):
                segs = ["self"] + segs
                if segs[1] not in [m[-1] for m in files if m[:-1] == mod]:
                    continue  # an external crate
            paths.append("::".join(segs))
    paths += re.findall(r"\b(?:crate|super)(?:::\w+)+", text)
    for path in paths:
        full = absolute(mod, path)
        if full is None:
            continue
        target = resolve(full)
        if target is not None and target != mod:
            edges.setdefault(mod, set()).add(target)


def name(m):
    return os.path.relpath(files[m], SRC)


def related(a, b):
    return a[: len(b)] == b or b[: len(a)] == a


if SHOW_EDGES:
    for a in sorted(edges):
        for b in sorted(edges[a]):
            tag = "  (parent/child)" if related(a, b) else ""
            print(f"{name(a)} -> {name(b)}{tag}")
    print()

graph = {a: {b for b in bs if not related(a, b)} for a, bs in edges.items()}

# strongly connected components (Tarjan)
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]


def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in graph.get(v, ()):
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(comp)


sys.setrecursionlimit(10000)
for v in list(files):
    if v not in index:
        visit(v)

# The layers src/lib.rs states, lowest first; a file imports only from its
# own layer or a lower one.
LAYERS = [
    {"vocab", "atomic", "data"},
    {"model"},
    {"generate", "trace"},
    {"analysis", "export"},
    {"train", "tui"},
    {"replay"},
    {"commands", "cli"},
]
RANK = {m: i for i, layer in enumerate(LAYERS) for m in layer}
upward = []
for a, bs in edges.items():
    for b in bs:
        if a and b and RANK.get(a[0], -1) < RANK.get(b[0], -1):
            upward.append((name(a), name(b)))
for a, b in sorted(upward):
    print(f"upward: {a} -> {b}")
unknown = sorted({m[0] for m in files if m and m[0] not in RANK})
if unknown:
    print("not in a layer: " + ", ".join(unknown))

n_edges = sum(len(b) for b in graph.values())
print(f"{len(files)} files, {n_edges} imports between files that do not contain each other")
for comp in sccs:
    names = sorted(name(m) for m in comp)
    print("cycle: " + " , ".join(names))
    for a in comp:
        for b in sorted(graph.get(a, ())):
            if b in comp:
                print(f"    {name(a)} -> {name(b)}")
print(f"{len(sccs)} cycles, {len(upward)} upward imports")
sys.exit(1 if sccs or upward or unknown else 0)
