"""Builds data/python-varied.txt, a wider corpus for the code model: the
standard-library corpus (data/python-stdlib.txt) followed by the Python
source of twelve pinned PyPI source distributions, so that the model sees
code in more styles than the standard library's (numerical code with long
docstrings, as in the held-out torch modules, web frameworks, command-line
tools).

    python3 data/python_varied.py data/python-stdlib.txt data/python-varied.txt [CACHE_DIR]

Each sdist is fetched from files.pythonhosted.org into CACHE_DIR (default
runs/sdists) and checked against its pinned sha256; a mismatch stops the
build. From each, every .py file that is pure ASCII is taken, in sorted
order, except tests (a path with a `test`, `tests` or `testing` folder, or
a `test_*.py` or `conftest.py` file), files over 200 KB, files with a line
over 1,000 characters (generated tables) and files with a tab (the
standard-library corpus has none, so the two share their 96 characters
and a model of the one can go on learning from the other). Each file is preceded by a
comment line naming it. The file is not committed: the packages' licences
(BSD and MIT) allow the use, and the recipe makes the same bytes again.
No torch code is among them, so the held-out torch modules stay unseen.
"""

import hashlib
import io
import os
import sys
import tarfile
import urllib.request

HOST = "https://files.pythonhosted.org/packages/"
# (file, path under HOST, sha256), as PyPI's simple index lists them.
SDISTS = [
    ("sympy-1.13.3.tar.gz", "11/8a/5a7fd6284fa8caac23a26c9ddf9c30485a48169344b4bd3b0f02fef1890f",
     "b27fd2c6530e0ab39e275fc9b683895367e51d5da91baa8d3d64db2565fec4d9"),
    ("networkx-3.4.2.tar.gz", "fd/1d/06475e1cd5264c0b870ea2cc6fdb3e37177c1e565c43f56ff17a10e3937f",
     "307c3669428c5362aab27c8a1260aa8f47c4e91d3891f48be0141738d8d053e1"),
    ("scikit_learn-1.5.2.tar.gz", "37/59/44985a2bdc95c74e34fef3d10cb5d93ce13b0e2a7baefffe1b53853b502d",
     "b4237ed7b3fdd0a4882792e68ef2545d5baa50aca3bb45aa7df468138ad8f94d"),
    ("pandas-2.2.3.tar.gz", "9c/d6/9f8431bacc2e19dca897724cd097b1bb224a6ad5433784a44b587c7c13af",
     "4f18ba62b61d7e192368b84517265a99b4d7ee8912f8708660fb4a366cc82667"),
    ("requests-2.32.3.tar.gz", "63/70/2bf7780ad2d390a8d301ad0b550f1581eadbd9a20f896afe06353c2a2913",
     "55365417734eb18255590a9ff9eb97e9e1da868d4ccd6402399eaf68af20a760"),
    ("flask-3.1.0.tar.gz", "89/50/dff6380f1c7f84135484e176e0cac8690af72fa90e932ad2a0a60e28c69b",
     "5f873c5184c897c8d9d1b05df1e3d01b14910ce69607a117bd3277098a5836ac"),
    ("click-8.1.7.tar.gz", "96/d3/f04c7bfcf5c1862a2a5b845c6b2b360488cf47af55dfa79c98f6a6bf98b5",
     "ca9853ad459e787e2192211578cc907e7594e294c7ccc834310722b41b9ca6de"),
    ("attrs-24.2.0.tar.gz", "fc/0f/aafca9af9315aee06a89ffde799a10a582fe8de76c563ee80bbcdc08b3fb",
     "5cfb1b9148b5b086569baec03f20d7b6bf3bcacc9a42bebf87ffaaca362f6346"),
    ("jinja2-3.1.4.tar.gz", "ed/55/39036716d19cab0747a5020fc7e907f362fbf48c984b14e62127f7e68e5d",
     "4a3aee7acbbe7303aede8e9648d13b8bf88a429282aa6122a993f0ac800cb369"),
    ("numpy-2.1.3.tar.gz", "25/ca/1166b75c21abd1da445b97bf1fa2f14f423c6cfb4fc7c4ef31dccf9f6a94",
     "aa08e04e08aaf974d4458def539dece0d28146d866a39da5639596f4921fd761"),
    ("Django-5.1.3.tar.gz", "c6/85/ba2c2b83ba8b95354f99ed8344405d9571109ce0175028876209d6b93fba",
     "c0fa0e619c39325a169208caef234f90baa925227032ad3f44842ba14d75234a"),
    ("scipy-1.14.1.tar.gz", "62/11/4d44a1f274e002784e4dbdb81e0ea96d2de2d1045b2132d5af62cc31fd28",
     "5a275584e726026a5699459aa72f828a610821006228e841b94275c4a7c08417"),
]
MAX_BYTES = 200_000
MAX_LINE = 1000


def fetch(name, path, sha, cache):
    """The sdist's bytes, from the cache or the host, checked against `sha`."""
    local = os.path.join(cache, name)
    if os.path.exists(local):
        with open(local, "rb") as f:
            data = f.read()
    else:
        with urllib.request.urlopen(HOST + path + "/" + name, timeout=120) as r:
            data = r.read()
    got = hashlib.sha256(data).hexdigest()
    if got != sha:
        raise SystemExit(f"python_varied: {name}: sha256 {got}, pinned {sha}")
    if not os.path.exists(local):
        tmp = local + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, local)
    return data


def is_test(path):
    parts = path.split("/")
    base = parts[-1]
    return any(p in ("test", "tests", "testing") for p in parts[:-1]) or base.startswith("test_") \
        or base == "conftest.py"


def sources(name, data):
    """(path, text) of the sdist's kept .py files, sorted by path."""
    kept = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for m in tar.getmembers():
            if not m.isfile() or not m.name.endswith(".py") or is_test(m.name) or m.size > MAX_BYTES:
                continue
            raw = tar.extractfile(m).read()
            if not raw.isascii():
                continue
            text = raw.decode("ascii").replace("\r\n", "\n")
            if not text.strip() or "\t" in text or any(len(line) > MAX_LINE for line in text.split("\n")):
                continue
            kept.append((m.name, text if text.endswith("\n") else text + "\n"))
    return sorted(kept)


def main():
    if len(sys.argv) not in (3, 4):
        print("usage: python_varied.py STDLIB_CORPUS OUT [CACHE_DIR]", file=sys.stderr)
        return 2
    stdlib, out = sys.argv[1], sys.argv[2]
    cache = sys.argv[3] if len(sys.argv) == 4 else os.path.join("runs", "sdists")
    if not os.path.isfile(stdlib):
        print(f"{stdlib}: no such file (make data/python-stdlib.txt builds it)", file=sys.stderr)
        return 1
    if os.path.exists(out):
        print(f"{out}: exists; remove it first", file=sys.stderr)
        return 1
    os.makedirs(cache, exist_ok=True)
    with open(stdlib, encoding="ascii", newline="") as f:
        parts = [f.read().rstrip("\n") + "\n"]
    counts = []
    for name, path, sha in SDISTS:
        files = sources(name, fetch(name, path, sha, cache))
        counts.append(f"{name} {len(files)}")
        parts += [f"# file: {p}\n{text}" for p, text in files]
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="ascii", newline="\n") as f:
        f.write("\n".join(parts))
    os.replace(tmp, out)
    print(f"{out}: {os.path.getsize(out)} bytes: {stdlib}, then " + ", ".join(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
