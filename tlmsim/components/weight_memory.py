"""Weight memory of a systolic accelerator: DRAM channels read a weight tile at a time,
each tile interleaved over the channels (`WeightMemory`), and the calibration that times the
channels once on a stream of tiles (`calibrate`).

`WeightMemory` reads its parameters by duck typing: ``preset``, ``channels`` and ``timing``
(``"channel"`` or ``"calibrated"``), as in `tlmsim.platforms.tpu.WeightMemoryParams`.
"""

import math

from tlmsim.kernel import Module, PS_PER_S, Simulator


class WeightMemory(Module):
    """The weight fetcher's path to DRAM: `channels` DDR3 channels, a tile interleaved over them.

    `transfer(nbytes)` issues one tile read now and returns when its last byte arrives (ps).
    In ``channel`` timing each tile is one bulk transaction per channel on
    `tlmsim.components.DramChannel` (weights are laid out sequentially, so reads mostly hit
    open rows). In ``calibrated`` timing the same channels are timed once, on a stream of
    `CALIBRATION_TILES` full tiles, and fetches then cost latency + bytes / bandwidth with
    the measured values (next-free-time arithmetic; energy per byte measured the same way).
    """

    kind = "dram"
    CALIBRATION_TILES = 64

    def __init__(self, parent, name, params, tile_bytes):
        super().__init__(parent, name)
        from tlmsim.components import DramChannel, dram_preset
        self.mode = params.timing
        self.n = params.channels
        dram = dram_preset(params.preset)
        self.peak_bytes_per_s = self.n * dram.peak_bytes_per_s
        lat_ps, bw, pj_per_byte = calibrate(params.preset, self.n, tile_bytes)
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
            self.static_power_w = self.n * dram.background_power_w

    def transfer(self, nbytes):
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
        from tlmsim.kernel import Command, Transaction
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
        self.busy_ps = max(self.busy_ps, max(ch.stats.busy_ps for ch in self.channels))
        return end

    def settle(self, now_ps):
        if self.mode == "channel":
            for ch in self.channels:
                ch.settle(now_ps)

    def utilization(self, elapsed_ps):
        if not elapsed_ps:
            return 0.0
        if self.mode == "channel":
            return min(1.0, sum(ch.stats.busy_ps for ch in self.channels) / (self.n * elapsed_ps))
        return min(1.0, self.busy_ps / elapsed_ps)


_CALIBRATION = {}


def calibrate(preset, channels, tile_bytes):
    """(latency ps, sustained B/s, pJ per byte) of `channels` DRAM channels of `preset`
    reading a stream of tiles of `tile_bytes`, each interleaved over the channels.

    Latency: the first tile's arrival minus its transfer time at the peak rate;
    bandwidth: the bytes of the other tiles over the time from the first tile's arrival
    to the last's; energy: the channels' dynamic energy (activates, bursts, refreshes)
    over all bytes read. Cached per (preset, channels, tile_bytes).
    """
    key = (preset, channels, tile_bytes)
    if key in _CALIBRATION:
        return _CALIBRATION[key]
    from tlmsim.components import DramChannel, dram_preset
    from tlmsim.kernel import Command, Transaction
    sim = Simulator()
    dram = dram_preset(preset)
    chans = [DramChannel(sim, f"ch{i}", dram) for i in range(channels)]
    peak = channels * dram.peak_bytes_per_s
    n = WeightMemory.CALIBRATION_TILES
    ends = []
    offset = [0] * channels
    for _ in range(n):
        end = 0
        for i, ch in enumerate(chans):
            share = tile_bytes // channels + (1 if i < tile_bytes % channels else 0)
            end = max(end, ch.access(Transaction(Command.READ, offset[i], share), 0))
            offset[i] += share
        ends.append(end)
    bw = (n - 1) * tile_bytes * PS_PER_S / (ends[-1] - ends[0])
    latency = max(0, int(round(ends[0] - tile_bytes * PS_PER_S / peak)))
    for ch in chans:
        ch.settle(ends[-1])
    dyn_pj = sum(c * ch.energy_pj[a] for ch in chans for a, c in ch.counts.items())
    result = (latency, bw, dyn_pj / (n * tile_bytes))
    _CALIBRATION[key] = result
    return result
