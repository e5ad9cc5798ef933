//! Point labels that never overlap: each label goes to the first free spot on rings around its
//! point (right, left, above, below, then the diagonals, farther out ring by ring), clear of every
//! marker and every label placed before it, inside the plot area. A label moved off its first ring
//! gets a leader line to its point.
//!
//! plotters' SVG has no font metrics, so text widths are estimated from DejaVu Sans (Debian's
//! `sans-serif`, and one of the widest common sans faces) with a margin; the Chromium test of the
//! report measures the rendered boxes.

/// An axis-aligned box in pixels: left, top, width, height.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub fn intersects(&self, o: &Rect) -> bool {
        self.x < o.x + o.w && o.x < self.x + self.w && self.y < o.y + o.h && o.y < self.y + self.h
    }

    fn inside(&self, o: &Rect) -> bool {
        self.x >= o.x
            && self.y >= o.y
            && self.x + self.w <= o.x + o.w
            && self.y + self.h <= o.y + o.h
    }

    fn grown(&self, by: f64) -> Rect {
        Rect {
            x: self.x - by,
            y: self.y - by,
            w: self.w + 2.0 * by,
            h: self.h + 2.0 * by,
        }
    }

    /// The point of this box nearest to `(px, py)` (where a leader line ends).
    pub fn nearest(&self, px: f64, py: f64) -> (f64, f64) {
        (
            px.clamp(self.x, self.x + self.w),
            py.clamp(self.y, self.y + self.h),
        )
    }
}

/// Estimated advance width of `text` at `size` px: DejaVu Sans' widths by character class, rounded
/// up, plus 8 %.
pub fn text_width(text: &str, size: f64) -> f64 {
    let em: f64 = text
        .chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' | ' ' => 0.34,
            'f' | 't' | 'r' | '(' | ')' | '-' | '[' | ']' => 0.45,
            'm' | 'w' | 'M' | 'W' => 1.0,
            c if c.is_ascii_uppercase() => 0.8,
            c if c.is_ascii() => 0.66,
            _ => 1.0,
        })
        .sum();
    em * size * 1.08
}

/// Where one label went.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placement {
    pub rect: Rect,
    /// Drawn away from its point: join them with a line.
    pub leader: bool,
}

/// Gap between a label and its point on the first ring, and between rings.
const RING: f64 = 7.0;
const RINGS: usize = 40;
/// Kept free around every label and marker.
const PAD: f64 = 1.5;

/// Places one label per point. `points` are marker centres in pixels, `sizes` the labels'
/// (width, height), `marker` the markers' radius, `area` where labels may go. Labels are placed
/// in order of how crowded their point is (most crowded first), so isolated points keep the
/// nearest spot. When no spot is free on any ring, the label takes the ring spot that overlaps
/// least.
pub fn place(
    points: &[(f64, f64)],
    sizes: &[(f64, f64)],
    marker: f64,
    area: Rect,
) -> Vec<Placement> {
    let markers: Vec<Rect> = points
        .iter()
        .map(|&(x, y)| Rect {
            x: x - marker,
            y: y - marker,
            w: 2.0 * marker,
            h: 2.0 * marker,
        })
        .collect();
    let crowd = |i: usize| {
        let (x, y) = points[i];
        points
            .iter()
            .filter(|&&(a, b)| (a - x).abs() < 80.0 && (b - y).abs() < 30.0)
            .count()
    };
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(crowd(i)));
    let mut placed: Vec<Option<Placement>> = vec![None; points.len()];
    let mut taken: Vec<Rect> = Vec::new();
    let mut leaders: Vec<((f64, f64), (f64, f64))> = Vec::new();
    for i in order {
        let (px, py) = points[i];
        let (w, h) = sizes[i];
        let mut best: Option<(f64, Placement)> = None;
        'rings: for ring in 0..RINGS {
            let r = marker + RING * (ring as f64 + 1.0);
            for rect in candidates(px, py, w, h, r) {
                let grown = rect.grown(PAD);
                let leader = (ring > 0).then(|| ((px, py), rect.nearest(px, py)));
                // Costs, worst first: outside the area; covering a label or a marker; a leader
                // line through a label (or a label on a leader line); a leader through a marker.
                let covered: f64 = markers
                    .iter()
                    .chain(&taken)
                    .map(|o| overlap_area(&grown, o))
                    .sum();
                let through_labels = leaders
                    .iter()
                    .filter(|(a, b)| segment_hits(*a, *b, &grown))
                    .count()
                    + leader.map_or(0, |(a, b)| {
                        taken.iter().filter(|o| segment_hits(a, b, o)).count()
                    });
                let through_markers = leader.map_or(0, |(a, b)| {
                    markers
                        .iter()
                        .enumerate()
                        .filter(|(j, o)| *j != i && segment_hits(a, b, o))
                        .count()
                });
                let overlap = if rect.inside(&area) { 0.0 } else { 1e12 }
                    + 1e6 * covered
                    + 1e3 * through_labels as f64
                    + through_markers as f64
                    + 0.1 * ring as f64;
                let clean = rect.inside(&area)
                    && covered == 0.0
                    && through_labels == 0
                    && through_markers == 0;
                let p = Placement {
                    rect,
                    leader: ring > 0,
                };
                if best.as_ref().is_none_or(|(o, _)| overlap < *o) {
                    best = Some((overlap, p));
                }
                if clean {
                    break 'rings;
                }
            }
        }
        if let Some((_, p)) = best {
            taken.push(p.rect.grown(PAD));
            if p.leader {
                leaders.push(((px, py), p.rect.nearest(px, py)));
            }
            placed[i] = Some(p);
        }
    }
    placed
        .into_iter()
        .zip(points)
        .map(|(p, &(x, y))| {
            p.unwrap_or(Placement {
                rect: Rect {
                    x,
                    y,
                    w: 0.0,
                    h: 0.0,
                },
                leader: false,
            })
        })
        .collect()
}

/// Label boxes at distance `r` from the point: right, left, above, below, the diagonals, then
/// eight directions between those.
fn candidates(px: f64, py: f64, w: f64, h: f64, r: f64) -> Vec<Rect> {
    let at = |x: f64, y: f64| Rect { x, y, w, h };
    let mut out = vec![
        at(px + r, py - h / 2.0),
        at(px - r - w, py - h / 2.0),
        at(px - w / 2.0, py - r - h),
        at(px - w / 2.0, py + r),
    ];
    // A box whose nearest point to the centre lies at angle `a`, distance `r`.
    let toward = |a: f64| {
        let (dx, dy) = (r * a.cos(), -r * a.sin());
        let x = if dx >= 0.0 { px + dx } else { px + dx - w };
        let y = if dy >= 0.0 { py + dy } else { py + dy - h };
        at(x, y)
    };
    for deg in [
        45.0, 135.0, -45.0, -135.0, 22.5, 157.5, -22.5, -157.5, 67.5, 112.5, -67.5, -112.5,
    ] {
        out.push(toward(f64::to_radians(deg)));
    }
    out
}

/// Whether the segment `a`–`b` passes through the inside of `r` (Liang–Barsky clipping).
fn segment_hits(a: (f64, f64), b: (f64, f64), r: &Rect) -> bool {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a.0 - r.x),
        (dx, r.x + r.w - a.0),
        (-dy, a.1 - r.y),
        (dy, r.y + r.h - a.1),
    ] {
        if p == 0.0 {
            if q <= 0.0 {
                return false;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    t1 - t0 > 1e-9
}

fn overlap_area(a: &Rect, b: &Rect) -> f64 {
    let w = (a.x + a.w).min(b.x + b.w) - a.x.max(b.x);
    let h = (a.y + a.h).min(b.y + b.h) - a.y.max(b.y);
    if w > 0.0 && h > 0.0 {
        w * h
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AREA: Rect = Rect {
        x: 0.0,
        y: 0.0,
        w: 560.0,
        h: 340.0,
    };

    fn check(points: &[(f64, f64)], names: &[&str]) -> Vec<Placement> {
        let sizes: Vec<(f64, f64)> = names.iter().map(|n| (text_width(n, 11.0), 13.0)).collect();
        let placed = place(points, &sizes, 5.0, AREA);
        for (i, a) in placed.iter().enumerate() {
            assert!(a.rect.inside(&AREA), "{} outside: {:?}", names[i], a.rect);
            for (j, b) in placed.iter().enumerate().skip(i + 1) {
                assert!(
                    !a.rect.intersects(&b.rect),
                    "{} and {} overlap",
                    names[i],
                    names[j]
                );
            }
            for (j, &(x, y)) in points.iter().enumerate() {
                let m = Rect {
                    x: x - 5.0,
                    y: y - 5.0,
                    w: 10.0,
                    h: 10.0,
                };
                assert!(!a.rect.intersects(&m), "{} covers marker {j}", names[i]);
            }
        }
        placed
    }

    #[test]
    fn segments_hit_boxes_they_pass_through() {
        let r = Rect {
            x: 10.0,
            y: 10.0,
            w: 10.0,
            h: 10.0,
        };
        assert!(segment_hits((0.0, 15.0), (30.0, 15.0), &r));
        assert!(segment_hits((15.0, 15.0), (15.0, 40.0), &r));
        assert!(!segment_hits((0.0, 0.0), (30.0, 5.0), &r));
        assert!(!segment_hits((0.0, 30.0), (30.0, 20.5), &r));
        // Ending on the edge is not passing through.
        assert!(!segment_hits((0.0, 15.0), (10.0, 15.0), &r));
    }

    #[test]
    fn a_lone_point_keeps_its_label_beside_it() {
        let p = check(&[(100.0, 100.0)], &["x3d_xs"]);
        assert!(!p[0].leader);
        assert_eq!(p[0].rect.x, 100.0 + 5.0 + RING);
    }

    #[test]
    fn clustered_points_get_separate_labels() {
        // Four entries within a few pixels of each other, one exactly on another.
        let names = [
            "slowfast_r101",
            "csn_r101",
            "mvit_base_32x3",
            "r2plus1d_r50",
            "r2plus1d_r50",
            "x3d_l",
        ];
        let points = [
            (400.0, 120.0),
            (396.0, 124.0),
            (404.0, 118.0),
            (398.0, 122.0),
            (398.0, 122.0),
            (300.0, 200.0),
        ];
        let placed = check(&points, &names);
        assert!(placed.iter().any(|p| p.leader), "crowded labels move out");
    }

    #[test]
    fn labels_stay_inside_at_the_edges() {
        check(
            &[(555.0, 5.0), (5.0, 335.0), (555.0, 335.0)],
            &["mvit_base_32x3", "slowfast_16x8_r101_50_50", "c2d_r50"],
        );
    }
}
