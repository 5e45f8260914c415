"""Builds data/python-stdlib.txt, the code model's corpus.

The selection: every top-level module (Lib/*.py) of the running CPython's
standard library that is pure ASCII, in sorted order, except the
machine-generated _sysconfigdata* files. Each file is preceded by a comment
line naming it. The committed corpus was built with CPython 3.11.7:

    python3 data/python_corpus.py data/python-stdlib.txt

The standard library is under the PSF licence; data/PYTHON-LICENSE.txt is
the licence text shipped with that Python.
"""

import glob
import os
import sys
import sysconfig


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python_corpus.py OUT", file=sys.stderr)
        return 2
    out = sys.argv[1]
    lib = sysconfig.get_paths()["stdlib"]
    parts = []
    for path in sorted(glob.glob(os.path.join(lib, "*.py"))):
        name = os.path.basename(path)
        if name.startswith("_sysconfigdata"):
            continue
        with open(path, "rb") as f:
            raw = f.read()
        if not raw.isascii():
            continue
        text = raw.decode("ascii").replace("\r\n", "\n")
        if not text.endswith("\n"):
            text += "\n"
        parts.append(f"# file: Lib/{name}\n{text}")
    if os.path.exists(out):
        print(f"{out}: exists; remove it first", file=sys.stderr)
        return 1
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="ascii", newline="\n") as f:
        f.write("\n".join(parts))
    os.replace(tmp, out)
    print(f"{out}: {len(parts)} files, {os.path.getsize(out)} bytes from {lib} "
          f"(Python {sys.version.split()[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
