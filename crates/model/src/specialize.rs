//! Picking a kernel written for one concrete backend from backend-generic model code.
//!
//! The model is generic over burn's `Backend`; a few operations have faster implementations
//! for the backends rankforge builds (see [`crate::attention_softmax`], [`crate::gelu`]).
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
