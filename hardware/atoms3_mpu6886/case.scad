// StrideCue case for the M5Stack AtomS3 on an M5Stack battery base for Atom controllers
// (board file firmware/boards/atoms3_mpu6886.json).  A snug pocket holds the stack; the lid
// is a frame that presses on the AtomS3's face and leaves the screen (the button) free.
// Parametric: measure your stack and set stack_h, then render each part for printing:
//   openscad -o base.stl -D 'part="base"' case.scad
//   openscad -o lid.stl  -D 'part="lid"'  case.scad
// PLA or PETG, 0.2 mm layers, no supports.

use <../common/strap_case.scad>

part = "both";            // "base", "lid" or "both"

atom = [24, 24];          // AtomS3 footprint (mm)
stack_h = 23;             // AtomS3 (13 mm) plus the battery base under it: MEASURE YOUR STACK
fit = 0.4;                // total play around the stack
cavity = [atom.x + fit, atom.y + fit, stack_h + 0.3];

wall = 2.0;
floor_t = 1.6;
plate_t = 1.2;
lid_t = 1.6;
lip_t = 1.2;
lip_h = 2.5;
clr = 0.2;
corner_r = 3;

strap_w = 25;             // strap width (mm)
strap_t = 2.0;
strap_clr = 0.6;

window_margin = 1.5;      // how far the lid frame overlaps the AtomS3's face on each side
usb_w = 13;               // a tall slot in the -y wall reaches the USB-C of the AtomS3 and of
usb_from_z = 1.5;         // the battery base, whatever their height: from this height above
                          // the cavity floor up to the lid

c0 = cavity_origin(wall, floor_t, plate_t, lip_t, clr, strap_t, strap_clr);
o = outer_size(cavity, wall, lip_t, clr);

module base() {
    case_base(cavity, wall, floor_t, plate_t, lip_t, lip_h, clr, corner_r, strap_w, strap_t, strap_clr) {
        translate([c0.x + cavity.x / 2 - usb_w / 2, -1, c0.z + usb_from_z]) cube([usb_w, c0.y + 1 + 0.01, cavity.z]);
    }
}

module lid() {
    w = [atom.x - 2 * window_margin, atom.y - 2 * window_margin];
    case_lid(cavity, wall, lid_t, lip_t, lip_h, clr, corner_r) {
        translate([c0.x + (cavity.x - w.x) / 2, c0.y + (cavity.y - w.y) / 2, -1]) cube([w.x, w.y, lid_t + lip_h + 2]);
    }
}

assert(usb_w < cavity.x, "usb_w wider than the cavity");
assert(window_margin > 0 && window_margin < 6, "window_margin must be between 0 and 6 mm");

if (part == "base") base();
else if (part == "lid") lid();
else if (part == "both") { base(); translate([o.x + 5, 0, 0]) lid(); }
else assert(false, str("part must be \"base\", \"lid\" or \"both\", not ", part));
