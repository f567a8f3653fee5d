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
    p.add_argument("--platform", required=True)
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    p.set_defaults(func=_cmd_params)

    p = sub.add_parser("replay", help="replay an activity trace on a platform model")
    p.add_argument("trace", help="HDF5 activity trace (see traces/FORMAT.md)")
    p.add_argument("--platform", "-p", required=True, help="platform name (tlmsim platforms)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a parameter, e.g. --set noc.hop_energy_pj=2.0")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--out", metavar="DIR", help="write the report, tables and plots to DIR")
    p.add_argument("--timeline", action="store_true",
                   help="record every component's busy intervals; --out writes them as "
                        "timeline.json (Perfetto) and timeline.vcd (GTKWave)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    p.set_defaults(func=_cmd_replay)


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
    values = P.override(platform.Params(), args.set, platform=args.platform)
    for row in P.describe(values):
        unit = f" {row['unit']}" if row["unit"] else ""
        src = f"  [{row['source']}]" if row["source"] else ""
        print(f"{row['name']} = {row['value']!r}{unit}  {row['doc']}{src}")
    return 0


def _cmd_replay(args):
    from tlmsim import params as P
    from tlmsim import registry
    platform = registry.get_platform(args.platform)
    values = P.override(platform.Params(), args.set, platform=args.platform)
    if args.out:
        prepare_out_dir(args.out)
    options = {"timeline": True} if args.timeline else {}
    show = not args.quiet and not args.json
    from tlmsim.progress import heartbeat
    with heartbeat(f"{args.platform}: replaying {os.path.basename(args.trace)}", show):
        report = platform.replay(args.trace, values, progress=show, **options)
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
         "trace": "tlmsim.activity.cli", "sweep": "tlmsim.sweep.cli"}


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
    except KeyboardInterrupt:
        print("tlmsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
