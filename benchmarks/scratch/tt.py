import time
def T(f, n=100, reps=5):
    f(); best = 1e9
    for _ in range(reps):
        t = time.thread_time()
        for _ in range(n): f()
        best = min(best, (time.thread_time() - t) / n * 1e6)
    return best
