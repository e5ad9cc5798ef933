//! BatchNorm folding for every CNN of the zoo, without touching the model files.
//!
//! Which BN follows which conv is found from the data, not from names: one *discovery* forward
//! notes each conv's output tensor (kept alive, so its memory cannot be reused) and pairs a BN
//! with the conv whose output it receives as its very input: same storage, sizes and strides.
//! A second *apply* forward lets each paired conv rescale its weight in place and take the folded
//! bias, and each paired BN switch itself to the identity. The arithmetic is PyTorch's
//! `torch.nn.utils.fusion.fuse_conv_bn_weights`, in its order, so a folded vbench model and a
//! PyTorch model folded with `fuse_conv_bn_eval` hold the same weights.
//!
//! The hooks (`before_conv`, `after_conv`, `at_batch_norm`) cost one thread-local read per layer
//! when no session is active.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use tch::Tensor;

use crate::error::{ModelError, Result};

/// A BN's eval-mode parameters, shared with the model (shallow clones).
struct BnParams {
    weight: Tensor,
    bias: Tensor,
    mean: Tensor,
    var: Tensor,
    eps: f64,
}

#[derive(Default)]
struct Discovery {
    /// The last conv's path and output, kept alive until the next BN looks at it.
    last_conv: Option<(String, Tensor)>,
    /// conv path → (BN path, its parameters).
    pairs: BTreeMap<String, (String, BnParams)>,
    /// Every BN that ran, in order.
    batch_norms: Vec<String>,
}

struct Apply {
    /// conv path → its BN's parameters; removed once folded.
    convs: BTreeMap<String, BnParams>,
    /// BN paths still to switch off; removed once switched.
    batch_norms: BTreeSet<String>,
    error: Option<ModelError>,
}

enum Session {
    Discover(Discovery),
    Apply(Apply),
}

thread_local! {
    static SESSION: RefCell<Option<Session>> = const { RefCell::new(None) };
}

/// What folding did to a model.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FoldReport {
    /// (conv path, BN path) of every fold, in the model's order of convs.
    pub folded: Vec<(String, String)>,
    /// BNs that no conv output feeds directly: left as they are.
    pub unfolded: Vec<String>,
}

/// Runs `f` with `session` installed on this thread and returns what it left; the previous state
/// comes back even if `f` panics.
fn with_session<R>(session: Session, f: impl FnOnce() -> R) -> (R, Option<Session>) {
    struct Restore(Option<Option<Session>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(prev) = self.0.take() {
                SESSION.with(|s| *s.borrow_mut() = prev);
            }
        }
    }
    let mut restore = Restore(Some(SESSION.with(|s| s.replace(Some(session)))));
    let r = f();
    let left = SESSION.with(|s| s.replace(restore.0.take().flatten()));
    (r, left)
}

/// Folds every BN that directly follows a conv into it. `forward` runs the model once per phase
/// (twice in all) on any valid input; the model must not have been folded before.
pub fn fold_batch_norms(forward: &dyn Fn() -> Result<()>) -> Result<FoldReport> {
    let _no_grad = tch::no_grad_guard();
    let (r, left) = with_session(Session::Discover(Discovery::default()), forward);
    r?;
    let Some(Session::Discover(d)) = left else {
        return Err(internal("the discovery session was replaced"));
    };
    let folded: Vec<(String, String)> = d
        .pairs
        .iter()
        .map(|(c, (b, _))| (c.clone(), b.clone()))
        .collect();
    let paired: BTreeSet<&String> = d.pairs.values().map(|(b, _)| b).collect();
    let unfolded: Vec<String> = d
        .batch_norms
        .iter()
        .filter(|b| !paired.contains(b))
        .cloned()
        .collect();
    if folded.is_empty() {
        return Ok(FoldReport { folded, unfolded });
    }
    let apply = Apply {
        batch_norms: d.pairs.values().map(|(b, _)| b.clone()).collect(),
        convs: d.pairs.into_iter().map(|(c, (_, p))| (c, p)).collect(),
        error: None,
    };
    let (r, left) = with_session(Session::Apply(apply), forward);
    r?;
    let Some(Session::Apply(a)) = left else {
        return Err(internal("the apply session was replaced"));
    };
    if let Some(e) = a.error {
        return Err(e);
    }
    if !a.convs.is_empty() || !a.batch_norms.is_empty() {
        return Err(internal(&format!(
            "the second forward did not reach convs {:?} / BNs {:?}",
            a.convs.keys().collect::<Vec<_>>(),
            a.batch_norms
        )));
    }
    Ok(FoldReport { folded, unfolded })
}

fn internal(message: &str) -> ModelError {
    ModelError::BadConfig {
        builder: "fold_batch_norms",
        reason: message.to_string(),
    }
}

/// Conv hook, before it runs: in the apply phase a paired conv takes its BN.
pub(crate) fn before_conv(
    path: &str,
    weight: &Tensor,
    bias: Option<&Tensor>,
    folded_bias: &OnceLock<Tensor>,
) -> Result<()> {
    SESSION.with(|s| {
        let mut s = s.borrow_mut();
        let Some(Session::Apply(a)) = s.as_mut() else {
            return Ok(());
        };
        let Some(bn) = a.convs.remove(path) else {
            return Ok(());
        };
        if let Err(e) = fold_into(path, weight, bias, folded_bias, &bn) {
            a.error.get_or_insert(e);
        }
        Ok(())
    })
}

/// `fuse_conv_bn_weights`: w' = w · (γ · rsqrt(σ² + ε)), b' = (b − μ) · rsqrt(σ² + ε) · γ + β,
/// b = 0 for a conv without bias. Weights change in place (the var store sees them).
fn fold_into(
    path: &str,
    weight: &Tensor,
    bias: Option<&Tensor>,
    folded_bias: &OnceLock<Tensor>,
    bn: &BnParams,
) -> Result<()> {
    let torch = ModelError::torch(path);
    let rsqrt = (&bn.var + bn.eps).f_rsqrt().map_err(&torch)?;
    let mut shape = vec![-1i64, 1];
    shape.resize(weight.dim(), 1);
    let scale = (&bn.weight * &rsqrt).f_reshape(&shape).map_err(&torch)?;
    let w = (weight * scale).f_to_kind(weight.kind()).map_err(&torch)?;
    let b0 = match bias {
        Some(b) => b.shallow_clone(),
        None => bn.mean.zeros_like(),
    };
    let b = ((b0 - &bn.mean) * &rsqrt * &bn.weight + &bn.bias)
        .f_to_kind(bias.map_or(weight.kind(), Tensor::kind))
        .map_err(&torch)?;
    weight.shallow_clone().f_copy_(&w).map_err(&torch)?;
    match bias {
        Some(old) => old.shallow_clone().f_copy_(&b).map_err(&torch)?,
        None => {
            if folded_bias.set(b).is_err() {
                return Err(internal(&format!("{path} was folded twice")));
            }
        }
    }
    Ok(())
}

/// Conv hook, after it ran: discovery remembers its output.
pub(crate) fn after_conv(path: &str, y: &Tensor) {
    SESSION.with(|s| {
        if let Some(Session::Discover(d)) = s.borrow_mut().as_mut() {
            d.last_conv = Some((path.to_string(), y.shallow_clone()));
        }
    });
}

/// BN hook, before it runs: discovery pairs it with the conv whose output it is given; in the
/// apply phase it returns true for a BN that must switch itself off.
pub(crate) fn at_batch_norm(
    path: &str,
    x: &Tensor,
    (weight, bias, mean, var, eps): (&Tensor, &Tensor, &Tensor, &Tensor, f64),
) -> bool {
    SESSION.with(|s| match s.borrow_mut().as_mut() {
        None => false,
        Some(Session::Apply(a)) => a.batch_norms.remove(path),
        Some(Session::Discover(d)) => {
            d.batch_norms.push(path.to_string());
            if let Some((conv, y)) = d.last_conv.take() {
                let same = y.data_ptr() == x.data_ptr()
                    && y.size() == x.size()
                    && y.stride() == x.stride();
                if same && !d.pairs.contains_key(&conv) {
                    let p = BnParams {
                        weight: weight.shallow_clone(),
                        bias: bias.shallow_clone(),
                        mean: mean.shallow_clone(),
                        var: var.shallow_clone(),
                        eps,
                    };
                    d.pairs.insert(conv, (path.to_string(), p));
                }
            }
            false
        }
    })
}
