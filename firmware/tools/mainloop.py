# The firmware's real main loop (firmware/main.py: every task, the supervisor, the watchdog) on
# MicroPython, over the simulated IMU fed with the virtual runner, with stand-ins for machine,
# bluetooth and aioble (firmware/sim/) and a central that connects, pairs and streams.
#
# Run in the MicroPython WebAssembly port, awaited from runPythonAsync (tests/micropython/run.mjs
# --async, with firmware/ and shared/ at /lib, firmware/sim/ at /sim, firmware/tools/ at /tools):
#
#   from mainloop import main; await main([BOARD, SECONDS, HEAP_BYTES, COUNTS_FILE, "key=value", ...])
#     mtu=247            the central's largest ATT MTU (23: a host that never raises it)
#     stall_ms=0         block the loop this long (a flash write, a long GC) ...
#     stall_every_ms=0   ... this often, from a task of its own
#     interval_ms=15     the central's connection interval; per_event=4 notifications per event
#
# Prints one line: MAINLOOP {json} with what was measured (see firmware_bench.py, which runs it
# for `stridecue bench --only firmware`, and tests/firmware/test_firmware_mainloop.py).
#
# The board's heap: the WebAssembly port grows its heap on demand (gc.mem_free() reads ~128 MB
# whatever heapsize is set), so the board's budget is imposed here: what the firmware holds is
# gc.mem_alloc() above the harness's own data, and the firmware sees the board's budget minus that
# through its free-heap seam (stridenode.memory.free_heap).
#
# Allocation: with the collector off, how much the heap grows per second in windows after the
# warm-up: the garbage a board's collector would have to reclaim (allocations less what was freed
# explicitly, e.g. a list that shrank).  It includes this port's asyncio, which idles by setting
# a JavaScript timer (a board idles in C); the idle wakes are counted and reported beside it.

import asyncio
import gc
import json
import sys
import time

_WARMUP_MS = 8000
_WINDOW_MS = 4000
_PEEK_MS = 50
_KEEP = 8  # packets kept whole for a full decode after the run


def _options(argv):
    opts = {"mtu": 247, "stall_ms": 0, "stall_every_ms": 0, "interval_ms": 15, "per_event": 4, "warmup_ms": _WARMUP_MS}
    for item in argv:
        key, value = item.split("=")
        if key not in opts:
            raise SystemExit("mainloop.py: unknown option %s" % key)
        opts[key] = int(value)
    return opts


def _median(values):
    values = sorted(values)
    n = len(values)
    return (values[n // 2] + values[(n - 1) // 2]) / 2 if n else 0


class Receiver:
    """The central's side of the data: checks each packet's place in the stream without allocating."""

    def __init__(self):
        self.packets = 0
        self.bytes = 0
        self.samples = 0
        self.resent = 0
        self.gaps = 0
        self.missing = 0
        self.next = -1
        self.stream_id = -1
        self.bad = 0
        self.kept = [bytearray(247) for _ in range(_KEEP)]
        self.kept_len = [0] * _KEEP
        self.statuses = 0
        self.status_sizes = [0, 0]  # shortest, longest status notification seen
        self.reply = None  # the last control reply (replies are rare: copying them is fine)
        self.assembler = None
        self.whole = 0  # statuses reassembled from parts (MTU 23)

    def on_data(self, buf, n):
        self.packets += 1
        self.bytes += n
        if n < 23 or buf[0] != 1:
            self.bad += 1
            return
        slot = self.packets % _KEEP
        keep = self.kept[slot]
        k = 0
        while k < n:
            keep[k] = buf[k]
            k += 1
        self.kept_len[slot] = n
        stream_id = buf[2] | (buf[3] << 8)
        first = buf[8] | (buf[9] << 8) | (buf[10] << 16) | (buf[11] << 24)
        count = buf[16]
        if buf[18] & 0x01:  # FLAG_RESENT
            self.resent += 1
            return
        if stream_id != self.stream_id:
            self.stream_id = stream_id
            self.next = first
        if first > self.next:
            self.gaps += 1
            self.missing += first - self.next
        self.next = first + count
        self.samples += count

    def on_status(self, buf, n):
        if buf[0] == 4:
            self.reply = bytes(buf[:n])
            return
        if buf[0] == 5 and self.assembler is not None:  # a part of a status (MTU 23)
            if self.assembler.feed(bytes(buf[:n])) is not None:
                self.whole += 1
        if buf[0] in (2, 5):
            self.statuses += 1
            if self.status_sizes[0] == 0 or n < self.status_sizes[0]:
                self.status_sizes[0] = n
            if n > self.status_sizes[1]:
                self.status_sizes[1] = n


def _count_wakes():
    import asyncio.core as core

    wakes = [0]
    schedule = core._schedule_run_iter

    def counted(dt):
        wakes[0] += 1
        schedule(dt)

    core._schedule_run_iter = counted
    return wakes


KEY_ID = 0x5C1D0001
SECRET = bytes(range(16))
_token = [0]


async def control(central, receiver, opcode, *args):
    """Write a control message as a host does and wait for its reply: (opcode, token, result, detail)."""
    import stridewire as sw

    _token[0] = (_token[0] + 1) & 0xFF
    receiver.reply = None
    central.write(sw.CONTROL_UUID, sw.pack_control(opcode, _token[0], *args))
    for _ in range(600):  # 6 s: a host waits this long on a busy link too (link.reply_timeout_s is 3 s)
        if receiver.reply is not None:
            return sw.parse_reply(receiver.reply)
        await asyncio.sleep_ms(10)
    raise SystemExit("mainloop.py: no reply to %s" % sw.OPCODE_NAMES[opcode])


class Rig:
    """The simulated board: the paced IMU on the bus, the board's heap budget imposed, the firmware
    started as main.py starts it; `errors` collects crashed tasks."""

    async def boot(self, board_name, heap_budget, counts_path, window_ms=None):
        await asyncio.sleep_ms(1)  # from here on in a task: gc.collect() works as on a board
        import os

        # read in place: a temporary copy of the recording (tens of kB) that a stale word on the C
        # stack kept alive would be counted as harness data, then freed, and skew the board's heap
        counts = bytearray(os.stat(counts_path)[6])
        with open(counts_path, "rb") as f:
            f.readinto(counts)
        import machine
        from paced import PacedI2C
        from stridenode.boards import load_board
        from stridenode.sim_i2c import make_device

        self.board = load_board(board_name)
        self.device = make_device(self.board)
        self.bus = PacedI2C(self.device, counts)
        machine.attach_i2c(self.bus)
        with open("/config.json", "w") as f:
            json.dump({"board": board_name, "name": "StrideCue-H"}, f)
        with open("/secret.json", "w") as f:  # what `stridecue flash` writes
            json.dump({"key_id": KEY_ID, "secret": SECRET.hex()}, f)
        base = 1 << 30
        for _ in range(4):  # the least of a few collections: a stale root only ever adds
            await asyncio.sleep_ms(1)
            gc.collect()
            base = min(base, gc.mem_alloc())
        self.base = base  # the harness's own data ends here; the board's heap starts
        import stridenode.memory as memory

        def board_free_heap():
            gc.collect()
            return heap_budget - (gc.mem_alloc() - base)

        memory.free_heap = board_free_heap  # before main imports it
        self.heap_budget = heap_budget
        self.peak = 0
        self.over_budget = 0
        self.collections = 0
        self.t_boot = time.ticks_ms()
        import main

        if window_ms is not None:  # a shorter pairing window, so a test need not wait a minute
            opened = main.PairingWindow

            def short_window(clock):
                return opened(clock, open_ms=window_ms)

            main.PairingWindow = short_window
        self.main = main
        self.fw_task = asyncio.create_task(main.main())
        self.heap_task = asyncio.create_task(self._watch_heap())
        while main.current is None:
            await asyncio.sleep_ms(1)
        self.firmware = main.current
        self.node = self.firmware.node
        self.errors = []
        counted = self.firmware.supervisor.on_error

        def task_failed(name, error):
            if len(self.errors) < 8:
                self.errors.append("%s: %s: %s" % (name, type(error).__name__, error))
            counted(name, error)

        self.firmware.supervisor.on_error = task_failed

    async def _watch_heap(self):
        """What the board's heap would do: when the firmware's share passes the budget the
        collector runs (a board collects when an allocation finds no room); still over it after
        the collection, the board would have raised MemoryError."""
        while True:
            if gc.isenabled():  # (the allocation windows switch the collector off on purpose)
                used = gc.mem_alloc() - self.base
                if used > self.heap_budget:
                    gc.collect()
                    self.collections += 1
                    used = gc.mem_alloc() - self.base
                    if used > self.heap_budget:
                        self.over_budget += 1
                if used > self.peak:
                    self.peak = used
            await asyncio.sleep_ms(_PEEK_MS)

    def stop(self):
        self.fw_task.cancel()
        self.heap_task.cancel()


async def authenticate(central, receiver, key_id=KEY_ID, secret=SECRET):
    """AUTH_BEGIN / AUTH_PROVE as the host's link does: (begin result, prove result)."""
    import stridewire as sw

    _, _, result, nonce = await control(central, receiver, sw.OP_AUTH_BEGIN, key_id)
    _, _, proved, _ = await control(central, receiver, sw.OP_AUTH_PROVE, sw.auth_tag(secret, nonce, key_id))
    return result, proved


async def run(board_name, seconds, heap_budget, counts_path, opts):
    wakes = _count_wakes()
    import machine
    from blecentral import Central

    import stridewire as sw

    rig = Rig()
    receiver = Receiver()
    receiver.assembler = sw.StatusAssembler()
    central = Central("c0:ff:ee:00:00:01", mtu=opts["mtu"], interval_ms=opts["interval_ms"],
                      per_event=opts["per_event"])
    await rig.boot(board_name, heap_budget, counts_path)
    if not await central.connect(timeout_ms=10000):
        raise SystemExit("mainloop.py: the firmware never advertised")
    boot_ms = time.ticks_diff(time.ticks_ms(), rig.t_boot)
    firmware = rig.firmware
    node = rig.node
    bus = rig.bus
    device = rig.device
    base = rig.base
    errors = rig.errors
    held = [0, 1 << 30]  # most and least the firmware held right after a collection
    if opts["mtu"] > 23:
        await central.exchange_mtu()
    central.pair(bond=True)
    status = central.read(sw.STATUS_UUID)
    central.subscribe(sw.DATA_UUID, receiver.on_data)
    central.subscribe(sw.STATUS_UUID, receiver.on_status)
    result, proved = await authenticate(central, receiver)
    _, _, started, start_detail = await control(central, receiver, sw.OP_START)
    status_authed = sw.parse_status(central.read(sw.STATUS_UUID))  # the whole status, once authenticated

    stalls = [0, 0]  # count, ms

    async def stall():
        while True:
            await asyncio.sleep_ms(opts["stall_every_ms"])
            time.sleep_ms(opts["stall_ms"])  # blocks everything, as a flash erase or a long GC does
            stalls[0] += 1
            stalls[1] += opts["stall_ms"]

    if opts["stall_ms"] and opts["stall_every_ms"]:
        asyncio.create_task(stall())

    # -- warm-up, then measurement windows ------------------------------------------------
    await asyncio.sleep_ms(opts["warmup_ms"])
    firmware.supervisor.reset_gaps()
    gc.collect()
    held[0] = held[1] = gc.mem_alloc() - base
    windows = []
    # one window to settle: the first window after a collection in this port reads ~30 kB
    # whatever runs (a bare asyncio loop too), so it is measured but not counted
    gc.collect()
    gc.disable()
    settle0 = gc.mem_alloc()
    await asyncio.sleep_ms(_WINDOW_MS)
    settle = gc.mem_alloc() - settle0
    gc.enable()
    t_measure = time.ticks_ms()
    samples0 = node.captured
    packets0 = receiver.packets
    bytes0 = receiver.bytes
    count = (int(seconds * 1000) - opts["warmup_ms"] - _WINDOW_MS) // _WINDOW_MS
    if count < 1:
        raise SystemExit("mainloop.py: %s s is too short to measure (warm-up %d ms + 2 windows)" % (seconds, opts["warmup_ms"]))
    for _ in range(count):
        span = _WINDOW_MS
        gc.collect()
        used = gc.mem_alloc() - base
        if used > held[0]:
            held[0] = used
        if used < held[1]:
            held[1] = used
        gc.disable()
        a0 = gc.mem_alloc()
        w0 = wakes[0]
        t0 = time.ticks_ms()
        await asyncio.sleep_ms(span)
        elapsed = time.ticks_diff(time.ticks_ms(), t0)
        allocated = gc.mem_alloc() - a0
        woke = wakes[0] - w0
        gc.enable()
        windows.append((elapsed, allocated, woke))
    measured_ms = time.ticks_diff(time.ticks_ms(), t_measure)
    captured = node.captured - samples0

    # -- the end: what reached the central, what the firmware says it lost ---------------------
    backlog = node.captured - receiver.next
    supervisor = firmware.supervisor
    worst = {}
    for name in ("sampler", "send", "status"):
        worst[name] = supervisor.worst_gap_ms(name)
    wdt = machine.state.wdt
    fifo_words_lost = device.overwritten
    per_sample_fifo = 14 if device.model == "MPU6886" else 2  # bytes (MPU) or tagged words (ST) per sample
    # the truth: every sample the part produced was captured, is still in its FIFO, or was lost
    # (overwritten, or thrown away with the FIFO reset that follows an MPU6886 overflow)
    bus.catch_up()
    in_fifo = device.count // per_sample_fifo
    lost_truth = bus.produced - node.captured - in_fifo
    decoded = 0
    for k in range(_KEEP):
        n = receiver.kept_len[k]
        if n:
            sw.parse_data(bytes(receiver.kept[k][:n]))
            decoded += 1
    status_values = sw.parse_status(status) if len(status) == sw.STATUS_SIZE else None
    rig.stop()
    total_alloc = sum(w[1] for w in windows)
    total_wakes = sum(w[2] for w in windows)
    window_ms = sum(w[0] for w in windows)
    rate = node.rate
    result = {
        "board": board_name,
        "heap_budget": heap_budget,
        "boot_to_advertising_ms": boot_ms,
        "rate_hz": rate,
        "ring_s": node.ring_seconds,
        "ring_bytes": node.ring.nbytes + len(node._clip),
        # live data: the least held after a collection (this port scans its C stack conservatively,
        # so a stale word can keep tens of kB of garbage alive through one collection; it only ever
        # adds, so the least is the tightest bound); the most is reported beside it
        "held_bytes": held[1],
        "held_most_bytes": held[0],
        "peak_bytes": rig.peak,
        "over_budget_peeks": rig.over_budget,
        "budget_collections": rig.collections,
        "seconds_measured": measured_ms / 1000,
        "alloc_bytes_per_s": total_alloc * 1000 / window_ms,
        "alloc_median_window_bytes_per_s": _median([w[1] * 1000 / w[0] for w in windows]),
        "alloc_worst_window_bytes_per_s": max(w[1] * 1000 / w[0] for w in windows),
        "alloc_settle_window_bytes": settle,
        "idle_wakes_per_s": total_wakes * 1000 / window_ms,
        "alloc_windows": windows,
        "samples_captured": captured,
        "capture_rate_hz": captured * 1000 / measured_ms,
        "imu_produced": bus.produced,
        "fifo_lost_samples": fifo_words_lost // per_sample_fifo,
        "lost_truth_samples": lost_truth,
        "node_dropped": node.dropped,
        "packets": receiver.packets - packets0,
        "bytes_per_s": (receiver.bytes - bytes0) * 1000 / measured_ms,
        "samples_received": receiver.samples,
        "gaps": receiver.gaps,
        "missing_samples": receiver.missing,
        "resent_packets": receiver.resent,
        "bad_packets": receiver.bad,
        "decoded_packets": decoded,
        "backlog_samples": backlog,
        "statuses": receiver.statuses,
        "status_sizes": receiver.status_sizes,
        "status_read_ok": status_values is not None,
        "status_ring_s": status_authed[sw.STATUS_FIELDS.index("ring_samples")] / rate,
        "auth": [sw.ERROR_NAMES.get(result, result), sw.ERROR_NAMES.get(proved, proved)],
        "start": [sw.ERROR_NAMES.get(started, started), start_detail],
        "statuses_reassembled": receiver.whole,
        "mtu": central.link.mtu if central.link is not None else None,
        "worst_gap_ms": worst,
        "stalls": stalls,
        "watchdog_feeds": wdt.feeds if wdt is not None else 0,
        "watchdog_late": wdt.late if wdt is not None else 0,
        "resets": machine.state.resets,
        "cpu_hz": machine.freq(),
        "notify_refused": central.link.refused if central.link is not None else 0,
        "task_restarts": dict(supervisor.restarts),
        "error_count": node.error_count,
        "task_errors": errors,
        "micropython": "%d.%d.%d" % sys.implementation.version[:3],
    }
    print("MAINLOOP " + json.dumps(result))


async def main(argv):
    """Await this (the WebAssembly port: `from mainloop import main; await main(sys.argv[1:])`)."""
    if len(argv) < 4:
        raise SystemExit("usage: mainloop.py BOARD SECONDS HEAP_BYTES COUNTS_FILE [key=value ...]")
    # as a task of its own: inside this port's top-level coroutine gc.collect() finds stale roots
    # on the C stack and reclaims little, inside a task it works as on a board
    await asyncio.create_task(run(argv[0], float(argv[1]), int(argv[2]), argv[3], _options(argv[4:])))
