// StrideCue strap case: the shared parts of both reference builds' cases.
//
// The case rides on the strap: a belt-loop tunnel under the floor takes the strap, so a tight
// strap presses the case's flat back against the leg and nothing rocks or bounces.  The lid's
// lip fits into a widened top of the cavity (friction fit; a dot of hot glue or tape keeps it).
//
// Sizes (mm), used by tests/test_hardware.py to check each rendered STL:
//   step      = lip_t + clr                          (the widening at the top of the cavity)
//   outer x,y = cavity + 2*step + 2*wall
//   base z    = plate_t + strap_t + strap_clr + floor_t + cavity.z
//   lid z     = lid_t + lip_h - clr
// Coordinates given to the builds' openings are base coordinates; cavity_origin() is where the
// cavity's (0,0,0) corner is.

eps = 0.01;

function step(lip_t, clr) = lip_t + clr;
function outer_size(cavity, wall, lip_t, clr) =
    [cavity.x + 2 * step(lip_t, clr) + 2 * wall, cavity.y + 2 * step(lip_t, clr) + 2 * wall];
function base_height(cavity, floor_t, plate_t, strap_t, strap_clr) = plate_t + strap_t + strap_clr + floor_t + cavity.z;
function cavity_origin(wall, floor_t, plate_t, lip_t, clr, strap_t, strap_clr) =
    [wall + step(lip_t, clr), wall + step(lip_t, clr), plate_t + strap_t + strap_clr + floor_t];

module rounded_box(size, r) {
    rr = min(r, size.x / 2 - eps, size.y / 2 - eps);
    hull() for (x = [rr, size.x - rr], y = [rr, size.y - rr])
        translate([x, y, 0]) cylinder(r = rr, h = size.z, $fn = 32);
}

// The base: back plate, strap tunnel, floor, cavity.  children() are cut away (openings).
module case_base(cavity, wall, floor_t, plate_t, lip_t, lip_h, clr, corner_r, strap_w, strap_t, strap_clr, rail_min = 2) {
    o = outer_size(cavity, wall, lip_t, clr);
    h = base_height(cavity, floor_t, plate_t, strap_t, strap_clr);
    c0 = cavity_origin(wall, floor_t, plate_t, lip_t, clr, strap_t, strap_clr);
    tunnel = strap_w + 1;
    assert(wall >= 1.2, "wall must be at least 1.2 mm to print solid");
    assert(lip_h > 0 && lip_h < cavity.z, "lip_h must be between 0 and the cavity depth");
    assert(tunnel + 2 * rail_min <= o.y,
           str("a ", strap_w, " mm strap does not fit under a ", o.y, " mm wide case: use a narrower strap or a wider cavity"));
    difference() {
        rounded_box([o.x, o.y, h], corner_r);
        translate(c0) cube([cavity.x, cavity.y, cavity.z + eps]);
        translate([wall, wall, h - lip_h]) cube([o.x - 2 * wall, o.y - 2 * wall, lip_h + eps]);
        translate([-eps, (o.y - tunnel) / 2, plate_t]) cube([o.x + 2 * eps, tunnel, strap_t + strap_clr]);
        children();
    }
}

// The lid, modelled as printed (outside face down, lip up).  children() are cut away and are
// given in base coordinates: the lid is turned over onto the base about the x axis.
module case_lid(cavity, wall, lid_t, lip_t, lip_h, clr, corner_r) {
    o = outer_size(cavity, wall, lip_t, clr);
    ring = [o.x - 2 * wall - 2 * clr, o.y - 2 * wall - 2 * clr];
    difference() {
        union() {
            rounded_box([o.x, o.y, lid_t], corner_r);
            translate([wall + clr, wall + clr, lid_t - eps]) difference() {
                cube([ring.x, ring.y, lip_h - clr + eps]);
                translate([lip_t, lip_t, -eps]) cube([ring.x - 2 * lip_t, ring.y - 2 * lip_t, lip_h + 2 * eps]);
            }
        }
        translate([0, o.y, 0]) mirror([0, 1, 0]) children();
    }
}
