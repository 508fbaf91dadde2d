//! Keys at the boundary: a Python object becomes a pure-Rust [`Key`] once,
//! when it enters the queue, so the queue hashes and compares keys without
//! the interpreter; a key handed out becomes an equal Python object again.
//!
//! Accepted: `int` in 64-bit range (`-2**63 .. 2**64 - 1`), `str`, `bytes`,
//! and tuples of these (nested up to [`MAX_DEPTH`]). Subclasses are accepted
//! and come back as the base type, except `bool`, which is refused: a bool
//! key is almost always a bug, and `True == 1` in Python would make the two
//! silently collapse. Keys of different types never collapse: `1`, `"1"`
//! and `b"1"` are three keys.
//!
//! Strings and bytes up to [`INLINE`] bytes are stored inside the key (no
//! allocation, no reference count); longer ones in one shared allocation.
//! Either way their hash is computed once, at conversion.

use crate::time::type_name;
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyInt, PyString, PyTuple};
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::os::raw::c_int;
use std::sync::{Arc, OnceLock};

/// How deeply key tuples may nest.
pub const MAX_DEPTH: usize = 32;

/// A key as the queue stores it. Every Python key has exactly one
/// representation, so equal Python keys are equal `Key`s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    /// An `int` in `i64` range.
    Int(i64),
    /// An `int` above `i64::MAX` (and at most `u64::MAX`).
    BigInt(u64),
    /// A short `str` of ASCII characters only (at most [`INLINE`] of
    /// them), stored inline: no allocation, no reference count.
    ShortAscii(Inline),
    /// A longer `str` of ASCII characters only.
    Ascii(Blob),
    /// A short `str` with other characters (at most [`INLINE`] bytes of
    /// UTF-8), stored inline.
    ShortStr(Inline),
    /// A longer `str` with other characters, as UTF-8.
    Str(Blob),
    /// A `str` holding lone surrogates (not valid UTF-8), encoded with
    /// `surrogatepass`.
    SurrogateStr(Blob),
    /// A short `bytes`, stored inline.
    ShortBytes(Inline),
    /// A longer `bytes`.
    Bytes(Blob),
    /// A `tuple` of keys.
    Tuple(Arc<[Key]>),
}

// Short keys inline, long ones behind one pointer: 48 bytes a key.
const _: () = assert!(std::mem::size_of::<Key>() == 48);

/// One word per key, computed when the key was converted: the queue's
/// hasher mixes it once. Keys of different types may share a word (only
/// equality decides).
impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.prehash());
    }
}

impl Key {
    fn prehash(&self) -> u64 {
        match self {
            Key::Int(value) => *value as u64,
            Key::BigInt(value) => *value,
            Key::ShortAscii(text) | Key::ShortStr(text) => u64::from(text.hash),
            Key::Ascii(text) | Key::Str(text) => text.hash_value(),
            Key::SurrogateStr(text) => text.hash_value() ^ 0x5a5a,
            Key::ShortBytes(bytes) => u64::from(bytes.hash) ^ 0xb7e5,
            Key::Bytes(bytes) => bytes.hash_value() ^ 0xb7e5,
            Key::Tuple(items) => items.iter().fold(items.len() as u64, |hash, item| {
                (hash ^ item.prehash())
                    .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                    .rotate_left(29)
            }),
        }
    }
}

/// How many bytes a key stores inline. With the tag, the length and the
/// hash, a `Key` is 48 bytes; Kubernetes keys (`namespace/name`) often fit.
pub const INLINE: usize = 39;

/// Up to [`INLINE`] bytes and their hash, unused bytes zero (so the derived
/// equality compares the data).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Inline {
    hash: u32,
    len: u8,
    bytes: [u8; INLINE],
}

impl Inline {
    fn new(data: &[u8]) -> Option<Inline> {
        let mut bytes = [0u8; INLINE];
        bytes.get_mut(..data.len())?.copy_from_slice(data);
        Some(Inline {
            hash: hash_bytes(data) as u32,
            len: data.len() as u8,
            bytes,
        })
    }

    pub fn data(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl fmt::Debug for Inline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.data()))
    }
}

/// Immutable bytes behind one reference count, with their hash computed
/// once when the key enters the queue: a key is hashed several times on
/// its way through the queue's sets, and compared by pointer first (the
/// copies the queue keeps of one key share one allocation).
#[derive(Clone)]
pub struct Blob(Arc<[u8]>);

/// Bytes of the hash in front of the data.
const HASH_LEN: usize = 8;

impl Blob {
    pub fn new(data: &[u8]) -> Blob {
        let hash = hash_bytes(data).to_le_bytes();
        let mut blob = Arc::<[u8]>::new_uninit_slice(HASH_LEN + data.len());
        let slots = Arc::get_mut(&mut blob).expect("a new Arc is not shared");
        for (slot, byte) in slots.iter_mut().zip(hash.iter().chain(data)) {
            slot.write(*byte);
        }
        // SAFETY: the zip wrote every one of the HASH_LEN + data.len() slots.
        Blob(unsafe { blob.assume_init() })
    }

    pub fn data(&self) -> &[u8] {
        &self.0[HASH_LEN..]
    }

    fn hash_value(&self) -> u64 {
        let mut hash = [0u8; HASH_LEN];
        hash.copy_from_slice(&self.0[..HASH_LEN]);
        u64::from_le_bytes(hash)
    }
}

impl PartialEq for Blob {
    fn eq(&self, other: &Blob) -> bool {
        // The hash prefix makes most unequal keys differ in the first word.
        Arc::ptr_eq(&self.0, &other.0) || self.0[..] == other.0[..]
    }
}

impl Eq for Blob {}

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.data()))
    }
}

/// A seeded folded-multiply hash (the construction of foldhash): the seed
/// is random per process, so keys cannot be chosen to collide.
fn hash_bytes(data: &[u8]) -> u64 {
    const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;
    static SEED: OnceLock<u64> = OnceLock::new();
    let seed = *SEED.get_or_init(|| RandomState::new().hash_one(0x5eed_u64) | 1);
    let fold = |a: u64, b: u64| {
        let product = u128::from(a) * u128::from(b);
        (product as u64) ^ ((product >> 64) as u64)
    };
    let word = |at: usize| u64::from_le_bytes(data[at..at + 8].try_into().expect("8 bytes"));
    let len = data.len();
    let mut state = seed ^ (len as u64);
    let tail = if len >= 8 {
        let mut at = 0;
        while at + 8 < len {
            state = fold(state ^ word(at), MULTIPLIER);
            at += 8;
        }
        // The last 8 bytes, overlapping bytes already mixed in if the
        // length is not a multiple of 8: no byte-by-byte copy.
        word(len - 8)
    } else if len >= 4 {
        let half = |at: usize| u32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes"));
        u64::from(half(0)) | (u64::from(half(len - 4)) << 32)
    } else if len > 0 {
        u64::from(data[0]) | (u64::from(data[len / 2]) << 8) | (u64::from(data[len - 1]) << 16)
    } else {
        0
    };
    fold(state ^ tail, MULTIPLIER ^ seed)
}

impl Key {
    /// Converts a Python key; `arg` names the argument in error messages.
    pub fn from_py(obj: &Bound<'_, PyAny>, arg: &str) -> PyResult<Key> {
        Key::convert(obj, arg, 0)
    }

    fn convert(obj: &Bound<'_, PyAny>, arg: &str, depth: usize) -> PyResult<Key> {
        // Exact types first: the common case costs one pointer compare.
        if obj.is_exact_instance_of::<PyInt>() {
            return int_key(obj, arg);
        }
        if obj.is_exact_instance_of::<PyString>() {
            return str_key(obj.cast::<PyString>()?);
        }
        if obj.is_exact_instance_of::<PyBytes>() {
            return Ok(bytes_key(obj.cast::<PyBytes>()?.as_bytes()));
        }
        if obj.is_exact_instance_of::<PyTuple>() {
            return tuple_key(obj.cast::<PyTuple>()?, arg, depth);
        }
        if obj.is_instance_of::<PyBool>() {
            return Err(PyTypeError::new_err(format!(
                "{arg} must not be a bool: True == 1 in Python, so a bool key would \
                 collapse with an int key; use an int or a str"
            )));
        }
        if obj.is_instance_of::<PyInt>() {
            return int_key(obj, arg);
        }
        if let Ok(text) = obj.cast::<PyString>() {
            return str_key(text);
        }
        if let Ok(bytes) = obj.cast::<PyBytes>() {
            return Ok(bytes_key(bytes.as_bytes()));
        }
        if let Ok(tuple) = obj.cast::<PyTuple>() {
            return tuple_key(tuple, arg, depth);
        }
        Err(PyTypeError::new_err(format!(
            "{arg} must be an int, str, bytes or a tuple of these, not {}",
            type_name(obj)
        )))
    }

    /// An equal Python object.
    pub fn to_py<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(match self {
            Key::Int(value) => value.into_pyobject(py)?.into_any(),
            Key::BigInt(value) => value.into_pyobject(py)?.into_any(),
            Key::ShortAscii(text) => ascii_to_py(py, text.data())?,
            Key::Ascii(text) => ascii_to_py(py, text.data())?,
            Key::ShortStr(text) => utf8_to_py(py, text.data())?,
            Key::Str(text) => utf8_to_py(py, text.data())?,
            Key::SurrogateStr(raw) => PyBytes::new(py, raw.data())
                .call_method1("decode", ("utf-8", "surrogatepass"))?
                .into_any(),
            Key::ShortBytes(bytes) => PyBytes::new(py, bytes.data()).into_any(),
            Key::Bytes(bytes) => PyBytes::new(py, bytes.data()).into_any(),
            Key::Tuple(items) => {
                let items = items
                    .iter()
                    .map(|item| item.to_py(py))
                    .collect::<PyResult<Vec<_>>>()?;
                PyTuple::new(py, items)?.into_any()
            }
        })
    }
}

fn bytes_key(data: &[u8]) -> Key {
    match Inline::new(data) {
        Some(short) => Key::ShortBytes(short),
        None => Key::Bytes(Blob::new(data)),
    }
}

/// A `str` from UTF-8 that came from a `str`.
fn utf8_to_py<'py>(py: Python<'py>, utf8: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: `utf8` is a valid pointer and length; CPython validates the
    // UTF-8 (it always is: it came from `str_key`).
    let text = unsafe {
        ffi::PyUnicode_FromStringAndSize(utf8.as_ptr().cast(), utf8.len() as ffi::Py_ssize_t)
    };
    // SAFETY: a new reference, or null with an exception set.
    unsafe { Bound::from_owned_ptr_or_err(py, text) }
}

/// A `str` from ASCII text: a compact ASCII string filled with a copy, with
/// no UTF-8 to decode (decoding was a sixth of a single-key cycle's
/// instructions, when every key handed out was decoded).
fn ascii_to_py<'py>(py: Python<'py>, ascii: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: attached; a new string of `ascii.len()` characters up to 127
    // (one byte each), or null with an exception set.
    let text = unsafe { ffi::PyUnicode_New(ascii.len() as ffi::Py_ssize_t, 127) };
    // SAFETY: a new reference, or null with an exception set.
    let text = unsafe { Bound::from_owned_ptr_or_err(py, text) }?;
    // SAFETY: the new string has room for exactly `ascii.len()` one-byte
    // characters (and its terminator, already written), and nobody else
    // has seen it yet.
    unsafe {
        std::ptr::copy_nonoverlapping(
            ascii.as_ptr(),
            ffi::PyUnicode_1BYTE_DATA(text.as_ptr()),
            ascii.len(),
        );
    }
    Ok(text)
}

fn int_key(obj: &Bound<'_, PyAny>, arg: &str) -> PyResult<Key> {
    let mut overflow: c_int = 0;
    // SAFETY: `obj` is a live int (or int subclass) and we are attached.
    let value = unsafe { ffi::PyLong_AsLongLongAndOverflow(obj.as_ptr(), &mut overflow) };
    if overflow == 0 {
        if value == -1 && PyErr::occurred(obj.py()) {
            return Err(PyErr::fetch(obj.py()));
        }
        return Ok(Key::Int(value));
    }
    if overflow > 0 {
        if let Ok(value) = obj.extract::<u64>() {
            return Ok(Key::BigInt(value));
        }
    }
    Err(PyOverflowError::new_err(format!(
        "{arg} is out of range: int keys must be between -2**63 and 2**64 - 1"
    )))
}

fn str_key(text: &Bound<'_, PyString>) -> PyResult<Key> {
    match text.to_str() {
        Ok(utf8_text) => {
            let utf8 = utf8_text.as_bytes();
            // As many UTF-8 bytes as characters: every character is ASCII.
            // SAFETY: `text` is a live str and we are attached.
            let ascii =
                utf8.len() as ffi::Py_ssize_t == unsafe { ffi::PyUnicode_GetLength(text.as_ptr()) };
            Ok(match (Inline::new(utf8), ascii) {
                (Some(short), true) => Key::ShortAscii(short),
                (Some(short), false) => Key::ShortStr(short),
                (None, true) => Key::Ascii(Blob::new(utf8)),
                (None, false) => Key::Str(Blob::new(utf8)),
            })
        }
        Err(_) => {
            // Lone surrogates (e.g. from os.fsdecode): keep them exactly.
            let raw = text.call_method1("encode", ("utf-8", "surrogatepass"))?;
            Ok(Key::SurrogateStr(Blob::new(
                raw.cast::<PyBytes>()?.as_bytes(),
            )))
        }
    }
}

fn tuple_key(tuple: &Bound<'_, PyTuple>, arg: &str, depth: usize) -> PyResult<Key> {
    if depth >= MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "{arg} nests tuples more than {MAX_DEPTH} deep"
        )));
    }
    let mut items = Vec::with_capacity(tuple.len());
    for item in tuple.iter() {
        items.push(Key::convert(&item, arg, depth + 1)?);
    }
    Ok(Key::Tuple(Arc::from(items)))
}

/// Converts every key of an iterable (for the batch calls) into `keys`.
pub fn keys_from_iterable(obj: &Bound<'_, PyAny>, arg: &str, keys: &mut Vec<Key>) -> PyResult<()> {
    if let Ok(list) = obj.cast::<pyo3::types::PyList>() {
        keys.reserve(list.len());
        for item in list.iter() {
            keys.push(Key::from_py(&item, arg)?);
        }
        return Ok(());
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        keys.reserve(tuple.len());
        for item in tuple.iter() {
            keys.push(Key::from_py(&item, arg)?);
        }
        return Ok(());
    }
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(format!(
            "{arg} must be an iterable of keys, not a single {}",
            type_name(obj)
        )));
    }
    let iter = obj.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "{arg} must be an iterable of keys, not {}",
            type_name(obj)
        ))
    })?;
    for item in iter {
        keys.push(Key::from_py(&item?, arg)?);
    }
    Ok(())
}

thread_local! {
    /// A key buffer per thread for the batch calls: a fresh multi-kilobyte
    /// vector per call makes glibc consolidate its free lists every time.
    static SCRATCH: std::cell::RefCell<Vec<Key>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `work` with an empty key buffer, reused between calls.
pub fn with_scratch<R>(work: impl FnOnce(&mut Vec<Key>) -> R) -> R {
    let mut keys = SCRATCH.with(|scratch| std::mem::take(&mut *scratch.borrow_mut()));
    let result = work(&mut keys);
    keys.clear();
    if keys.capacity() <= 1 << 16 {
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            if scratch.capacity() < keys.capacity() {
                *scratch = keys;
            }
        });
    }
    result
}
