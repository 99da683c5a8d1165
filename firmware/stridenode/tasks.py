# Task supervision: a crash in one task restarts that task cleanly; the hardware watchdog is fed
# only while every supervised task keeps beating, so a hung task resets the board.
#
#   sup = Supervisor(clock, on_error=node.count_task_error)
#   asyncio.create_task(sup.run("sampler", sampler, max_silence_ms=2000))
#   asyncio.create_task(feed_watchdog(lambda: machine.WDT(timeout=8000), sup))
#   ... inside a task's loop: sup.beat("sampler")
#
# Hardware-independent (asyncio exists in MicroPython and CPython), tested on the host.

import asyncio

from stridewire import const


_RESTART_DELAY_MS = const(500)
_WATCHDOG_EVERY_MS = const(1000)
_WATCHDOG_GRACE_MS = const(15000)


if hasattr(asyncio, "sleep_ms"):
    # MicroPython's own: a singleton awaitable, so `await sleep_ms(10)` itself allocates nothing
    # (the WebAssembly port's scheduler adds a little per wake for its JavaScript timer; a
    # board's does not).  An `async def` wrapper around it made a new coroutine object on every
    # call (~9.8 kB/s of garbage at the main loop's wake rate on a board).
    sleep_ms = asyncio.sleep_ms
else:

    def sleep_ms(ms):  # CPython (tests, the host's virtual sensor)
        return asyncio.sleep(ms / 1000)


class Supervisor:
    """Runs tasks in restart loops and knows whether all of them are alive."""

    def __init__(self, clock, on_error=None, restart_delay_ms=_RESTART_DELAY_MS):
        self.clock = clock
        self.on_error = on_error  # callback(name, exception)
        self.restart_delay_ms = restart_delay_ms
        self.restarts = {}
        self._beats = {}  # name -> [last beat in ticks_ms, allowed silence in ms, longest gap in ms]

    def beat(self, name):
        """A task is alive (call it from every pass of its loop).  The longest time between two
        beats is kept: a task's worst stall (the GC, a flash write, a busy neighbour)."""
        entry = self._beats.get(name)
        if entry is not None:
            now = self.clock.ticks_ms()
            gap = self.clock.ticks_diff(now, entry[0])
            if gap > entry[2]:
                entry[2] = gap
            entry[0] = now

    def worst_gap_ms(self, name):
        """Longest time between two beats of a supervised task so far (ms), -1 if unknown."""
        entry = self._beats.get(name)
        return entry[2] if entry is not None else -1

    def reset_gaps(self):
        """Start measuring worst gaps afresh (after start-up, whose imports and allocations stall)."""
        for entry in self._beats.values():
            entry[2] = 0

    async def run(self, name, factory, max_silence_ms=None):
        """Run factory() (a coroutine function) forever; restart it after any exception."""
        self.restarts[name] = 0
        if max_silence_ms is not None:
            self._beats[name] = [self.clock.ticks_ms(), max_silence_ms, 0]
        while True:
            try:
                await factory()
                return  # a task that returns normally is finished
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - any crash restarts the task
                self.restarts[name] += 1
                if self.on_error is not None:
                    self.on_error(name, e)
            self.beat(name)
            await sleep_ms(self.restart_delay_ms)

    def silent(self):
        """Names of supervised tasks that have not beaten within their allowed silence."""
        now = self.clock.ticks_ms()
        late = []
        for name, entry in self._beats.items():
            if self.clock.ticks_diff(now, entry[0]) > entry[1]:
                late.append(name)
        return late

    def healthy(self):
        """Every supervised task beat within its allowed silence (no list made: called every second)."""
        now = self.clock.ticks_ms()
        beats = self._beats
        for name in beats:  # iterating the dict itself needs no view object
            entry = beats[name]
            if self.clock.ticks_diff(now, entry[0]) > entry[1]:
                return False
        return True


async def feed_watchdog(make_wdt, supervisor, grace_ms=_WATCHDOG_GRACE_MS, every_ms=_WATCHDOG_EVERY_MS):
    """Arm the hardware watchdog after a grace period, then feed it while every supervised task
    beats.  The grace lets mpremote (stridecue flash) interrupt a freshly reset board before the
    watchdog, which cannot be disarmed on the ESP32, is running."""
    await sleep_ms(grace_ms)
    wdt = make_wdt()
    while True:
        if supervisor.healthy():
            wdt.feed()
        await sleep_ms(every_ms)
