"""The ``tlmsim sweep`` command."""


def add_parser(sub):
    p = sub.add_parser("sweep", help="run a design-space sweep (platforms x parameters x traces)",
                       description="Run every run of a sweep spec (YAML) and store one row per "
                       "run in a results folder; runs already stored are skipped. Exits 1 if "
                       "any run failed (its error is in its row).")
    p.add_argument("spec", metavar="SPEC.yaml", help="the sweep spec (see tlmsim.sweep.spec)")
    p.add_argument("--workers", "-j", type=int, metavar="N",
                   help="worker processes of the local Dask cluster (default: CPUs)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="use the Dask cluster at ADDRESS (tcp://host:8786) instead of a local one; "
                   "its workers must have tlmsim and see the traces at the same paths")
    p.add_argument("--serial", action="store_true",
                   help="run in this process, one run after the other (for debugging)")
    p.add_argument("--out", metavar="PATH", help="results folder (default: the spec's 'output')")
    p.add_argument("--retry-failed", action="store_true", help="run failed runs again")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_sweep)


def _cmd_sweep(args):
    from tlmsim.sweep.runner import run_sweep
    frame = run_sweep(args.spec, out=args.out, workers=args.workers, scheduler=args.scheduler,
                      serial=args.serial, quiet=args.quiet, retry_failed=args.retry_failed)
    a = frame.attrs
    print(f"{len(frame)} run(s): {a['executed']} run now, {a['skipped']} already done, "
          f"{a['failed']} failed; table {a['out']}/results.parquet")
    if a["failed"]:
        for _, row in frame[frame["status"] == "error"].head(5).iterrows():
            print(f"  failed: {row['platform']} {row['key'][:12]}: {row['error']}")
        return 1
    return 0
