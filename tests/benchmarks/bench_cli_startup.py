"""Command-line start-up: `tlmsim --version` against `python -c "import numpy"`.

Run: ``python tests/benchmarks/bench_cli_startup.py [REPEATS]``. In one run, alternating
the two commands REPEATS times (default 7) in fresh processes of this interpreter, it
reports the median wall time of each and their ratio, and which heavy modules (pandas,
matplotlib, Dask, pyarrow) ``tlmsim --version`` loaded.

Target (issue 17): the ratio is at most 2.
"""

import statistics
import subprocess
import sys
import time

TLMSIM = [sys.executable, "-c", "import sys; from tlmsim.cli import main; sys.exit(main())",
          "--version"]
NUMPY = [sys.executable, "-c", "import numpy"]
HEAVY = ("pandas", "matplotlib", "dask", "distributed", "pyarrow")
LOADED = ("import sys; from tlmsim.cli import main\n"
          "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
          f"print('loaded:', ' '.join(m for m in {HEAVY!r} if m in sys.modules))")


def wall(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    wall(TLMSIM), wall(NUMPY)  # warm the file cache
    tlm, npy = [], []
    for _ in range(repeats):
        tlm.append(wall(TLMSIM))
        npy.append(wall(NUMPY))
    t, n = statistics.median(tlm), statistics.median(npy)
    lines = subprocess.run([sys.executable, "-c", LOADED], capture_output=True, text=True,
                           check=True).stdout.splitlines()
    heavy = [line for line in lines if line.startswith("loaded:")][0][len("loaded:"):].strip()
    print(f"tlmsim --version     median {t * 1e3:7.1f} ms over {repeats}")
    print(f"python -c 'import numpy' median {n * 1e3:7.1f} ms over {repeats}")
    print(f"ratio {t / n:.2f} (target <= 2); heavy modules loaded: {heavy or 'none'}")


if __name__ == "__main__":
    main()
