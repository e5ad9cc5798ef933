//! Python's number semantics, as far as PyTorchVideo's clip arithmetic needs them.
//!
//! PyTorchVideo mixes `fractions.Fraction` (stream time bases, durations, clip bounds) with Python
//! floats (PySlowFast passes the clip duration as `T*tau/30`; callers may pass float seconds to
//! `get_clip`). `Fraction(float)` is exact, `float(Fraction)` is correctly rounded, and
//! `float / Fraction` divides two doubles. Reproducing which frames a clip holds needs those rules
//! bit for bit, so [`Ratio`] is an exact i128 fraction and [`Seconds`] is "a Fraction or a float".

use crate::error::{DataError, Result};
use std::cmp::Ordering;
use std::fmt;

/// An exact fraction, always reduced, denominator > 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ratio {
    num: i128,
    den: i128,
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn overflow() -> DataError {
    DataError::Overflow {
        what: "clip time arithmetic".into(),
    }
}

impl Ratio {
    pub const ZERO: Ratio = Ratio { num: 0, den: 1 };

    pub fn new(num: i128, den: i128) -> Result<Ratio> {
        if den == 0 {
            return Err(DataError::Invalid {
                what: "fraction".into(),
                message: format!("{num}/0 has a zero denominator"),
            });
        }
        let g = gcd(num.unsigned_abs(), den.unsigned_abs()) as i128;
        let (n, d) = (num / g, den / g);
        Ok(if d < 0 {
            Ratio { num: -n, den: -d }
        } else {
            Ratio { num: n, den: d }
        })
    }
    pub fn from_int(v: i64) -> Ratio {
        Ratio {
            num: v as i128,
            den: 1,
        }
    }
    pub fn num(self) -> i128 {
        self.num
    }
    pub fn den(self) -> i128 {
        self.den
    }

    /// `Fraction(x)`: the exact value of a finite double.
    pub fn from_f64(x: f64) -> Result<Ratio> {
        if !x.is_finite() {
            return Err(DataError::Invalid {
                what: "time".into(),
                message: format!("{x} is not a finite number of seconds"),
            });
        }
        if x == 0.0 {
            return Ok(Ratio::ZERO);
        }
        let bits = x.to_bits();
        let exp = ((bits >> 52) & 0x7ff) as i32;
        let frac = (bits & ((1u64 << 52) - 1)) as i128;
        let (mant, e) = if exp == 0 {
            (frac, -1074)
        } else {
            (frac | (1i128 << 52), exp - 1075)
        };
        let mant = if x < 0.0 { -mant } else { mant };
        if e >= 0 {
            if e > 70 {
                return Err(overflow());
            }
            Ratio::new(mant << e, 1)
        } else {
            // Strip trailing zero bits first so modest values keep small denominators.
            let tz = (mant.trailing_zeros() as i32).min(-e);
            let (m, sh) = (mant >> tz, -e - tz);
            if sh > 125 {
                return Err(overflow());
            }
            Ratio::new(m, 1i128 << sh)
        }
    }

    /// `float(Fraction)`: correctly rounded (ties to even), as Python's int/int true division.
    pub fn to_f64(self) -> f64 {
        if self.num == 0 {
            return 0.0;
        }
        let neg = self.num < 0;
        let (mut a, mut b) = (self.num.unsigned_abs(), self.den as u128);
        // Values this large never occur in clip arithmetic; drop low bits rather than overflow.
        while a >= 1 << 100 || b >= 1 << 100 {
            a >>= 1;
            b >>= 1;
            if a == 0 || b == 0 {
                return if b == 0 { f64::INFINITY } else { 0.0 };
            }
        }
        let bits = |v: u128| 128 - v.leading_zeros() as i32;
        // Find e with b·2^e <= a < b·2^(e+1), then divide 55 bits out of the normalised remainder.
        let mut e = bits(a) - bits(b);
        let (mut r, mut d) = if e >= 0 { (a, b << e) } else { (a << -e, b) };
        if r < d {
            e -= 1;
            if d & 1 == 0 && e >= 0 {
                d >>= 1;
            } else {
                r <<= 1;
            }
        }
        let mut q: u128 = 0;
        for _ in 0..55 {
            q <<= 1;
            if r >= d {
                r -= d;
                q |= 1;
            }
            r <<= 1;
        }
        let sticky = r != 0 || q & 1 == 1;
        let guard = (q >> 1) & 1 == 1;
        let mut mant = q >> 2;
        if guard && (sticky || mant & 1 == 1) {
            mant += 1;
            if mant == 1 << 53 {
                mant >>= 1;
                e += 1;
            }
        }
        let v = mant as f64 * 2f64.powi(e - 52);
        if neg {
            -v
        } else {
            v
        }
    }

    pub fn checked_add(self, o: Ratio) -> Result<Ratio> {
        let n = self
            .num
            .checked_mul(o.den)
            .and_then(|a| o.num.checked_mul(self.den).and_then(|b| a.checked_add(b)))
            .ok_or_else(overflow)?;
        Ratio::new(n, self.den.checked_mul(o.den).ok_or_else(overflow)?)
    }
    pub fn checked_sub(self, o: Ratio) -> Result<Ratio> {
        self.checked_add(Ratio {
            num: -o.num,
            den: o.den,
        })
    }
    pub fn checked_mul(self, o: Ratio) -> Result<Ratio> {
        // Cross-reduce first to keep the parts small.
        let g1 = gcd(self.num.unsigned_abs(), o.den as u128).max(1) as i128;
        let g2 = gcd(o.num.unsigned_abs(), self.den as u128).max(1) as i128;
        let n = (self.num / g1)
            .checked_mul(o.num / g2)
            .ok_or_else(overflow)?;
        let d = (self.den / g2)
            .checked_mul(o.den / g1)
            .ok_or_else(overflow)?;
        Ratio::new(n, d)
    }
    pub fn checked_div(self, o: Ratio) -> Result<Ratio> {
        if o.num == 0 {
            return Err(DataError::Invalid {
                what: "fraction".into(),
                message: "division by zero".into(),
            });
        }
        self.checked_mul(Ratio::new(o.den, o.num)?)
    }
    /// `math.floor` / `math.ceil` of a Fraction.
    pub fn floor(self) -> i128 {
        self.num.div_euclid(self.den)
    }
    pub fn ceil(self) -> i128 {
        -((-self.num).div_euclid(self.den))
    }
}

impl Ord for Ratio {
    fn cmp(&self, o: &Self) -> Ordering {
        match (self.num.checked_mul(o.den), o.num.checked_mul(self.den)) {
            (Some(a), Some(b)) => a.cmp(&b),
            // Far outside clip magnitudes; compare the floats.
            _ => self.to_f64().total_cmp(&o.to_f64()),
        }
    }
}
impl PartialOrd for Ratio {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

/// A time in seconds as Python holds it in PyTorchVideo: a `Fraction` or a `float`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Seconds {
    Exact(Ratio),
    Float(f64),
}

impl Seconds {
    pub fn to_f64(self) -> f64 {
        match self {
            Seconds::Exact(r) => r.to_f64(),
            Seconds::Float(x) => x,
        }
    }
    /// PyTorchVideo's `secs_to_pts(t, time_base, start_pts, round_mode="ceil")`:
    /// `math.ceil(t / time_base) + start_pts`, where a float `t` divides by `float(time_base)`.
    pub fn to_pts_ceil(self, time_base: Ratio, start_pts: i64) -> Result<i64> {
        let q = match self {
            Seconds::Exact(r) => r.checked_div(time_base)?.ceil(),
            Seconds::Float(x) => {
                let v = (x / time_base.to_f64()).ceil();
                if !v.is_finite() || v.abs() > 9.0e18 {
                    return Err(DataError::Invalid {
                        what: "time".into(),
                        message: format!("{x} s does not fit a timestamp"),
                    });
                }
                v as i128
            }
        };
        i64::try_from(q + start_pts as i128).map_err(|_| overflow())
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Seconds::Exact(r) => write!(f, "{r}"),
            Seconds::Float(x) => write!(f, "{x:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_round_trips_exactly() {
        for x in [
            0.1,
            6.1,
            2.1333333333333333,
            1e-9,
            123456.789,
            -3.75,
            1.5e20,
        ] {
            let r = Ratio::from_f64(x).unwrap();
            assert_eq!(r.to_f64(), x, "{x}");
        }
    }

    #[test]
    fn to_f64_is_correctly_rounded() {
        // 1/3, 2/3, 64/30 and a tie case: (2^53 + 1) / 2^53 rounds to even (1.0).
        assert_eq!(Ratio::new(1, 3).unwrap().to_f64(), 1.0 / 3.0);
        assert_eq!(Ratio::new(2, 3).unwrap().to_f64(), 2.0 / 3.0);
        assert_eq!(Ratio::new(64, 30).unwrap().to_f64(), 64.0 / 30.0);
        assert_eq!(Ratio::new((1 << 53) + 1, 1 << 53).unwrap().to_f64(), 1.0);
        assert_eq!(
            Ratio::new((1 << 53) + 3, 1 << 53).unwrap().to_f64(),
            1.0 + 2.0 * f64::EPSILON
        );
        // CPython 3.11: float(Fraction(6.1 - 0.5) / 10) == 0.5599999999999999.
        let r = Ratio::from_f64(6.1 - 0.5)
            .unwrap()
            .checked_div(Ratio::from_int(10))
            .unwrap();
        assert_eq!(r.to_f64(), 0.5599999999999999);
    }

    #[test]
    fn ceil_and_floor_follow_python() {
        let r = Ratio::new(-7, 2).unwrap();
        assert_eq!((r.floor(), r.ceil()), (-4, -3));
        let r = Ratio::new(7, 2).unwrap();
        assert_eq!((r.floor(), r.ceil()), (3, 4));
    }

    #[test]
    fn pts_conversion() {
        let tb = Ratio::new(1, 15360).unwrap();
        let s = Seconds::Exact(Ratio::new(1, 3).unwrap());
        assert_eq!(s.to_pts_ceil(tb, 0).unwrap(), 5120);
        assert_eq!(Seconds::Float(0.1).to_pts_ceil(tb, 7).unwrap(), 1536 + 7);
    }
}
