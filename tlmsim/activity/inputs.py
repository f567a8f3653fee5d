"""What `tlmsim replay FILE` accepts, told apart by content and extension.

- an HDF5 activity trace (traces/FORMAT.md): replayed by the platform's ``replay``;
- a CSV (`tlmsim.activity.topology`: SCALE-Sim convolution or GEMM topology, or a plain
  ``name,M,K,N`` GEMM list): a GEMM list, replayed by the platform's ``replay_gemms``
  (platforms with a matrix unit: tpu);
- an ONNX model (`tlmsim.activity.onnx_import`, needs the ``[onnx]`` extra): lowered to an
  ANN trace (with activations recorded by onnxruntime when `record` names an ``.npy`` of
  inputs), written to `trace_out` (or a temporary file) and replayed like a trace.
"""

import os
import tempfile

from tlmsim.errors import ParameterError, TlmsimError, TraceFormatError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def kind_of(path):
    """``"hdf5"``, ``"csv"`` or ``"onnx"`` for the file at `path`, None for anything else
    (a missing file included)."""
    path = str(path)
    if not os.path.isfile(path):
        return None
    with open(path, "rb") as f:
        head = f.read(8)
    if head == HDF5_SIGNATURE:
        return "hdf5"
    if path.lower().endswith(".onnx"):
        return "onnx"
    from tlmsim.activity.topology import looks_like_csv
    if path.lower().endswith(".csv") or looks_like_csv(path):
        return "csv"
    if path.lower().endswith((".h5", ".hdf5")):
        return "hdf5"  # let the trace reader say what is wrong with it
    return None


def detect(path):
    """`kind_of(path)`, or a `TraceFormatError` naming the accepted kinds."""
    kind = kind_of(path)
    if kind is not None:
        return kind
    if not os.path.isfile(str(path)):
        raise TraceFormatError(f"{path}: no such file")
    raise TraceFormatError(
        f"{path}: not a file tlmsim replays; it takes an HDF5 activity trace (traces/FORMAT.md)"
        ", a CSV (SCALE-Sim convolution or GEMM topology, or name,M,K,N) or an ONNX model "
        "(.onnx)")


def gemm_platforms():
    """Names of the platforms that replay GEMM lists (they define ``replay_gemms``)."""
    from tlmsim import registry
    out = []
    for name in registry.platforms():
        try:
            if hasattr(registry.get_platform(name), "replay_gemms"):
                out.append(name)
        except Exception:  # a broken plug-in must not hide the others
            continue
    return out


def replay_file(platform_name, path, params=None, progress=False, record=None,
                trace_out=None, **options):
    """Replay `path` (any kind `detect` knows) on the platform `platform_name`; returns the
    platform's `Report`. `record` (ONNX only) is an ``.npy`` of model inputs whose
    activations are recorded; `trace_out` is where the trace made from an ONNX model is
    kept (default with `record`: next to the model, ``MODEL.h5``; without: not kept)."""
    from tlmsim import registry
    platform = registry.get_platform(platform_name)
    kind = detect(path)
    if record is not None and kind != "onnx":
        raise ParameterError(f"--record runs an ONNX model on its inputs; {path} is a {kind} "
                             "file")
    if kind == "hdf5":
        return platform.replay(path, params, progress=progress, **options)
    if kind == "csv":
        return _replay_csv(platform, platform_name, path, params, progress, **options)
    return _replay_onnx(platform, path, params, progress, record, trace_out, **options)


def _replay_csv(platform, name, path, params, progress, **options):
    from tlmsim.activity.topology import read_topology
    if not hasattr(platform, "replay_gemms"):
        takes = ", ".join(gemm_platforms()) or "none installed"
        raise ParameterError(f"{path} is a GEMM list (CSV); platform {name!r} replays activity "
                             f"traces only. GEMM lists replay on: {takes}")
    topo = read_topology(path)
    if progress:
        print(f"{path}: {topo.format} CSV, {len(topo.gemms)} GEMM(s)")
    return platform.replay_gemms(topo.gemms, params, trace=str(path), samples=topo.samples,
                                 progress=progress, **options)


def _replay_onnx(platform, path, params, progress, record, trace_out, **options):
    from tlmsim.activity.onnx_import import onnx_to_trace
    if trace_out is None and record is not None:
        trace_out = os.path.splitext(str(path))[0] + ".h5"
    if trace_out is not None:
        onnx_to_trace(path, trace_out, inputs=record)
        if progress:
            print(f"{path}: trace written to {trace_out}")
        return platform.replay(trace_out, params, progress=progress, **options)
    with tempfile.TemporaryDirectory(prefix="tlmsim_onnx_") as tmp:
        out = os.path.join(tmp, os.path.splitext(os.path.basename(str(path)))[0] + ".h5")
        onnx_to_trace(path, out)
        try:
            report = platform.replay(out, params, progress=progress, **options)
        except TlmsimError as e:
            text = str(e).replace(out, str(path))
            if "activ" in text:  # the platform needs recorded activity
                text += ("\n  (a trace made from an ONNX model without --record INPUTS.npy "
                         "has no recorded activity)")
            raise type(e)(text) from None
    report.trace = str(path)
    return report
