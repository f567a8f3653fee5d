"""Replay: driving a platform model from an activity trace.

Spiking platforms share these pieces:
  - `workload`: the network and its spikes as a replay sees them (`Workload` in memory,
    `TraceWorkload` streaming a trace file window by window);
  - `geometry`: where cores sit (tiles, chips, input ports) on the mesh;
  - `mapper`: placing neurons on cores within their limits (policies, explicit placement,
    resource table, `MappingError`);
  - `snn`: the step loop (`replay_snn`, `SnnReplay`): per-window fan-out counts, per-step NoC flows,
    barrier, real-time padding, per-step/per-core tables, invariants, the `Report`;
    optional TrueNorth-style ticks (`SnnPlatform.deliver_next_step`) and leakage of
    the chips' unused cores (`SnnPlatform.idle_core_static_power_w`);
  - `crossbar`: mapping onto binary-crossbar cores (TrueNorth): partial-sum layers for
    large fan-in, splitter trees for fan-out to several cores, axon-type weight
    quantisation, and the workload wrapper that replays the added neurons' spikes.
A platform supplies a tile class (`tlmsim.tiles.neurocore.NeuroCore` or its own), costs,
NoC parameters and a barrier function in an `SnnPlatform`.
Software-core platforms (SpiNNaker) use `softcore` (`replay_softcore`): per-core tick
processes, multicast routing, synaptic rows fetched by DMA, overruns; the platform supplies
a `SoftcorePlatform` and a `softcore_mapper.SoftcoreMapping`. Both engines close with
`closing`: the checked energy ledger, the report's energy invariants, utilisation.
`populations` builds synthetic workloads in memory (random populations, the cortical
microcircuit) and `softcore_power` reads published power models off their replays (the
SpiNNaker platform's calibration and validation).

ANN platforms on matrix units (the TPU) use `gemm`: layers lowered to GEMMs
(`gemms_from_trace`), placed in the activation buffer and cut into folds (`plan`).

A datapath that runs every layer itself (the `generic` platform, the `hybrid` platform's
generic engine) uses `datapath_items`: per sample, layer and step, the active synapses,
inputs, outputs, spikes and updated neurons of a recorded ann, snn or hybrid trace.
"""
