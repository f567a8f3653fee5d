"""Activity traces: what a network did, recorded in HDF5 (format: traces/FORMAT.md).

Reading (what platforms use)::

    from tlmsim.activity import open_trace, trace_stats
    with open_trace("trace.h5") as tr:         # TraceFormatError if unreadable
        tr.kind, tr.dt_s, tr.n_steps, tr.n_samples, tr.attrs
        for layer in tr.network:               # Layer objects, topological order
            layer.name, layer.kind, layer.shape, layer.n_neurons, layer.sources
            layer.mode, layer.op                # v2: ann/snn; elementwise/encoder/decoder op
            layer.weight_bits, layer.neuron_model, layer.neuron_params
            layer.weights                      # array, or None (not stored / many sources)
            indptr, indices = layer.fanout_csr(src)   # pre (in src) -> post (in layer)
            layer.fanout_weights(src)          # weights lined up with indices, or None
            layer.fanout_counts(src)           # synapses per presynaptic neuron
        tr.spikes(name, sample, step)          # O(1) seek: ids that spiked then
        tr.window(name, sample, step0, n)      # (offsets, ids) of n steps
        for step0, offsets, ids in tr.iter_windows(name, sample, window_steps): ...
        for slot0, offsets, ids in tr.iter_blocks(name, max_events): ...  # whole layer
        tr.activations(name, samples), tr.nonzero_per_channel(name)    # ann traces
        tr.validate()                          # read and check every value
        trace_stats(tr)                        # NeuroBench-style statistics (dict)

Writing: `TraceWriter` (chunked, bounded memory) and `write_trace` (from arrays).
Checking: `validate(path)` (whole file; one layer's description: `checks.check_layer`).
Statistics: `trace_stats(trace_or_path)`. The first samples of a trace as a
trace: `first_samples`. Synthetic workloads (in `tlmsim.activity.synthetic`): `synth`
(spikes) and `synth_ann` (activations).
Converters (`tlmsim.activity.convert`): `raster_to_events`, `tonic_events_to_slots`,
`SpikeRecorder` (snnTorch), `layers_from_nir`.

Layering (no import cycles): `schema` and `connectivity` at the bottom; `checks` (pure
array checks) on them; the trace model `network` on `checks`; the `reader` and `writer` on
the model; `validate`, `stats` and `subset` on the reader (so statistics are
`trace_stats(tr)`, not a method of the trace); `synthetic` on the writer.
"""

from tlmsim.activity.network import Layer, Network, Synapses
from tlmsim.activity.reader import Trace, open_trace
from tlmsim.activity.schema import FORMAT_NAME, VERSION
from tlmsim.activity.stats import trace_stats
from tlmsim.activity.subset import first_samples
from tlmsim.activity.synthetic import synth, synth_ann
from tlmsim.activity.validate import validate
from tlmsim.activity.writer import TraceWriter, write_trace

__all__ = ["FORMAT_NAME", "VERSION", "Layer", "Network", "Synapses", "Trace", "TraceWriter",
           "first_samples", "open_trace", "synth", "synth_ann", "trace_stats", "validate",
           "write_trace"]
