//! fvcore's `einsum_flop_jit`: two bmm-like equations by formula, every other one through
//! numpy's `einsum_path(..., optimize="optimal")`, whose printed "Optimized FLOP count" (a `%.3e`
//! string) fvcore parses, halves and floors. Mirrored here for the paths numpy takes without a
//! search: one or two operands, or no index summed away. Three or more operands with a
//! contraction need numpy's optimal-path search and are refused as `Unmirrored`.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::TorchExtError;
use crate::flop_ctx::Ctx;
use crate::ops::Arg;

pub(crate) fn flops(c: &Ctx) -> Result<u64, TorchExtError> {
    let equation = match c.rec.inputs.first() {
        Some(Arg::Str(s)) => s.replace(' ', ""),
        other => return Err(c.bad(format!("argument 0 (equation) is {other:?}"))),
    };
    let shapes: Vec<&[i64]> = match c.rec.inputs.get(1) {
        Some(Arg::TensorList(l)) => l
            .iter()
            .map(|s| s.as_deref().ok_or_else(|| c.bad("an operand is None")))
            .collect::<Result<_, _>>()?,
        other => return Err(c.bad(format!("argument 1 (operands) is {other:?}"))),
    };
    // fvcore renames the letters a, b, c, ... in order of first appearance.
    let mut order: Vec<char> = Vec::new();
    for ch in equation.chars().filter(|ch| ch.is_alphabetic()) {
        if !order.contains(&ch) {
            order.push(ch);
        }
    }
    if order.len() > 26 {
        return Err(c.unmirrored("more than 26 subscripts"));
    }
    let equation: String = equation
        .chars()
        .map(|ch| match order.iter().position(|&o| o == ch) {
            Some(i) => (b'a' + i as u8) as char,
            None => ch,
        })
        .collect();
    let three = |s: &[i64]| -> Result<[u64; 3], TorchExtError> {
        match s {
            [a, b, d] => Ok([c.prod(&[*a])?, c.prod(&[*b])?, c.prod(&[*d])?]),
            _ => Err(c.bad(format!("operand {s:?} is not 3-D"))),
        }
    };
    let last = shapes.last().ok_or_else(|| c.bad("no operands"))?;
    match equation.as_str() {
        "abc,abd->acd" => {
            let [n, ch, t] = three(shapes[0])?;
            let p = *last.last().ok_or_else(|| c.bad("0-D operand"))?;
            c.mul(c.mul(c.mul(n, ch)?, t)?, c.prod(&[p])?)
        }
        "abc,adc->adb" => {
            let [n, t, g] = three(shapes[0])?;
            let ch = *last.get(1).ok_or_else(|| c.bad("operand has < 2 dims"))?;
            c.mul(c.mul(c.mul(n, t)?, g)?, c.prod(&[ch])?)
        }
        _ => numpy_path(c, &equation, &shapes),
    }
}

/// numpy's `einsum_path` cost for a single-step path, then fvcore's parse of its `%.3e` print.
fn numpy_path(c: &Ctx, equation: &str, shapes: &[&[i64]]) -> Result<u64, TorchExtError> {
    if equation.contains('.') {
        return Err(c.unmirrored("ellipsis subscripts"));
    }
    let (lhs, output) = match equation.split_once("->") {
        Some((l, o)) => (l, o.to_string()),
        None => {
            // numpy's implicit output: the letters used once, sorted.
            let all: Vec<char> = equation.chars().filter(|&ch| ch != ',').collect();
            let once: BTreeSet<char> = all
                .iter()
                .copied()
                .filter(|ch| all.iter().filter(|x| *x == ch).count() == 1)
                .collect();
            (equation, once.into_iter().collect())
        }
    };
    let terms: Vec<&str> = lhs.split(',').collect();
    if terms.len() != shapes.len() {
        return Err(c.bad(format!(
            "{} terms for {} operands",
            terms.len(),
            shapes.len()
        )));
    }
    // Index sizes; a size-1 dim broadcasts against a larger one, as numpy allows.
    let mut size: BTreeMap<char, i64> = BTreeMap::new();
    for (term, shape) in terms.iter().zip(shapes) {
        if term.chars().count() != shape.len() {
            return Err(c.bad(format!("term {term} does not fit operand {shape:?}")));
        }
        for (ch, &d) in term.chars().zip(shape.iter()) {
            match size.get(&ch) {
                Some(&1) | None => {
                    size.insert(ch, d);
                }
                Some(&prev) if d != 1 && d != prev => {
                    return Err(c.bad(format!("index {ch}: {prev} vs {d}")));
                }
                Some(_) => {}
            }
        }
    }
    let indices: BTreeSet<char> = terms.iter().flat_map(|t| t.chars()).collect();
    let out_set: BTreeSet<char> = output.chars().collect();
    if terms.len() > 2 && indices != out_set {
        return Err(c.unmirrored(format!(
            "{} operands: numpy searches the optimal path",
            terms.len()
        )));
    }
    // One contraction over every operand (numpy's `_find_contraction` + `_flop_count`).
    let removed = indices.iter().any(|i| !out_set.contains(i));
    let dims: Vec<i64> = indices.iter().map(|i| size[i]).collect();
    let factor = (terms.len() as u64 - 1).max(1) + removed as u64;
    let opt_cost = c.mul(c.prod(&dims)?, factor)? + 1;
    Ok((printed_3e(opt_cost) / 2.0).floor() as u64)
}

/// `float(f"{v:.3e}")` as Python gives it: `v` to float, rounded to 4 significant digits (half
/// to even, on the float's exact value), parsed back.
fn printed_3e(v: u64) -> f64 {
    let exact = v as f64 as u128; // Python's int -> float rounds the same way
    let digits = exact.to_string().len() as u32;
    if digits <= 4 {
        return exact as f64;
    }
    let q = 10u128.pow(digits - 4);
    let (mut m, r) = (exact / q, exact % q);
    if 2 * r > q || (2 * r == q && m % 2 == 1) {
        m += 1;
    }
    let exp = digits - 1 + (m == 10_000) as u32;
    let m = if m == 10_000 { 1_000 } else { m };
    format!("{}.{:03}e{exp}", m / 1000, m % 1000)
        .parse()
        .expect("a formatted float parses")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::ops::OpRecord;

    #[test]
    fn printed_3e_rounds_half_to_even_like_python() {
        // format(12345.0, '.3e') == '1.234e+04'; 12355 -> 1.236e+04; 99995 -> 1.000e+05.
        assert_eq!(printed_3e(12345), 12340.0);
        assert_eq!(printed_3e(12355), 12360.0);
        assert_eq!(printed_3e(12346), 12350.0);
        assert_eq!(printed_3e(99995), 100000.0);
        assert_eq!(printed_3e(987), 987.0);
    }

    fn einsum(eq: &str, shapes: &[&[i64]]) -> Result<u64, TorchExtError> {
        let rec = OpRecord {
            name: "aten::einsum".into(),
            interpreter: false,
            inputs: vec![
                Arg::Str(eq.into()),
                Arg::TensorList(shapes.iter().map(|s| Some(s.to_vec())).collect()),
                Arg::None,
            ],
            outputs: vec![],
        };
        flops(&Ctx {
            file: Path::new("m.pt"),
            index: 0,
            rec: &rec,
        })
    }

    #[test]
    fn bmm_like_equations_use_fvcore_formulas() {
        // "nct,ncp->ntp" renames to "abc,abd->acd": n·c·t·p.
        assert_eq!(
            einsum("nct,ncp->ntp", &[&[2, 3, 5], &[2, 3, 7]]).unwrap(),
            210
        );
        assert_eq!(
            einsum("ntg,ncg->nct", &[&[2, 5, 3], &[2, 7, 3]]).unwrap(),
            210
        );
    }

    #[test]
    fn other_equations_use_numpys_single_step_cost() {
        // MViT's relative position term: sizes b2 y3 t4 h5 w6 c7 k5; c is summed away, so
        // cost = 2·(2·3·4·5·6·7·5) + 1 = 50401 -> "5.040e+04" -> 25200.
        let f = einsum("bythwc,hkc->bythwk", &[&[2, 3, 4, 5, 6, 7], &[5, 5, 7]]).unwrap();
        assert_eq!(f, 25200);
        let err = einsum("ab,bc,cd->ad", &[&[2, 3], &[3, 4], &[4, 5]]).unwrap_err();
        assert!(err.to_string().contains("optimal path"), "{err}");
    }
}
