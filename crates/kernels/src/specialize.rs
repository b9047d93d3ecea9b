//! Picking a kernel written for one concrete backend from backend-generic model code.
//!
//! The model is generic over burn's `Backend`; a few operations have faster implementations
//! for the backends rankforge builds (see [`crate::attention_softmax`], [`crate::attention_training`],
//! [`crate::linear`],
//! [`crate::attention_inference`],
//! [`crate::layer_norm`], [`crate::gelu`]).
//! Rust has no specialisation, so those call sites test the type at run time: every burn
//! backend and tensor is `'static`, which makes a `TypeId` comparison through [`Any`] exact
//! and free of `unsafe`.

use std::any::Any;

/// `value` as a `U` when `T` is `U`, else `value` back unchanged.
pub fn cast<T: 'static, U: 'static>(value: T) -> Result<U, T> {
    let boxed: Box<dyn Any> = Box::new(value);
    match boxed.downcast::<U>() {
        Ok(value) => Ok(*value),
        Err(boxed) => Err(*boxed
            .downcast::<T>()
            .unwrap_or_else(|_| unreachable!("a boxed value keeps its type"))),
    }
}

/// `value` as a `U`, for a `T` the caller has already identified as `U`.
pub fn same<T: 'static, U: 'static>(value: T) -> U {
    cast(value).unwrap_or_else(|_| unreachable!("the caller checked that the types are equal"))
}

/// Test builds (and builds with the `trace` feature, which the model crate's tests enable)
/// record which specialised kernel ran on the calling thread, so tests can prove that a generic
/// entry point took it (the kernels match burn's values, so results cannot tell).
#[cfg(any(test, feature = "trace"))]
pub mod trace {
    use std::cell::RefCell;

    thread_local! {
        static TAKEN: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
    }

    pub(crate) fn note(kernel: &'static str) {
        TAKEN.with(|taken| taken.borrow_mut().push(kernel));
    }

    /// The kernels run on this thread since the last call.
    pub fn taken() -> Vec<&'static str> {
        TAKEN.with(|taken| std::mem::take(&mut *taken.borrow_mut()))
    }
}

/// No-op outside tests.
#[cfg(not(any(test, feature = "trace")))]
pub(crate) mod trace {
    #[inline(always)]
    pub(crate) fn note(_kernel: &'static str) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_only_between_equal_types() {
        assert_eq!(cast::<u32, u32>(7), Ok(7));
        assert_eq!(cast::<u32, i32>(7), Err(7));
        assert_eq!(same::<String, String>("a".into()), "a");
    }
}
