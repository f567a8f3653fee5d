"""Weight memory of a systolic accelerator: the path from off-chip DRAM to the weight FIFO
(`WeightMemory`), and the calibration that times DRAM channels once on a stream of tiles
(`calibrate`).

Two models, chosen by ``params.model``:

- ``bandwidth``: a pipe of the published bandwidth (``bandwidth_gbps``) of which a fraction
  is achieved; the fraction, the latency and the energy per byte are measured once on the
  DRAM channel model of ``preset`` (``channels`` channels reading a stream of tiles), so
  refresh and row switches cost what they cost a DDR3 channel, scaled to the published rate;
- ``dram``: ``channels`` channels of ``preset`` (`tlmsim.components.DramChannel`), each tile
  interleaved over them; ``timing`` ``channel`` times every tile on the channel models,
  ``calibrated`` uses the stream's measured latency and bandwidth.

`WeightMemory` reads its parameters by duck typing: ``model``, ``bandwidth_gbps``,
``capacity_bytes``, ``preset``, ``channels`` and ``timing``, as in
`tlmsim.platforms.tpu.WeightMemoryParams`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from tlmsim.errors import InvariantError, ParameterError
from tlmsim.kernel import Module, PS_PER_S, Simulator

if TYPE_CHECKING:
    from tlmsim.components.dram import DramChannel


class WeightMemory(Module):
    """The weight fetcher's path to DRAM.

    `transfer(nbytes)` issues one tile read now and returns when its last byte arrives (ps).
    In the ``bandwidth`` model and in ``dram`` with ``calibrated`` timing a fetch costs
    latency + bytes / sustained bandwidth after the previous fetch (next-free time); in
    ``dram`` with ``channel`` timing each tile is one bulk transaction per channel.
    """

    kind = "dram"
    CALIBRATION_TILES = 64

    def __init__(self, parent: Module, name: str, params: Any, tile_bytes: int) -> None:
        """`params`: the fields named in the module doc (duck typed: they are declared by
        the platform, `tlmsim.platforms.tpu.WeightMemoryParams`)."""
        super().__init__(parent, name)
        from tlmsim.components import DramChannel, dram_preset
        self.model = getattr(params, "model", "dram")
        self.mode = "calibrated" if self.model == "bandwidth" else params.timing
        self.n = params.channels
        dram = dram_preset(params.preset)
        capacity = (params.capacity_bytes if self.model == "bandwidth"
                    else self.n * dram.capacity_bytes)
        if tile_bytes > capacity:
            raise ParameterError(
                f"one weight tile (array rows x cols = {tile_bytes:,} B) exceeds the weight "
                f"memory ({capacity:,} B): use a smaller array (array.rows, array.cols) or a "
                "larger weight memory")
        lat_ps, bw, pj_per_byte = calibrate(params.preset, self.n, tile_bytes)
        channel_peak = self.n * dram.peak_bytes_per_s
        #: share of the peak rate a stream of tiles achieves (measured on the channel model)
        self.achieved_fraction = bw / channel_peak
        if self.model == "bandwidth":
            self.peak_bytes_per_s = params.bandwidth_gbps * 1e9
            bw = self.peak_bytes_per_s * self.achieved_fraction
        else:
            self.peak_bytes_per_s = channel_peak
        self.bytes_per_s = bw
        self.latency_ps = lat_ps
        self.bytes = 0
        self.busy_ps = 0
        self.free_ps = 0
        if self.mode == "channel":
            self.energy_pj = {}
            self.channels = [DramChannel(self, f"ch{i}", dram) for i in range(self.n)]
            for ch in self.channels:
                ch.socket.required = False  # the fetcher calls the channels directly
            self.offsets = [0] * self.n
            self.capacity = dram.capacity_bytes
        else:
            self.energy_pj = {"read_byte": pj_per_byte}
            # bandwidth model: the DRAM's background power is inside the die's idle power
            self.static_power_w = 0.0 if self.model == "bandwidth" else \
                self.n * dram.background_power_w

    def transfer(self, nbytes: int) -> int:
        """Issue a read of `nbytes` now; the time (ps) its last byte arrives."""
        now = self.sim.now
        self.bytes += nbytes
        if self.mode == "calibrated":
            start = max(now, self.free_ps)
            busy = int(math.ceil(nbytes * PS_PER_S / self.bytes_per_s))
            self.free_ps = start + busy
            self.busy_ps += busy
            self.count("read_byte", nbytes)
            if self.sim.timeline is not None:
                self.busy(start, self.free_ps, "tile")
            return self.free_ps + self.latency_ps
        return self._channel_transfer(nbytes, now)

    def _channel_transfer(self, nbytes: int, now: int) -> int:
        from tlmsim.kernel import Command, Status, Transaction
        end = now
        for i, ch in enumerate(self.channels):
            share = nbytes // self.n + (1 if i < nbytes % self.n else 0)
            if not share:
                continue
            if self.offsets[i] + share > self.capacity:
                self.offsets[i] = 0  # wrap: the weights of a long replay are re-read
            txn = Transaction(Command.READ, self.offsets[i], share)
            self.offsets[i] += share
            end = max(end, ch.access(txn, now))
            if txn.status != Status.OK:
                raise InvariantError(f"weight read of {share} B at {txn.address} on "
                                     f"{ch.full_name} failed: {txn.status}")
        self.busy_ps = max(self.busy_ps, max(ch.stats.busy_ps for ch in self.channels))
        return end

    def settle(self, now_ps: int) -> None:
        if self.mode == "channel":
            for ch in self.channels:
                ch.settle(now_ps)

    def utilization(self, elapsed_ps: int) -> float:
        """Busy fraction of the run (of all channels, in the ``channel`` timing)."""
        if not elapsed_ps:
            return 0.0
        if self.mode == "channel":
            return min(1.0, sum(ch.stats.busy_ps for ch in self.channels) / (self.n * elapsed_ps))
        return min(1.0, self.busy_ps / elapsed_ps)


_CALIBRATION: dict[tuple[str, int, int], tuple[int, float, float]] = {}

#: largest tile (bytes) the calibration stream reads: a longer tile is a longer sequential
#: read of the same kind, and its stream would pass the channels' capacity
CALIBRATION_MAX_TILE_BYTES = 1 << 20


def calibrate(preset: str, channels: int, tile_bytes: int) -> tuple[int, float, float]:
    """(latency ps, sustained B/s, pJ per byte) of `channels` DRAM channels of `preset`
    reading a stream of tiles of `tile_bytes` (at most `CALIBRATION_MAX_TILE_BYTES`), each
    interleaved over the channels.

    Latency: the first tile's arrival minus its transfer time at the peak rate;
    bandwidth: the bytes of the other tiles over the time from the first tile's arrival
    to the last's; energy: the channels' dynamic energy (activates, bursts, refreshes)
    over all bytes read. Cached per (preset, channels, tile_bytes).
    """
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise ParameterError(f"weight_memory.channels={channels!r} must be a positive integer")
    if not isinstance(tile_bytes, int) or tile_bytes < 1:
        raise ParameterError(f"weight tile of {tile_bytes!r} B: must be a positive integer")
    tile_bytes = min(tile_bytes, CALIBRATION_MAX_TILE_BYTES)
    key = (preset, channels, tile_bytes)
    if key in _CALIBRATION:
        return _CALIBRATION[key]
    from tlmsim.components import DramChannel, dram_preset
    sim = Simulator()
    dram = dram_preset(preset)
    chans = [DramChannel(sim, f"ch{i}", dram) for i in range(channels)]
    peak = channels * dram.peak_bytes_per_s
    n = WeightMemory.CALIBRATION_TILES
    ends = [_read_tile(chans, t, tile_bytes) for t in range(n)]
    if not all(b > a for a, b in zip(ends, ends[1:])):
        raise InvariantError(f"DRAM calibration of {preset} x {channels} on {tile_bytes} B "
                             "tiles: arrivals are not increasing")
    bw = (n - 1) * tile_bytes * PS_PER_S / (ends[-1] - ends[0])
    latency = max(0, int(round(ends[0] - tile_bytes * PS_PER_S / peak)))
    for ch in chans:
        ch.settle(ends[-1])
    dyn_pj = sum(c * ch.energy_pj[a] for ch in chans for a, c in ch.counts.items())
    result = (latency, bw, dyn_pj / (n * tile_bytes))
    _CALIBRATION[key] = result
    return result


def _read_tile(chans: list[DramChannel], t: int, tile_bytes: int) -> int:
    """Read tile `t` of a sequential stream interleaved over `chans`; its arrival (ps)."""
    from tlmsim.kernel import Command, Status, Transaction
    end = 0
    n = len(chans)
    for i, ch in enumerate(chans):
        share = tile_bytes // n + (1 if i < tile_bytes % n else 0)
        offset = t * share
        txn = Transaction(Command.READ, offset, share)
        end = max(end, ch.access(txn, 0))
        if txn.status != Status.OK:
            raise InvariantError(f"DRAM calibration read of {share} B at {offset} failed: "
                                 f"{txn.status}")
    return end
