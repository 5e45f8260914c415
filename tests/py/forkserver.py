"""Runs the tests' Python scripts without importing torch each time.

Importing torch takes well over a second, most of a reference run's time,
and the tests run Python many times. This server imports torch, numpy and
safetensors once, then serves one request per line on stdin:

    {"argv": [...], "stdout": PATH, "stderr": PATH}

where argv is what would follow `python` on a command line (a script and
its arguments, or `-c CODE ARGS...`). Each request runs in a child forked
from the server, so every run starts from the same clean state, as a new
interpreter would; the child's stdout and stderr go to the two files. The
server answers with one line, {"code": N} for an exit status or
{"signal": N} for a child killed by a signal.

Nothing in the server runs a torch operation before forking: libtorch's
thread pools start on first use, and a fork copies only the thread that
forks.
"""

import json
import os
import runpy
import sys
import traceback

import numpy  # noqa: F401  (imported once here, for every child)
import safetensors.torch  # noqa: F401
import torch  # noqa: F401


def run(argv):
    """The child's work: what `python ARGV...` would do; its exit status."""
    try:
        if argv[0] == "-c":
            sys.argv = ["-c"] + argv[2:]
            sys.path[0] = ""
            exec(compile(argv[1], "<string>", "exec"), {"__name__": "__main__"})
        else:
            sys.argv = list(argv)
            sys.path[0] = os.path.dirname(os.path.abspath(argv[0]))
            runpy.run_path(argv[0], run_name="__main__")
        return 0
    except SystemExit as e:
        if e.code is None:
            return 0
        if isinstance(e.code, int):
            return e.code
        print(e.code, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1


def child(request):
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    for fd, key in ((1, "stdout"), (2, "stderr")):
        f = os.open(request[key], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(f, fd)
        os.close(f)
    code = run(request["argv"])
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code if 0 <= code < 256 else 1)


def main():
    answers = sys.stdout
    answers.write("ready\n")
    answers.flush()
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            child(request)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status):
            answer = {"signal": os.WTERMSIG(status)}
        else:
            answer = {"code": os.WEXITSTATUS(status)}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
