"""Wiring diagrams (SVG) and pin tables (Markdown) of the reference builds, generated from the
firmware's board files, so the drawings can never disagree with the pins the firmware uses.

    python hardware/pinout.py            # rewrite hardware/<board>/wiring.svg and pins.md
    python hardware/pinout.py --check    # exit 1 if a committed file is out of date

The board files (firmware/boards/<board>.json) say which GPIO does what; this file holds only
what the hardware makers fixed: which GPIO each pad of the board is.  Every wire in an SVG
carries data-signal (the board-file key, e.g. "i2c.sda"), data-gpio and data-pad attributes,
which tests/device/test_hardware.py checks against the board file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
BOARDS = HERE.parent / "firmware" / "boards"

# Seeed Studio XIAO ESP32S3, top view, USB-C at the top: pad -> GPIO (None: power pads).
XIAO_LEFT = [("D0", 1, "A0"), ("D1", 2, "A1"), ("D2", 3, "A2"), ("D3", 4, "A3"), ("D4", 5, "SDA"), ("D5", 6, "SCL"), ("D6", 43, "TX")]
XIAO_RIGHT = [("5V", None, ""), ("GND", None, ""), ("3V3", None, ""), ("D10", 9, "MOSI"), ("D9", 8, "MISO"), ("D8", 7, "SCK"), ("D7", 44, "RX")]
XIAO_ONBOARD = {21: "user LED (on the board, active low)"}
XIAO_PADS = {pad: gpio for pad, gpio, _ in XIAO_LEFT + XIAO_RIGHT if gpio is not None}

# M5Stack AtomS3: what is inside (no wiring needed) and the pins the case leaves reachable.
ATOMS3_INTERNAL = {38: "MPU6886 SDA (internal I2C)", 39: "MPU6886 SCL (internal I2C)", 41: "button (press the screen)"}
ATOMS3_GROVE = {2: "Grove yellow", 1: "Grove white"}

# Adafruit LSM6DSO32 breakout (product 4692), its 9-pin header in order.
LSM6DSO32_PINS = ["VIN", "3Vo", "GND", "SCL", "SDA", "DO", "CS", "INT1", "INT2"]

SIGNALS = {  # board-file key -> what it is
    "i2c.sda": "I2C data (IMU)",
    "i2c.scl": "I2C clock (IMU)",
    "imu.int1": "IMU interrupt (INT1): wakes the board on motion",
    "led.pin": "status LED",
    "buzzer.pin": "piezo buzzer (optional)",
    "battery.adc_pin": "battery voltage (divider midpoint)",
    "button.pin": "button",
}

COLORS = {"i2c.sda": "#1f6fd1", "i2c.scl": "#e0a400", "imu.int1": "#8a3ffc", "battery.adc_pin": "#c2185b",
          "buzzer.pin": "#2e7d32", "button.pin": "#555555", "led.pin": "#ef6c00"}


def load(board: str) -> dict:
    return json.loads((BOARDS / f"{board}.json").read_text())


def board_pins(cfg: dict) -> dict[str, int]:
    """Board-file key -> GPIO for every pin the board file assigns (null sections skipped)."""
    pins = {}
    for key in SIGNALS:
        section, field = key.split(".")
        value = (cfg.get(section) or {}).get(field)
        if value is not None:
            pins[key] = value
    return pins


def fmt_addr(addresses: list[int]) -> str:
    return " or ".join(f"0x{a:02X}" for a in addresses)


class Svg:
    def __init__(self, width: int, height: int, title: str):
        self.width, self.height = width, height
        self.items = [f'<title>{escape(title)}</title>',
                      '<style>text{font-family:Helvetica,Arial,sans-serif;font-size:13px;fill:#222}'
                      '.small{font-size:11px;fill:#555}.big{font-size:17px;font-weight:bold}'
                      '.part{fill:#f4f6f8;stroke:#333;stroke-width:1.5}.pcb{fill:#e8f3ea;stroke:#2d6a3e;stroke-width:1.5}'
                      '.wire{fill:none;stroke-width:3;stroke-linejoin:round}.pad{fill:#c9a227;stroke:#6b5500}</style>',
                      f'<rect width="{width}" height="{height}" fill="#ffffff"/>']

    def add(self, element: str) -> None:
        self.items.append(element)

    def text(self, x, y, s, cls=None, anchor="start", **attrs):
        extra = "".join(f' {k.replace("_", "-")}="{escape(str(v))}"' for k, v in attrs.items())
        c = f' class="{cls}"' if cls else ""
        self.add(f'<text x="{x}" y="{y}" text-anchor="{anchor}"{c}{extra}>{escape(s)}</text>')

    def rect(self, x, y, w, h, cls="part", rx=6):
        self.add(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="{rx}" class="{cls}"/>')

    def pad(self, x, y):
        self.add(f'<circle cx="{x}" cy="{y}" r="5" class="pad"/>')

    def dot(self, x, y, color="#222"):
        self.add(f'<circle cx="{x}" cy="{y}" r="4" fill="{color}"/>')

    def wire(self, points, color, **data):
        attrs = "".join(f' data-{k.replace("_", "-")}="{escape(str(v))}"' for k, v in data.items())
        pts = " ".join(f"{x},{y}" for x, y in points)
        self.add(f'<polyline points="{pts}" class="wire" stroke="{color}"{attrs}/>')

    def line(self, x1, y1, x2, y2, color="#222", width=2):
        self.add(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{color}" stroke-width="{width}"/>')

    def ground(self, x, y):
        """Ground symbol hanging from (x, y)."""
        self.line(x, y, x, y + 8)
        for i, half in enumerate((10, 6, 2)):
            self.line(x - half, y + 8 + 4 * i, x + half, y + 8 + 4 * i)
        self.add(f'<g data-net="GND"><desc>GND</desc></g>')

    def flag(self, x, y, net, side="left"):
        """A net label: every flag with the same name is the same wire."""
        w = 12 + 8 * len(net)
        x0 = x - w if side == "left" else x
        self.add(f'<g data-net="{escape(net)}"><rect x="{x0}" y="{y - 10}" width="{w}" height="20" rx="3" fill="#fff" stroke="#b00020" stroke-width="1.5"/>'
                 f'<text x="{x0 + w / 2}" y="{y + 5}" text-anchor="middle" style="fill:#b00020;font-weight:bold">{escape(net)}</text></g>')

    def resistor(self, x, y, horizontal=True, label=""):
        """A resistor body centred on (x, y), 40 px long."""
        if horizontal:
            self.add(f'<rect x="{x - 20}" y="{y - 7}" width="40" height="14" fill="#fff" stroke="#222" stroke-width="2"/>')
            self.text(x, y - 12, label, cls="small", anchor="middle")
        else:
            self.add(f'<rect x="{x - 7}" y="{y - 20}" width="14" height="40" fill="#fff" stroke="#222" stroke-width="2"/>')
            self.text(x + 12, y + 4, label, cls="small")

    def capacitor(self, x, y, label=""):
        self.line(x - 10, y - 3, x + 10, y - 3, width=3)
        self.line(x - 10, y + 3, x + 10, y + 3, width=3)
        self.text(x + 14, y + 4, label, cls="small")

    def render(self) -> str:
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" height="{self.height}" '
                f'viewBox="0 0 {self.width} {self.height}">')
        return "\n".join([head, *self.items, "</svg>"]) + "\n"


def xiao_wiring(cfg: dict) -> str:
    pins = board_pins(cfg)
    pad_of = {gpio: pad for pad, gpio in XIAO_PADS.items()}
    for key, gpio in pins.items():
        if gpio not in pad_of and gpio not in XIAO_ONBOARD:
            raise ValueError(f"{cfg['name']}: {key} = GPIO{gpio} is not a pad of the XIAO ESP32S3")
    svg = Svg(1000, 700, f"StrideCue wiring: {cfg['title']}")
    svg.text(30, 36, f"StrideCue wiring — {cfg['title']}", cls="big")
    svg.text(30, 58, f"generated from firmware/boards/{cfg['name']}.json by hardware/pinout.py; top views, not to scale", cls="small")

    # the XIAO, USB-C at the top
    X0, X1, Y0 = 460, 740, 130
    pad_y = {name: 190 + 44 * i for i, (name, _, _) in enumerate(XIAO_LEFT)}
    pad_y.update({name: 190 + 44 * i for i, (name, _, _) in enumerate(XIAO_RIGHT)})
    MID = (X0 + X1) // 2
    svg.rect(X0, Y0, X1 - X0, 390, cls="pcb", rx=10)
    svg.rect(MID - 30, 110, 60, 22, cls="part", rx=4)
    svg.text(MID, 104, "USB-C", cls="small", anchor="middle")
    svg.text(MID, 490, "Seeed Studio", anchor="middle", cls="small")
    svg.text(MID, 507, "XIAO ESP32S3", anchor="middle")
    for name, gpio, alt in XIAO_LEFT:
        svg.pad(X0, pad_y[name])
        label = f"{name} · GPIO{gpio}" + (f" · {alt}" if alt else "")
        svg.text(X0 + 10, pad_y[name] + 4, label, cls="small")
    for name, gpio, alt in XIAO_RIGHT:
        svg.pad(X1, pad_y[name])
        label = name if gpio is None else f"GPIO{gpio} · {name}" + (f" · {alt}" if alt else "")
        svg.text(X1 - 10, pad_y[name] + 4, label, cls="small", anchor="end")
    led = cfg.get("led")
    if led:
        svg.add(f'<circle cx="{MID + 50}" cy="150" r="6" fill="{COLORS["led.pin"]}" data-signal="led.pin" data-gpio="{led["pin"]}" data-pad="onboard"/>')
        svg.text(MID + 62, 154, f"user LED · GPIO{led['pin']}", cls="small")
    svg.text(MID, 476, "BAT+ / BAT− pads on the back", anchor="middle", cls="small")

    # power pads
    svg.line(X1, pad_y["GND"], X1 + 40, pad_y["GND"])
    svg.ground(X1 + 40, pad_y["GND"])
    svg.line(X1, pad_y["3V3"], X1 + 50, pad_y["3V3"])
    svg.flag(X1 + 50, pad_y["3V3"], "3V3", side="right")

    # the IMU breakout, drawn turned over (header reading bottom to top) so no wires cross
    imu = cfg["imu"]
    I0, I1, IY = 60, 230, 280
    imu_y = {p: IY + 30 + 28 * i for i, p in enumerate(reversed(LSM6DSO32_PINS))}
    svg.rect(I0, IY, I1 - I0, 280, cls="pcb")
    svg.text(I0 + 10, IY + 300 - 2, "Adafruit LSM6DSO32 (4692)", cls="small")
    for p, y in imu_y.items():
        svg.pad(I1, y)
        svg.text(I1 - 10, y + 4, p, anchor="end", cls="small")
    svg.text(I0 + 10, IY + 24, f"I2C {fmt_addr(imu['addresses'])}", cls="small")
    svg.line(I1, imu_y["GND"], I1 + 30, imu_y["GND"])
    svg.ground(I1 + 30, imu_y["GND"])
    svg.line(I1, imu_y["VIN"], I1 + 40, imu_y["VIN"])
    svg.flag(I1 + 40, imu_y["VIN"], "3V3", side="right")
    svg.text(I0 + 10, IY + 42, "DO open: 0x6A", cls="small")
    svg.text(I0 + 10, IY + 58, "DO to 3V3: 0x6B", cls="small")

    def signal_wire(key, part_pin, jog_x, target_y, target_x=I1):
        gpio = pins[key]
        pad = pad_of[gpio]
        y = pad_y[pad]
        svg.wire([(X0, y), (jog_x, y), (jog_x, target_y), (target_x, target_y)], COLORS[key],
                 signal=key, gpio=gpio, pad=pad, part_pin=part_pin)
        svg.text(jog_x + 8, y - 6, f"GPIO{gpio}", cls="small", style=f"fill:{COLORS[key]}")

    # jogs nested so that no two wires cross
    signal_wire("i2c.sda", "SDA", 320, imu_y["SDA"])
    signal_wire("i2c.scl", "SCL", 330, imu_y["SCL"])
    if "imu.int1" in pins:
        signal_wire("imu.int1", "INT1", 310, imu_y["INT1"])

    # battery divider to the ADC pad
    battery = cfg.get("battery")
    if battery:
        gpio = battery["adc_pin"]
        y = pad_y[pad_of[gpio]]
        r2 = 100
        r1 = round((battery["divider"] - 1) * r2)
        svg.flag(60, y, "BAT+", side="right")
        svg.line(60 + 44, y, 140, y)
        svg.resistor(160, y, label=f"R1 {r1} kΩ")
        svg.wire([(X0, y), (180, y)], COLORS["battery.adc_pin"], signal="battery.adc_pin", gpio=gpio, pad=pad_of[gpio],
                 part_pin="divider midpoint")
        svg.dot(230, y)
        svg.dot(280, y)
        svg.line(230, y, 230, y + 12)
        svg.resistor(230, y + 30, horizontal=False)
        svg.text(218, y + 34, f"R2 {r2} kΩ", cls="small", anchor="end")
        svg.ground(230, y + 50)
        svg.line(280, y, 280, y + 27)
        svg.capacitor(280, y + 30, "C1 100 nF")
        svg.line(280, y + 33, 280, y + 50)
        svg.ground(280, y + 50)
        svg.text(X0 - 90, y - 6, f"GPIO{gpio}", cls="small", style=f"fill:{COLORS['battery.adc_pin']}")

    buzzer = cfg.get("buzzer")
    if buzzer:
        gpio = buzzer["pin"]
        y = pad_y[pad_of[gpio]]
        svg.wire([(X0, y), (410, y)], COLORS["buzzer.pin"], signal="buzzer.pin", gpio=gpio, pad=pad_of[gpio], part_pin="R3 to piezo +")
        svg.resistor(425, y)
        svg.text(425, y + 22, "R3 100 Ω", cls="small", anchor="middle")
        svg.line(405, y, 392, y)
        svg.add(f'<circle cx="382" cy="{y}" r="10" fill="#fff" stroke="#222" stroke-width="2"/>')
        svg.text(382, y + 4, "P", anchor="middle", cls="small")
        svg.line(372, y, 358, y)
        svg.ground(358, y)
        svg.text(368, y - 16, "piezo (optional)", cls="small")

    # the LiPo on the back pads
    svg.rect(720, 560, 200, 70, cls="part")
    svg.text(820, 590, "LiPo 3.7 V, 300–500 mAh", anchor="middle")
    svg.text(820, 608, "with protection circuit", anchor="middle", cls="small")
    svg.line(720, 585, 690, 585)
    svg.flag(690, 585, "BAT+", side="left")
    svg.line(720, 612, 700, 612)
    svg.ground(700, 612)
    svg.text(600, 545, "XIAO back pads: BAT+ → BAT+ net, BAT− → GND (the XIAO charges the LiPo from USB-C)", anchor="middle", cls="small")

    # legend
    y = 600
    svg.text(30, y, "Flags with the same name are one net; every ground symbol is the XIAO's GND.", cls="small")
    svg.text(30, y + 18, f"IMU I2C bus {cfg['i2c']['freq'] // 1000} kHz; the breakout has its own pull-ups and regulator.", cls="small")
    if battery:
        svg.text(30, y + 36, f"Divider ratio {battery['divider']:g}: ADC reads BAT/{battery['divider']:g}; low at {battery['low_mv']} mV, stop at {battery['stop_mv']} mV.", cls="small")
    return svg.render()


def atoms3_wiring(cfg: dict) -> str:
    pins = board_pins(cfg)
    for key, gpio in pins.items():
        if gpio not in ATOMS3_INTERNAL:
            raise ValueError(f"{cfg['name']}: {key} = G{gpio} is not a pin the AtomS3 wires inside")
    svg = Svg(1000, 560, f"StrideCue wiring: {cfg['title']}")
    svg.text(30, 36, f"StrideCue wiring — {cfg['title']}", cls="big")
    svg.text(30, 58, f"generated from firmware/boards/{cfg['name']}.json by hardware/pinout.py; nothing to solder", cls="small")
    svg.rect(200, 90, 600, 260, cls="part", rx=16)
    svg.text(220, 116, "M5Stack AtomS3 (24 × 24 × 13 mm): everything on this side is inside it")
    svg.rect(250, 150, 170, 150, cls="pcb")
    svg.text(335, 230, "ESP32-S3", anchor="middle")
    svg.rect(600, 150, 160, 110, cls="pcb")
    imu = cfg["imu"]
    svg.text(680, 196, "MPU6886", anchor="middle")
    svg.text(680, 214, f"I2C {fmt_addr(imu['addresses'])}", anchor="middle", cls="small")
    rows = {"i2c.sda": 175, "i2c.scl": 215}
    for key, y in rows.items():
        gpio = pins[key]
        svg.wire([(420, y), (600, y)], COLORS[key], signal=key, gpio=gpio, pad="internal", part_pin=key.split(".")[1].upper())
        svg.text(510, y - 6, f"G{gpio} · {key.split('.')[1].upper()}", anchor="middle", cls="small")
    if "button.pin" in pins:
        gpio = pins["button.pin"]
        svg.wire([(420, 280), (600, 280)], COLORS["button.pin"], signal="button.pin", gpio=gpio, pad="internal", part_pin="screen button")
        svg.text(510, 274, f"G{gpio} · button (press the screen)", anchor="middle", cls="small")
        svg.rect(600, 268, 160, 24, cls="part", rx=4)
        svg.text(680, 285, "screen = button", anchor="middle", cls="small")
    svg.text(220, 336, "no status LED on this board (the firmware's led is null); no battery sensing (battery is null)", cls="small")

    # battery base below, through the Atom's bottom header
    svg.rect(200, 420, 600, 80, cls="part", rx=12)
    svg.text(500, 455, "M5Stack Atomic Battery Base (200 mAh LiPo and charger)", anchor="middle")
    svg.text(500, 475, "the AtomS3 plugs onto it; charge through the base's USB-C", anchor="middle", cls="small")
    for x, net in ((420, "5V"), (580, "GND")):
        svg.line(x, 350, x, 420, width=3)
        svg.flag(x - 4, 385, net, side="left")
    svg.text(30, 530, "Flags show the two bottom-header pins the base powers the AtomS3 through (5V in, GND).", cls="small")
    return svg.render()


def pin_table(cfg: dict) -> str:
    pins = board_pins(cfg)
    xiao = cfg["name"].startswith("esp32s3")
    pad_of = {gpio: pad for pad, gpio in XIAO_PADS.items()}
    lines = [f"# Pins of {cfg['title']}", "",
             f"Generated from `firmware/boards/{cfg['name']}.json` by `hardware/pinout.py` (do not edit by hand;",
             "edit the board file, then run `python hardware/pinout.py`).", "",
             "| board-file key | what | GPIO | " + ("XIAO pad | connects to |" if xiao else "where |"),
             "| --- | --- | --- | " + ("--- | --- |" if xiao else "--- |")]
    to = {"i2c.sda": "LSM6DSO32 SDA", "i2c.scl": "LSM6DSO32 SCL", "imu.int1": "LSM6DSO32 INT1",
          "battery.adc_pin": "divider midpoint (R1 to BAT+, R2 and C1 to GND)", "buzzer.pin": "R3 100 Ω to piezo +, piezo − to GND",
          "led.pin": "on the board (no wire)"}
    for key, gpio in pins.items():
        if xiao:
            pad = pad_of.get(gpio, "on the board")
            lines.append(f"| `{key}` | {SIGNALS[key]} | {gpio} | {pad} | {to.get(key, '')} |")
        else:
            lines.append(f"| `{key}` | {SIGNALS[key]} | {gpio} | {ATOMS3_INTERNAL.get(gpio, '')} |")
    imu = cfg["imu"]
    lines += ["", f"IMU: {' or '.join(imu['models'])} at I2C address {fmt_addr(imu['addresses'])} "
                  f"(the firmware tries each), bus {cfg['i2c']['id']} at {cfg['i2c']['freq'] // 1000} kHz, "
                  f"±{imu['accel_g']} g, ±{imu['gyro_dps']} dps, {imu['rate_hz']} Hz."]
    if xiao:
        lines += ["", "Power wires (no GPIO):", "",
                  "| from | to |", "| --- | --- |",
                  "| XIAO 3V3 | LSM6DSO32 VIN |", "| XIAO GND | LSM6DSO32 GND, R2, C1, piezo − |",
                  "| LiPo + (red) | XIAO BAT+ pad (back), R1 |", "| LiPo − (black) | XIAO BAT− pad (back) |"]
        battery = cfg.get("battery")
        if battery:
            lines += ["", f"Battery divider ratio {battery['divider']:g} (R1 = {round((battery['divider'] - 1) * 100)} kΩ, R2 = 100 kΩ): "
                          f"full {battery['full_mv']} mV, low warning {battery['low_mv']} mV, stop {battery['stop_mv']} mV, "
                          f"empty {battery['empty_mv']} mV."]
    else:
        lines += ["", "Power: the battery base feeds the AtomS3's bottom header (5V, GND). No battery voltage reaches "
                      "a GPIO on this build, so the host shows the battery as unknown."]
    return "\n".join(lines) + "\n"


BUILDS = {"esp32s3_lsm6dso32": xiao_wiring, "atoms3_mpu6886": atoms3_wiring}


def outputs() -> dict[Path, str]:
    """Every generated file and its content."""
    files = {}
    for board, draw in BUILDS.items():
        cfg = load(board)
        files[HERE / board / "wiring.svg"] = draw(cfg)
        files[HERE / board / "pins.md"] = pin_table(cfg)
    return files


def main(argv: list[str]) -> int:
    stale = []
    for path, text in outputs().items():
        if path.exists() and path.read_text() == text:
            continue
        if "--check" in argv:
            stale.append(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(HERE.parent)}")
    if stale:
        print("out of date (run python hardware/pinout.py): " + ", ".join(str(p.relative_to(HERE.parent)) for p in stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
