"""`tlmsim trace info|validate|stats|synth`: look at, check, summarise and make traces."""

import json
import os

from tlmsim.errors import OutputError, ParameterError


def add_parser(sub):
    p = sub.add_parser("trace", help="activity traces: info, validate, stats, synth, convert")
    tsub = p.add_subparsers(dest="trace_command", metavar="ACTION", required=True)

    q = tsub.add_parser("info", help="print a trace's header and layers (also: the GEMMs of a "
                        "topology CSV, the lowered layers of an ONNX model)")
    q.add_argument("file")
    q.set_defaults(func=_info)

    q = tsub.add_parser("convert", help="write the trace of an ONNX model (README: ANN inputs)")
    q.add_argument("model", help="ONNX model (.onnx)")
    q.add_argument("out", help="output .h5 trace")
    q.add_argument("--record", metavar="INPUTS.npy", help="run the model on these inputs "
                   "(onnxruntime) and record every layer's activations")
    q.set_defaults(func=_convert)

    q = tsub.add_parser("validate", help="check every value of a trace against FORMAT.md")
    q.add_argument("file")
    q.set_defaults(func=_validate)

    q = tsub.add_parser("stats", help="synaptic operations, sparsity and firing rates")
    q.add_argument("file")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(func=_stats)

    q = tsub.add_parser("synth", help="write a synthetic Poisson workload")
    q.add_argument("out", help="output .h5 file")
    q.add_argument("--layers", required=True,
                   help="comma-separated sizes or CxHxW shapes, input first, e.g. 784,256,10")
    q.add_argument("--connectivity", choices=["dense", "random", "conv"], default="dense")
    q.add_argument("--fanout", type=int, default=128, help="synapses per neuron (random)")
    q.add_argument("--kernel", type=int, default=3, help="kernel size (conv)")
    q.add_argument("--rate-hz", default="20", help="firing rate, or one per layer: 50,20,5")
    q.add_argument("--rate-profile", default=None,
                   help="rate multipliers spread over the steps, e.g. 1,3,1")
    q.add_argument("--dt-s", type=float, default=1e-3)
    q.add_argument("--steps", type=int, default=1000)
    q.add_argument("--samples", type=int, default=1)
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--recurrent", action="store_true",
                   help="self-connect each non-input layer (one layer: all recurrent)")
    q.add_argument("--weights", action="store_true", help="store random int8 weights")
    q.add_argument("--kind", choices=["snn", "ann"], default="snn",
                   help="snn: Poisson spikes (default); ann: int8 activations, one step")
    q.add_argument("--sparsity", type=float, default=0.5,
                   help="ann: fraction of zero activations per layer, 0..1 (default 0.5)")
    q.add_argument("--force", "-f", action="store_true", help="overwrite OUT if it exists")
    q.set_defaults(func=_synth)


def _info(args):
    from tlmsim.activity import open_trace
    from tlmsim.activity.inputs import detect
    kind = detect(args.file)
    if kind != "hdf5":
        return _info_csv(args.file) if kind == "csv" else _info_onnx(args.file)
    with open_trace(args.file) as tr:
        attrs = tr.attrs
        print(f"{args.file}: {tr.kind} trace, format version {tr.version}, "
              f"{tr.n_samples} samples x {tr.n_steps} steps"
              + (f" of {tr.dt_s:g} s" if tr.kind in ("snn", "hybrid") else ""))
        print(f"producer: {tr.producer}")
        if "accuracy" in attrs:
            print(f"accuracy: {attrs['accuracy']}")
        for layer in tr.network:
            if tr.has_spikes(layer.name):
                act = f"{tr.n_events(layer.name)} spikes"
            elif layer.name in tr.activation_layers:
                act = "activations"
            else:
                act = "no activity"
            w = " weights" if any(s.weights is not None for s in layer.synapses.values()) else ""
            src = f" <- {','.join(layer.sources)}" if layer.sources else ""
            op = f" ({layer.op})" if layer.op else ""
            mode = f" [{layer.mode}]" if tr.kind == "hybrid" else ""
            print(f"  {layer.name:<12} {layer.kind:<9} {'x'.join(map(str, layer.shape)):<12}"
                  f" {layer.n_neurons:>9} neurons{src}{op}{mode}{w}; {act}")
    return 0


def _info_csv(path):
    from tlmsim.activity.topology import read_topology
    topo = read_topology(path)
    print(f"{path}: {topo.format} CSV, {len(topo.gemms)} GEMM(s) (A is M x K, W is K x N)")
    for g in topo.gemms:
        print(f"  {g.name:<16} {g.kind:<7} M={g.m:<8} K={g.k:<7} N={g.n:<7} {g.macs:>14,} MACs")
    print(f"  total {sum(g.macs for g in topo.gemms):,} MACs")
    return 0


def _info_onnx(path):
    from tlmsim.activity.onnx_import import lower_file
    layers = lower_file(path)
    print(f"{path}: ONNX model, {len(layers)} layer(s) once lowered (shapes without the batch)")
    for s in layers:
        what = s.op or s.window.get("pool") or (s.neuron_model if s.kind in ("dense", "conv2d")
                                                 else "")
        src = f" <- {','.join(s.sources)}" if s.sources else ""
        print(f"  {s.name:<16} {s.kind:<11} {'x'.join(map(str, s.shape)):<10} {what}{src}")
    return 0


def _convert(args):
    from tlmsim.activity.onnx_import import onnx_to_trace
    layers = onnx_to_trace(args.model, args.out, inputs=args.record)
    print(f"wrote {args.out}: {len(layers)} layers"
          + (", activations recorded" if args.record else ", no activity"))
    return 0


def _validate(args):
    from tlmsim.activity import validate
    summary = validate(args.file)
    print(f"{args.file}: valid {summary['kind']} trace, {summary['layers']} layers, "
          f"{summary['events']} spike events")
    return 0


def _stats(args):
    from tlmsim.activity import trace_stats
    st = trace_stats(args.file)
    if args.json:
        print(json.dumps(st, indent=2))
        return 0
    print(f"{args.file}: {st['kind']}, {st['n_samples']} samples x {st['n_steps']} steps")
    print(f"  {'layer':<12} {'neurons':>9} {'nonzero':>11} {'sparsity':>8} {'rate_hz':>9} "
          f"{'syn_ops':>13} type")
    for name, row in st["layers"].items():
        rate = row.get("firing_rate_hz")
        ops = row.get("synaptic_ops", row.get("vector_ops"))
        print(f"  {name:<12} {row['n_neurons']:>9} {row.get('nonzero', '-'):>11} "
              f"{_f(row.get('sparsity'), '.4f'):>8} {_f(rate, '.2f'):>9} "
              f"{'-' if ops is None else ops:>13} "
              f"{row.get('ops_type') or ('vector' if 'vector_ops' in row else '')}")
    t = st["totals"]
    print(f"  total synaptic ops {t['synaptic_ops']} ({t['effective_acs']} AC, "
          f"{t['effective_macs']} MAC), {t['synaptic_ops_per_sample']:.6g} per sample; "
          f"activation sparsity {_f(t['activation_sparsity'], '.4f')}")
    if "vector_ops" in t:
        print(f"  vector ops (elementwise, encoders, decoders) {t['vector_ops']}")
    return 0


def _f(value, fmt):
    return "-" if value is None else format(value, fmt)


def _numbers(text, kind, what):
    try:
        return [kind(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ParameterError(f"{what}: cannot read {text!r}; give comma-separated numbers") \
            from None


def _synth(args):
    from tlmsim.activity import synth
    layers = []
    for part in args.layers.split(","):
        try:
            dims = tuple(int(d) for d in part.lower().split("x"))
        except ValueError:
            raise ParameterError(f"--layers: cannot read {part!r}; give sizes like 784 or "
                                 "shapes like 2x32x32") from None
        if min(dims) < 1:
            raise ParameterError(f"--layers: {part!r} has a size below 1")
        layers.append(dims[0] if len(dims) == 1 else dims)
    rates = _numbers(args.rate_hz, float, "--rate-hz")
    profile = _numbers(args.rate_profile, float, "--rate-profile") if args.rate_profile else None
    if args.steps < 1 or args.samples < 1:
        raise ParameterError("--steps and --samples must be at least 1")
    _check_new_file(args.out, args.force)
    if args.kind == "ann":
        from tlmsim.activity import synth_ann
        if args.connectivity == "random":
            raise ParameterError("--kind ann makes dense or conv layers, not random ones")
        synth_ann(args.out, layers=layers, connectivity=args.connectivity, kernel=args.kernel,
                  sparsity=args.sparsity, n_samples=args.samples, seed=args.seed,
                  with_weights=args.weights)
        print(f"wrote {args.out}")
        return 0
    synth(args.out, layers=layers, connectivity=args.connectivity, fanout=args.fanout,
          kernel=args.kernel, rates_hz=rates[0] if len(rates) == 1 else rates,
          rate_profile=profile, dt_s=args.dt_s, n_steps=args.steps, n_samples=args.samples,
          seed=args.seed, recurrent=args.recurrent, with_weights=args.weights)
    print(f"wrote {args.out}")
    return 0


def _check_new_file(path, force):
    """Refuse to replace an existing file without --force, or to write into no folder."""
    if os.path.isdir(path):
        raise OutputError(f"{path} is a folder; give a file name such as {path}/trace.h5")
    if os.path.exists(path) and not force:
        raise OutputError(f"{path} exists; give another name, or --force to overwrite it")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OutputError(f"cannot write {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write {path}: the folder {folder} is not writable")
