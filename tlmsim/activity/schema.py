"""Names and constants of the activity-trace format (see traces/FORMAT.md).

Everything a writer, reader and validator must agree on lives here, so the format is
defined in one place.
"""

import numpy as np

#: Value of the file attribute ``format``.
FORMAT_NAME = "tlmsim-activity"
#: The newest format version this code writes; it reads the versions in
#: `READABLE_VERSIONS`. A file is written as version 1 unless it uses a version-2 feature
#: (`V2_KINDS`, `V2_LAYER_KINDS` or a layer ``mode`` attribute), so version-1 readers keep
#: reading every file they could read before.
VERSION = 2
READABLE_VERSIONS = (1, 2)

#: Trace kinds: spiking (events per step), conventional (activations per sample), or
#: hybrid (version 2: layers of both modes, each naming its own).
KINDS = ("snn", "ann", "hybrid")
#: What a layer's activity is: activations per sample or spike events per step.
MODES = ("ann", "snn")

#: Layer kinds and what connects a layer to each of its sources.
LAYER_KINDS = ("input", "dense", "conv2d", "pooling", "recurrent", "sparse",
               "elementwise", "encoder", "decoder")
#: Layer kinds that may list themselves among their sources.
SELF_SOURCE_KINDS = ("recurrent", "sparse")
POOL_OPS = ("avg", "max", "sum")

#: Version-2 layer kinds: element by element, no synapses (neuron i from neuron i of each
#: source). ``elementwise`` applies ``op``; ``encoder`` turns activations into spikes over
#: the steps (``encoding``); ``decoder`` turns spikes back into activations (``decoding``).
ONE_TO_ONE_KINDS = ("elementwise", "encoder", "decoder")
#: The layer attribute naming the operation of each one-to-one kind (`Layer.op`).
OP_ATTRS = {"elementwise": "op", "encoder": "encoding", "decoder": "decoding"}
#: Elementwise operations on two or more sources, and on exactly one.
ELEMENTWISE_NARY = ("add", "sub", "mul", "max")
ELEMENTWISE_UNARY = ("relu", "sigmoid", "tanh", "exp", "neg", "identity", "scale")
ENCODINGS = ("rate", "direct")
DECODINGS = ("count", "last")
#: What needs version 2.
V2_KINDS = ("hybrid",)
V2_LAYER_KINDS = ONE_TO_ONE_KINDS

#: Dtypes of the activity datasets.
NEURON_DTYPE = np.dtype("<u4")
OFFSET_DTYPE = np.dtype("<i8")
ACTIVATION_DTYPE = np.dtype("i1")

#: Default number of events per HDF5 chunk of a ``neuron`` dataset (1 MiB of uint32).
CHUNK_EVENTS = 1 << 18
#: Default number of entries per chunk of an ``offsets`` dataset.
CHUNK_OFFSETS = 1 << 15

#: Groups of the file.
LAYERS_GROUP = "network/layers"
ACTIVITY_GROUP = "activity"


def layer_group_name(index, name):
    """The HDF5 group name of layer number `index` (topological order) called `name`."""
    return f"{index:04d}_{name}"


def split_group_name(group_name):
    """(index, layer name) from a group name such as ``0003_conv1``; None if malformed."""
    head, sep, name = group_name.partition("_")
    if not sep or not head.isdigit() or not name:
        return None
    return int(head), name


import re  # noqa: E402

#: Layer names: letters, digits, ``_ . -``; they name HDF5 groups, so no ``/``.
NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")


def format_error(path, where, problem, fix=None):
    """A `TraceFormatError` naming the file, the dataset or group, the problem and the fix."""
    from tlmsim.errors import TraceFormatError
    where = f":{where}" if where else ""
    text = f"{path}{where}: {problem}"
    if fix:
        text += f"\n  fix: {fix}"
    return TraceFormatError(text)
