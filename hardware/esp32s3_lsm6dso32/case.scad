// StrideCue case for the XIAO ESP32S3 + Adafruit LSM6DSO32 + LiPo build (board file
// firmware/boards/esp32s3_lsm6dso32.json).  Parametric: change the values below, or override
// them with `openscad -D name=value`.  Render each part for printing:
//   openscad -o base.stl -D 'part="base"' case.scad
//   openscad -o lid.stl  -D 'part="lid"'  case.scad
// PLA or PETG, 0.2 mm layers, no supports (the strap tunnel is a 26 mm bridge).
//
// Layout in the cavity (x along the strap, y across it, origin at the cavity's corner next to
// the USB-C opening), everything flat on the floor:
//   XIAO ESP32S3 (17.8 x 21 mm) at x 2..19.8, y 0..21, USB-C against the -y wall;
//   LSM6DSO32 breakout (25.4 x 17.8 mm) at x 22..47.4, y 0..17.8, fixed with thin, firm
//   double-sided tape (not foam: the IMU must move with the case);
//   LiPo up to 35 x 25 x 5 mm at y 22..47.

use <../common/strap_case.scad>

part = "both";            // "base", "lid" or "both" (side by side, for a look)

cavity = [50, 48, 8];     // inside of the case (mm)
wall = 2.0;
floor_t = 1.6;
plate_t = 1.2;            // the back plate under the strap tunnel (against the leg)
lid_t = 1.6;
lip_t = 1.2;
lip_h = 2.5;
clr = 0.2;                // fit clearance of the lid
corner_r = 3;

strap_w = 25;             // strap width (mm): 25 mm elastic hook-and-loop strap
strap_t = 2.0;            // strap thickness
strap_clr = 0.6;          // extra height of the tunnel

usb_x = 10.9;             // USB-C centre along the -y wall, from the cavity's x = 0
usb_z = 3.1;              // USB-C centre above the cavity floor (0.5 tape + 1.0 PCB + 1.6)
usb_size = [12.5, 7.0];   // opening for the plug's overmould

led_xy = [16, 4.5];       // window over the XIAO's user and charge LEDs (beside the USB-C)
led_size = [8, 5];

c0 = cavity_origin(wall, floor_t, plate_t, lip_t, clr, strap_t, strap_clr);
o = outer_size(cavity, wall, lip_t, clr);

module base() {
    case_base(cavity, wall, floor_t, plate_t, lip_t, lip_h, clr, corner_r, strap_w, strap_t, strap_clr) {
        // USB-C through the -y wall; never lower than half the floor
        translate([c0.x + usb_x - usb_size.x / 2, -1, max(c0.z + usb_z - usb_size.y / 2, c0.z - floor_t / 2)])
            cube([usb_size.x, c0.y + 1 + 0.01, usb_size.y]);
    }
}

module lid() {
    case_lid(cavity, wall, lid_t, lip_t, lip_h, clr, corner_r) {
        translate([c0.x + led_xy.x - led_size.x / 2, c0.y + led_xy.y - led_size.y / 2, -1])
            cube([led_size.x, led_size.y, lid_t + lip_h + 2]);
    }
}

assert(usb_x - usb_size.x / 2 >= -lip_t && usb_x + usb_size.x / 2 <= cavity.x, "USB-C opening outside the wall");
assert(led_xy.x + led_size.x / 2 < cavity.x && led_xy.y + led_size.y / 2 < cavity.y, "LED window outside the cavity");

if (part == "base") base();
else if (part == "lid") lid();
else if (part == "both") { base(); translate([o.x + 5, 0, 0]) lid(); }
else assert(false, str("part must be \"base\", \"lid\" or \"both\", not ", part));
