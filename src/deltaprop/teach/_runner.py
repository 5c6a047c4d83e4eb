r"""The child process of ``check --impl``: import a student's module, call its backprop on each case.

Run as a script, never imported by deltaprop (it imports NumPy only)::

    python _runner.py CASES.json STUDENT.py FUNCTION CONVENTION

It writes one JSON line per case to its standard output: ``{"out": ...}`` (the function's return
value as nested lists) or ``{"error": "..."}``. Anything the student's code prints goes to stderr.
The first line says whether the module imported (``{"ready": true}``). The parent process
(``deltaprop.teach.sandbox``) sets the time and memory limits; this file only calls and reports.

Each case is in deltaprop's layout (W^(l) of shape (n_{l-1}, n_l), rows of samples); the call is
made in the convention's own layout (see ``deltaprop.teach.conventions``).
"""

import importlib.util
import json
import os
import sys
import traceback
from types import SimpleNamespace


def _plain(obj):
    """The return value as nested lists of floats (arrays, lists and tuples of them)."""
    import numpy as np

    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    try:
        return np.asarray(obj, dtype=np.float64).tolist()
    except (TypeError, ValueError):
        raise TypeError(f"a {type(obj).__name__} was returned where an array of numbers belongs") from None


def _call(fn, convention, case):
    import numpy as np

    W = [np.array(w, dtype=np.float64) for w in case["W"]]  # (n_{l-1}, n_l)
    b = [np.array(v, dtype=np.float64) for v in case["b"]]  # (n_l,)
    X, Y = np.array(case["X"], dtype=np.float64), np.array(case["Y"], dtype=np.float64)  # (m, n_0), (m, n_L)
    acts, cost = list(case["activations"]), case["cost"]
    if convention == "rows":
        return fn(W, b, X, Y, acts, cost)
    out = []
    for x, y in zip(X, Y):
        if convention == "nielsen":
            state = dict(num_layers=len(W) + 1, sizes=list(case["sizes"]), activations=acts, cost=cost,
                         weights=[w.T.copy() for w in W], biases=[v.reshape(-1, 1) for v in b])
            if isinstance(fn, tuple):  # Class.method: an instance of the student's class, its __init__ skipped
                cls, method = fn
                net = object.__new__(cls)
                net.__dict__.update(state)
                out.append(getattr(net, method)(x.reshape(-1, 1), y.reshape(-1, 1)))
            else:
                out.append(fn(SimpleNamespace(**state), x.reshape(-1, 1), y.reshape(-1, 1)))
        elif convention == "higham":
            out.append(fn([w.T.copy() for w in W], [v.reshape(-1, 1) for v in b], x.reshape(-1, 1),
                          y.reshape(-1, 1), acts, cost))
        else:  # cs189: the bias as row 0 of W, multiplying x_0 = 1
            out.append(fn([np.vstack([v[None, :], w]) for w, v in zip(W, b)], x.copy(), y.copy(), acts, cost))
    return out


def main(argv):
    cases_path, student, name, convention = argv
    out = os.fdopen(os.dup(1), "w")  # our channel; the student's prints go to stderr
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        import numpy  # noqa: F401  (imported here, so that its import time counts for the import, not a case)

        folder = os.path.dirname(os.path.abspath(student))
        sys.path.insert(0, folder)
        spec = importlib.util.spec_from_file_location("student_backprop", student)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        owner, fn = None, module
        for part in name.split("."):
            owner, fn = fn, getattr(fn, part)
        if not callable(fn):
            raise TypeError(f"{name} is not a function")
        if isinstance(owner, type):  # Class.method (Nielsen's network.py): called on an instance
            fn = (owner, name.split(".")[-1])
    except BaseException as exc:  # the student's module: anything may happen on import
        out.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n")
        out.flush()
        return 0
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    with open(cases_path) as f:
        cases = json.load(f)
    for case in cases:
        try:
            line = {"out": _plain(_call(fn, convention, case))}
        except BaseException as exc:
            frames = traceback.extract_tb(exc.__traceback__)
            where = next((f"{os.path.basename(f.filename)}:{f.lineno}" for f in reversed(frames)
                          if os.path.abspath(f.filename) == os.path.abspath(student)), "")
            line = {"error": f"{type(exc).__name__}: {exc}" + (f" ({where})" if where else "")}
        out.write(json.dumps(line) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
