"""hardware/: the wiring diagrams and pin tables agree with the firmware's board files, the
pins exist on the real boards, the OpenSCAD cases render to STL of the size their parameters
say (and refuse impossible parameters), and the guide's commands are real commands."""

from __future__ import annotations

import importlib.util
import itertools
import re
import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
HW = ROOT / "hardware"
BOARDS = sorted(p.stem for p in (ROOT / "firmware" / "boards").glob("*.json"))
SVG_NS = "{http://www.w3.org/2000/svg}"


def load_pinout():
    spec = importlib.util.spec_from_file_location("hardware_pinout", HW / "pinout.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pinout = load_pinout()


def board(name: str) -> dict:
    from stridenode.boards import load_board

    return load_board(name)  # the firmware's own loader and checks


def test_every_board_file_has_a_build_in_hardware():
    assert BOARDS == sorted(pinout.BUILDS) == sorted(p.parent.name for p in HW.glob("*/case.scad"))


def test_generated_wiring_and_pin_tables_are_up_to_date():
    """Change a pin in firmware/boards/*.json and this fails until `python hardware/pinout.py`."""
    stale = [str(path.relative_to(ROOT)) for path, text in pinout.outputs().items()
             if not path.exists() or path.read_text() != text]
    assert not stale, f"run `python hardware/pinout.py`: {stale}"


def svg_wires(name: str) -> dict[str, ET.Element]:
    tree = ET.parse(HW / name / "wiring.svg")  # well-formed XML, or this raises
    root = tree.getroot()
    assert root.tag == SVG_NS + "svg"
    found = {}
    for el in root.iter():
        if "data-signal" in el.attrib:
            assert el.attrib["data-signal"] not in found, f"{el.attrib['data-signal']} drawn twice"
            found[el.attrib["data-signal"]] = el
    return found


@pytest.mark.parametrize("name", BOARDS)
def test_svg_wires_are_the_board_file_pins(name):
    cfg = board(name)
    wires = svg_wires(name)
    expected = pinout.board_pins(cfg)
    assert set(wires) == set(expected), "every pin the firmware uses is drawn, and nothing else"
    for key, gpio in expected.items():
        section, field = key.split(".")
        assert cfg[section][field] == gpio
        assert int(wires[key].attrib["data-gpio"]) == gpio, key
    text = " ".join(t.text or "" for t in ET.parse(HW / name / "wiring.svg").getroot().iter(SVG_NS + "text"))
    for key, gpio in expected.items():
        assert re.search(rf"\bG(PIO)?{gpio}\b", text), f"{key}: GPIO{gpio} is not labelled in the drawing"
    for address in cfg["imu"]["addresses"]:
        assert f"0x{address:02X}" in text


def test_xiao_pins_are_real_pads_of_the_xiao_esp32s3():
    """Seeed's XIAO ESP32S3 pinout: D0..D10 are GPIO1-6, 43, 44, 7-9; the user LED is GPIO21."""
    assert pinout.XIAO_PADS == {"D0": 1, "D1": 2, "D2": 3, "D3": 4, "D4": 5, "D5": 6, "D6": 43, "D7": 44,
                                "D8": 7, "D9": 8, "D10": 9}
    cfg = board("esp32s3_lsm6dso32")
    wires = svg_wires("esp32s3_lsm6dso32")
    for key, el in wires.items():
        pad = el.attrib["data-pad"]
        if pad == "onboard":
            assert int(el.attrib["data-gpio"]) in pinout.XIAO_ONBOARD
        else:
            assert pinout.XIAO_PADS[pad] == int(el.attrib["data-gpio"]), key
    assert (wires["i2c.sda"].attrib["data-pad"], wires["i2c.scl"].attrib["data-pad"]) == ("D4", "D5"), "the XIAO's I2C pads"
    assert cfg["battery"]["adc_pin"] in range(1, 11), "battery on an ADC1 channel (GPIO1-10)"
    assert set(cfg["imu"]["addresses"]) == {0x6A, 0x6B}, "LSM6DSO32: 0x6A, or 0x6B with SDO/DO high"
    assert cfg["led"]["active_low"] is True


def test_atoms3_pins_are_its_internal_ones():
    cfg = board("atoms3_mpu6886")
    assert (cfg["i2c"]["sda"], cfg["i2c"]["scl"]) == (38, 39), "AtomS3's internal I2C to the MPU6886"
    assert cfg["imu"]["addresses"] == [0x68] and cfg["imu"]["models"] == ["MPU6886"]
    assert cfg["button"]["pin"] == 41 and cfg["led"] is None and cfg["battery"] is None


@pytest.mark.parametrize("name", BOARDS)
def test_pin_table_lists_every_pin(name):
    cfg = board(name)
    table = (HW / name / "pins.md").read_text()
    for key, gpio in pinout.board_pins(cfg).items():
        assert re.search(rf"\| `{re.escape(key)}` \| [^|]+ \| {gpio} \|", table), key


def test_a_pin_that_is_not_on_the_board_is_refused():
    cfg = board("esp32s3_lsm6dso32")
    cfg["i2c"]["sda"] = 11  # not broken out on the XIAO
    with pytest.raises(ValueError, match="GPIO11 is not a pad"):
        pinout.xiao_wiring(cfg)


# -- cases -------------------------------------------------------------------------------------

OPENSCAD = shutil.which("openscad")


def openscad(scad: Path, out: Path, **params) -> subprocess.CompletedProcess:
    assert OPENSCAD, "openscad is not installed: tools/apt-packages.txt lists it (make test installs it)"
    argv = [OPENSCAD, "--hardwarnings", "-o", str(out)]
    for key, value in params.items():
        argv += ["-D", f"{key}={scad_value(value)}"]
    return subprocess.run(argv + [str(scad)], capture_output=True, text=True, timeout=120, cwd=scad.parent)


def scad_value(value) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(scad_value(v) for v in value) + "]"
    return repr(value)


def defaults(scad: Path) -> dict:
    """The case's top-level numeric parameters (`name = 1.5;` or `name = [1, 2];`)."""
    values = {}
    for m in re.finditer(r"^(\w+)\s*=\s*([-\d.]+|\[[-\d.,\s]+\])\s*;", scad.read_text(), re.M):
        text = m.group(2)
        values[m.group(1)] = [float(v) for v in text.strip("[]").split(",")] if text.startswith("[") else float(text)
    return values


def stl_bbox(path: Path) -> tuple[int, np.ndarray]:
    text = path.read_text()
    assert text.startswith("solid"), "ASCII STL"
    vertices = np.array(re.findall(r"vertex\s+(\S+)\s+(\S+)\s+(\S+)", text), dtype=float)
    assert len(vertices) >= 36 and len(vertices) % 3 == 0, "a real, non-empty mesh"
    return len(vertices) // 3, vertices.max(0) - vertices.min(0)


def expected_size(p: dict, part: str) -> np.ndarray:
    step = p["lip_t"] + p["clr"]
    xy = [p["cavity"][0] + 2 * step + 2 * p["wall"], p["cavity"][1] + 2 * step + 2 * p["wall"]]
    if part == "base":
        z = p["plate_t"] + p["strap_t"] + p["strap_clr"] + p["floor_t"] + p["cavity"][2]
    else:
        z = p["lid_t"] + p["lip_h"] - p["clr"]
    return np.array([*xy, z])


def case_params(name: str, **overrides) -> dict:
    p = defaults(HW / name / "case.scad")
    p.update(overrides)
    if name == "atoms3_mpu6886":  # its cavity is derived from the AtomS3 and the stack height
        p["cavity"] = [p["atom"][0] + p["fit"], p["atom"][1] + p["fit"], p["stack_h"] + 0.3]
    return p


@pytest.mark.parametrize("name", BOARDS)
@pytest.mark.parametrize("part", ["base", "lid"])
def test_case_renders_to_stl_of_the_parameters_size(tmp_path, name, part):
    out = tmp_path / f"{part}.stl"
    done = openscad(HW / name / "case.scad", out, part=part)
    assert done.returncode == 0, done.stderr
    facets, size = stl_bbox(out)
    assert facets > 50
    np.testing.assert_allclose(size, expected_size(case_params(name), part), atol=0.02)


def test_changing_parameters_changes_the_case(tmp_path):
    """A bigger battery and a wider strap: the case follows (proof the parameters drive it)."""
    name = "esp32s3_lsm6dso32"
    overrides = dict(cavity=[56, 54, 10], strap_w=38, strap_t=2.5, wall=2.4)
    for part in ("base", "lid"):
        out = tmp_path / f"{part}.stl"
        done = openscad(HW / name / "case.scad", out, part=part, **overrides)
        assert done.returncode == 0, done.stderr
        np.testing.assert_allclose(stl_bbox(out)[1], expected_size(case_params(name, **overrides), part), atol=0.02)
    out = tmp_path / "atom.stl"
    done = openscad(HW / "atoms3_mpu6886" / "case.scad", out, part="base", stack_h=30)
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(stl_bbox(out)[1], expected_size(case_params("atoms3_mpu6886", stack_h=30), "base"), atol=0.02)


@pytest.mark.parametrize("params, message", [
    (dict(strap_w=40), "mm strap does not fit under"),
    (dict(part="lids"), "part must be"),
    (dict(wall=0.8), "wall must be at least"),
])
def test_impossible_parameters_fail_the_render(tmp_path, params, message):
    params.setdefault("part", "base")
    done = openscad(HW / "atoms3_mpu6886" / "case.scad", tmp_path / "x.stl", **params)
    assert done.returncode != 0 and message in done.stderr


# -- the guide ---------------------------------------------------------------------------------

GUIDES = [HW / "README.md", *(HW / name / "README.md" for name in BOARDS)]


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: str(p.relative_to(HW)))
def test_guide_links_resolve(guide):
    text = guide.read_text()
    for target in re.findall(r"\]\(([^)#\s]+)\)", text):
        if "://" not in target:
            assert (guide.parent / target).exists(), f"{guide.name}: broken link {target}"


def test_guide_commands_are_real_commands_and_options():
    """Every `stridecue ...` line in the guides' code blocks parses with the real CLI."""
    from stridecue.cli import build_parser

    parser = build_parser()
    seen = set()
    for guide in GUIDES:
        for block in re.findall(r"```(?:sh|console|bash)?\n(.*?)```", guide.read_text(), re.S):
            for line in block.splitlines():
                line = line.split(" #")[0].strip().removeprefix("$ ")
                words = shlex.split(line)
                if not words or Path(words[0]).name != "stridecue":
                    continue
                argv = words[1:]
                try:
                    args = parser.parse_args(argv)
                except SystemExit:
                    pytest.fail(f"{guide.name}: `{line}` is not a valid stridecue command line")
                seen.add(args.command)
    assert {"flash", "doctor", "scan", "run"} <= seen


@pytest.mark.parametrize("name", BOARDS)
def test_parts_list_has_numbers_quantities_prices_and_sellers(name):
    text = (HW / name / "README.md").read_text()
    header = next(line for line in text.splitlines() if line.startswith("| part |"))
    columns = [c.strip().lower() for c in header.strip("|").split("|")]
    assert columns[:5] == ["part", "part number", "qty", "typical price", "where it is sold"]
    lines = text.splitlines()
    rows = list(itertools.takewhile(lambda line: line.startswith("|"), lines[lines.index(header) + 2:]))
    assert len(rows) >= 4
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert all(cells[:5]), f"empty cell in {row}"
        assert re.fullmatch(r"\d+( m)?|\d+(\.\d+)? m", cells[2]), f"qty {cells[2]!r}"
        assert re.search(r"(US\$|\$|€|£)\s?\d", cells[3]), f"price {cells[3]!r}"
        assert "http" not in row, "no invented URLs"
