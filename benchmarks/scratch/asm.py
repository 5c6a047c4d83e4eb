import numpy as np, numba as nb, re
from proto1 import fwd_sparse, cols, vals, cnt, W1, b1, z
from proto1 import compact, X, idx; compact(X, idx, cols, vals, cnt); fwd_sparse(cols, vals, cnt, W1, b1, z)
asm = list(fwd_sparse.inspect_asm().values())[0]
print(len(asm.splitlines()))
print(sorted(set(re.findall(r"\b(v\w+)\s+%?([xyz]mm)", asm)))[:40])
import collections
c = collections.Counter(re.findall(r"^\s+(v\w+)", asm, re.M)); print(c)
