//! Where the bf16-cast variant keeps float32: ops with no bfloat16 kernel on the device. Today
//! that is `avg_pool3d` on the CPU (libtorch: "avg_pool3d_out_frame" not implemented for
//! 'BFloat16'), the head pool of every X3D, ResNet-family and SlowFast model.
//!
//! The fallback acts only inside a [`CastScope`] (the bf16-cast variant's forward), so a model
//! given bfloat16 inputs any other way fails as libtorch makes it fail. A scope also notes where
//! the fallback ran, so results can say it.

use std::cell::RefCell;
use std::collections::BTreeSet;

use tch::{Device, Kind, Tensor};

thread_local! {
    /// `Some` inside a scope: the (path, op) pairs that ran in float32.
    static SCOPE: RefCell<Option<BTreeSet<String>>> = const { RefCell::new(None) };
}

/// While alive, layers without a bfloat16 kernel on the CPU run in float32 on this thread and
/// cast back. Scopes nest; dropping restores the outer one.
pub struct CastScope {
    prev: Option<Option<BTreeSet<String>>>,
    _thread_bound: std::marker::PhantomData<*const ()>,
}

impl CastScope {
    pub fn enter() -> CastScope {
        let prev = SCOPE.with(|s| s.replace(Some(BTreeSet::new())));
        CastScope {
            prev: Some(prev),
            _thread_bound: std::marker::PhantomData,
        }
    }

    /// Where float32 ran in this scope so far: `avg_pool3d at blocks.5.pool.pool`, sorted.
    pub fn fallbacks(&self) -> Vec<String> {
        SCOPE.with(|s| {
            s.borrow()
                .as_ref()
                .map(|set| set.iter().cloned().collect())
                .unwrap_or_default()
        })
    }
}

impl Drop for CastScope {
    fn drop(&mut self) {
        if let Some(prev) = self.prev.take() {
            SCOPE.with(|s| *s.borrow_mut() = prev);
        }
    }
}

/// Layer hook: inside a [`CastScope`], a bfloat16 CPU input of an op without a bfloat16 kernel
/// gets `Some(kind to cast the output back to)`, and the place is noted.
pub(crate) fn fp32_fallback(path: &str, op: &str, x: &Tensor) -> Option<Kind> {
    SCOPE.with(|s| {
        let mut s = s.borrow_mut();
        let set = s.as_mut()?;
        if x.kind() != Kind::BFloat16 || x.device() != Device::Cpu {
            return None;
        }
        if set.len() < 1000 {
            set.insert(format!("{op} at {path}"));
        }
        Some(Kind::BFloat16)
    })
}
