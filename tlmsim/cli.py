"""The `tlmsim` command.

Sub-commands register an ``add_parser(subparsers)`` function in `COMMANDS`; each parser
sets ``func`` to a callable taking the parsed arguments and returning an exit code.
User errors (`TlmsimError`) print as one or two lines and exit non-zero.
"""

import argparse
import importlib
import json
import os
import sys

import tlmsim
from tlmsim.errors import OutputError, TlmsimError

#: Modules that contribute sub-commands, each with an ``add_parser(subparsers)``.
COMMANDS = [
    "tlmsim.cli",
    "tlmsim.activity.cli",
    "tlmsim.sweep.cli",
]


def add_parser(sub):
    p = sub.add_parser("platforms", help="list the platforms found, one line each")
    p.set_defaults(func=_cmd_platforms)

    p = sub.add_parser("params", help="list a platform's parameters with units and sources")
    p.add_argument("--platform", "-p", required=True, help="platform name (tlmsim platforms)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--preset", metavar="NAME", help="start from a named parameter set "
                   "(--presets lists them); --set applies on top")
    p.add_argument("--presets", action="store_true",
                   help="list the platform's named parameter sets instead")
    p.set_defaults(func=_cmd_params)

    p = sub.add_parser("replay", help="replay an activity trace on a platform model")
    p.add_argument("trace", help="HDF5 activity trace (see traces/FORMAT.md), GEMM/SCALE-Sim "
                   "topology CSV or ONNX model (README: ANN inputs)")
    p.add_argument("--platform", "-p", required=True, help="platform name (tlmsim platforms)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a parameter, e.g. --set noc.hop_ew_energy_pj=2.0")
    p.add_argument("--preset", metavar="NAME", help="start from a named parameter set "
                   "(tlmsim params --platform P --presets); --set applies on top")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--out", metavar="DIR", help="write the report, tables and plots to DIR")
    p.add_argument("--timeline", action="store_true",
                   help="record every component's busy intervals; --out writes them as "
                        "timeline.json (Perfetto) and timeline.vcd (GTKWave)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    p.add_argument("--record", metavar="INPUTS.npy", help="ONNX model: run it on these inputs "
                   "(onnxruntime) and record every layer's activations in the trace")
    p.add_argument("--record-out", metavar="TRACE.h5", help="ONNX model: keep the trace made "
                   "from it here (default with --record: MODEL.h5 next to the model)")
    p.set_defaults(func=_cmd_replay)

    p = sub.add_parser("validate", help="compare each platform's model with published figures")
    p.add_argument("--platform", "-p", action="append", metavar="NAME",
                   help="check only this platform (repeatable; default: every platform)")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    p.add_argument("--markdown", metavar="FILE", help="also write the tables as Markdown "
                   "(the repository's VALIDATION.md is written this way)")
    p.add_argument("--strict", action="store_true", help="exit 1 if any check fails or cannot "
                   "be computed (default: report failures and exit 0)")
    p.set_defaults(func=_cmd_validate)


def _cmd_platforms(args):
    from tlmsim import registry
    found = registry.platforms()
    if not found:
        print("no platforms found")
        return 1
    width = max(map(len, found))
    for name, text in found.items():
        print(f"{name:<{width}}  {text}")
    return 0


def _cmd_params(args):
    from tlmsim import params as P
    from tlmsim import registry
    platform = registry.get_platform(args.platform)
    if args.presets:
        return _print_presets(args.platform, P.presets_of(platform))
    values = P.override(P.with_preset(platform, args.preset), args.set, platform=args.platform)
    for row in P.describe(values):
        unit = f" {row['unit']}" if row["unit"] else ""
        src = f"  [{row['source']}]" if row["source"] else ""
        print(f"{row['name']} = {row['value']!r}{unit}  {row['doc']}{src}")
    return 0


def _cmd_replay(args):
    from tlmsim import params as P
    from tlmsim import registry
    platform = registry.get_platform(args.platform)
    values = P.override(P.with_preset(platform, args.preset), args.set, platform=args.platform)
    if args.out:
        prepare_out_dir(args.out)
    options = {"timeline": True} if args.timeline else {}
    show = not args.quiet and not args.json
    from tlmsim.activity.inputs import replay_file
    from tlmsim.progress import heartbeat
    with heartbeat(f"{args.platform}: replaying {os.path.basename(args.trace)}", show):
        report = replay_file(args.platform, args.trace, values, progress=show,
                             record=args.record, trace_out=args.record_out, **options)
    failed = None
    if args.out:
        try:
            report.save(args.out)
        except OSError as e:
            failed = OutputError(f"cannot write the report to {args.out}: {e.strerror or e}")
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, sort_keys=False))
    else:
        print(report.summary())
        if args.out and not failed:
            print(f"report written to {args.out}")
            from tlmsim.report.plots import skipped
            for name, reason in skipped(report).items():
                print(f"  no {name}: {reason}")
    if failed:
        raise failed
    return 0


def _print_presets(name, presets):
    if not presets:
        print(f"platform {name!r} offers no presets")
        return 0
    width = max(map(len, presets))
    for key, preset in sorted(presets.items()):
        print(f"{key:<{width}}  {preset.description}  [{preset.source}]")
    return 0


def _cmd_validate(args):
    """Run the platforms' published checks; exit 0 unless --strict and something failed."""
    from tlmsim import validation as V
    results = V.validate(args.platform)
    if args.json:
        print(json.dumps({"platforms": [r.to_dict() for r in results]}, indent=2))
    else:
        print("\n\n".join(V.format_text(r) for r in results))
        total = sum(r.wall_s for r in results)
        n_out = sum(1 for r in results for x in r.failed if not x.check.in_sample)
        print(f"\n{sum(len(r.results) for r in results)} checks in {total:.1f} s; "
              f"{n_out} out-of-sample check(s) outside tolerance or not computed")
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(V.format_markdown(results))
        if not args.json:
            print(f"written to {args.markdown}")
    return 1 if args.strict and not all(r.ok for r in results) else 0


def prepare_out_dir(path):
    """Make the output folder `path` (or check it is one we can write) before a long run."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise OutputError(f"--out {path}: a file of that name exists; give a folder name")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise OutputError(f"--out {path}: cannot make this folder ({e.strerror or e}); "
                          "give a folder you can write to") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"--out {path}: this folder is not writable; give another")


#: the module of each sub-command: a command line naming one loads that module only
WHERE = {"platforms": "tlmsim.cli", "params": "tlmsim.cli", "replay": "tlmsim.cli",
         "trace": "tlmsim.activity.cli", "sweep": "tlmsim.sweep.cli", "validate": "tlmsim.cli"}


def build_parser(argv=None):
    """The parser of `argv`: with the sub-commands of the module of the command it names,
    none for a bare ``--version``, else (help, another command) those of every module."""
    parser = argparse.ArgumentParser(
        prog="tlmsim",
        description="Transaction-level simulation of neural-network accelerators.")
    parser.add_argument("--version", action="version", version=f"tlmsim {tlmsim.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _modules_for(argv):
        importlib.import_module(name).add_parser(sub)
    return parser


def _modules_for(argv):
    if argv is None:
        return COMMANDS
    if argv == ["--version"]:
        return []
    words = [a for a in argv if not a.startswith("-")]
    return [WHERE[words[0]]] if words and words[0] in WHERE else COMMANDS


def main(argv=None):
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except TlmsimError as e:
        print(f"tlmsim: error: {e}", file=sys.stderr)
        return e.exit_code
    except MemoryError as e:
        print(f"tlmsim: error: out of memory ({e}): a size parameter (a mesh, a grid, a "
              "count of chips or channels) or the workload is too large for this machine; "
              "reduce it", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tlmsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
