//! The one boundary every exported function goes through.
//!
//! [`boundary!`] runs a function's body under `catch_unwind`, so a panic
//! becomes [`wq_status::Panic`] instead of unwinding into C (which would be
//! undefined behaviour), and turns the body's `Result` into a status: a
//! body written with `?` returns the first non-OK status it meets. The
//! helpers below check pointers before any work is done, so a call with a
//! NULL handle or out-pointer changes nothing and returns
//! [`wq_status::NullArgument`].

use crate::status::wq_status;
use std::mem::MaybeUninit;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What a function body returns: `Ok(())` for [`wq_status::Ok`], or the
/// status to return.
pub(crate) type Outcome = Result<(), wq_status>;

/// Runs the body (an expression of type [`Outcome`]) inside the panic
/// boundary and returns a [`wq_status`].
macro_rules! boundary {
    ($body:expr) => {
        $crate::boundary::run(|| -> $crate::boundary::Outcome { $body })
    };
}
pub(crate) use boundary;

/// Runs `body`, catching panics. Used through [`boundary!`].
#[inline(always)]
pub(crate) fn run(body: impl FnOnce() -> Outcome) -> wq_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => wq_status::Ok,
        Ok(Err(status)) => status,
        Err(_) => wq_status::Panic,
    }
}

/// Runs a `_free` body: a `void` function cannot report a panic, so it is
/// swallowed (and printed by the panic hook) rather than unwound into C.
#[inline(always)]
pub(crate) fn run_void(body: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(body));
}

/// The object behind a handle, or `NullArgument`.
///
/// # Safety
/// `ptr` is NULL or points to a live `T` that stays live, and is not
/// mutated except through interior mutability, for `'a`.
#[inline(always)]
pub(crate) unsafe fn arg<'a, T>(ptr: *const T) -> Result<&'a T, wq_status> {
    // SAFETY: forwarded to the caller.
    unsafe { ptr.as_ref() }.ok_or(wq_status::NullArgument)
}

/// A required out-parameter, checked for NULL before any work is done.
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    /// Writes the result. Called only once the call has succeeded.
    #[inline(always)]
    pub(crate) fn write(self, value: T) {
        // SAFETY: `out` checked the pointer is not NULL; the caller of the
        // exported function promised it is valid for a write of `T`. A
        // plain write: the old value may be uninitialised, never dropped.
        unsafe { self.0.write(value) }
    }
}

/// A required out-parameter: `NullArgument` when NULL.
#[inline(always)]
pub(crate) fn out<T>(ptr: *mut T) -> Result<Out<T>, wq_status> {
    if ptr.is_null() {
        Err(wq_status::NullArgument)
    } else {
        Ok(Out(ptr))
    }
}

/// An optional out-parameter: NULL means the caller does not want it.
#[inline(always)]
pub(crate) fn out_opt<T>(ptr: *mut T) -> Option<Out<T>> {
    (!ptr.is_null()).then_some(Out(ptr))
}

/// Writes `value` to an optional out-parameter, if there is one.
#[inline(always)]
pub(crate) fn write_opt<T>(out: Option<Out<T>>, value: T) {
    if let Some(out) = out {
        out.write(value);
    }
}

/// A caller's array of `len` elements; NULL is accepted when `len` is 0.
///
/// # Safety
/// `ptr` is NULL or valid for reads of `len` elements for `'a`.
#[inline(always)]
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], wq_status> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(wq_status::NullArgument);
    }
    // SAFETY: not NULL, and the caller promised `len` readable elements.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A caller's writable array of `len` elements, possibly uninitialised;
/// NULL is accepted when `len` is 0.
///
/// # Safety
/// `ptr` is NULL or valid for writes of `len` elements for `'a`, and no
/// one else accesses them meanwhile.
#[inline(always)]
pub(crate) unsafe fn slice_out<'a, T>(
    ptr: *mut T,
    len: usize,
) -> Result<&'a mut [MaybeUninit<T>], wq_status> {
    if len == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(wq_status::NullArgument);
    }
    // SAFETY: not NULL, and the caller promised `len` writable elements no
    // one else touches during the call; `MaybeUninit` never reads them.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr.cast::<MaybeUninit<T>>(), len) })
}

/// Moves `value` to the heap and hands it to C as a handle.
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Frees a handle made by [`into_handle`]; NULL does nothing.
///
/// # Safety
/// `ptr` is NULL or came from [`into_handle`] for this `T` and is not used
/// again.
pub(crate) unsafe fn free_handle<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: forwarded to the caller: made by `Box::into_raw`, freed once.
        drop(unsafe { Box::from_raw(ptr) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boundary_turns_results_and_panics_into_statuses() {
        assert_eq!(run(|| Ok(())), wq_status::Ok);
        assert_eq!(run(|| Err(wq_status::Timeout)), wq_status::Timeout);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let status = run(|| panic!("a bug"));
        run_void(|| panic!("a bug in a free"));
        std::panic::set_hook(previous);
        assert_eq!(status, wq_status::Panic);
    }

    #[test]
    fn pointer_checks() {
        let mut value = 1u64;
        // SAFETY: NULL, and a pointer to a live local.
        unsafe {
            assert_eq!(
                arg(std::ptr::null::<u64>()).err(),
                Some(wq_status::NullArgument)
            );
            assert_eq!(arg(&value as *const u64), Ok(&1));
            assert!(slice(std::ptr::null::<u64>(), 0).unwrap().is_empty());
            assert_eq!(
                slice(std::ptr::null::<u64>(), 1).err(),
                Some(wq_status::NullArgument)
            );
            assert!(slice_out(std::ptr::null_mut::<u64>(), 0)
                .unwrap()
                .is_empty());
            assert!(slice_out(std::ptr::null_mut::<u64>(), 2).is_err());
        }
        assert!(out(std::ptr::null_mut::<u64>()).is_err());
        assert!(out_opt(std::ptr::null_mut::<u64>()).is_none());
        out(&mut value as *mut u64).unwrap().write(5);
        write_opt(out_opt(&mut value as *mut u64), 6);
        assert_eq!(value, 6);
    }
}
