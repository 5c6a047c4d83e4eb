import sys, runpy, torch, numba
from threadpoolctl import threadpool_limits
torch.set_num_threads(1); numba.set_num_threads(1)
sys.argv = sys.argv[1:]
with threadpool_limits(1):
    runpy.run_path(sys.argv[0], run_name="__main__")
