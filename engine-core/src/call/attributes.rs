//! Typed attributes of a call or of the application (Ktor's `Attributes` and `AttributeKey`): a
//! plugin stores a value under a key and reads it back with its type.

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Mutex;

/// The key of an attribute of type `T`. Two keys are the same key when their names are equal; the
/// type is checked on every read.
///
/// ```
/// use engine_core::call::{AttributeKey, Attributes};
/// static REQUEST_ID: AttributeKey<String> = AttributeKey::new("RequestId");
/// let attributes = Attributes::default();
/// attributes.put(&REQUEST_ID, "abc".to_owned());
/// assert_eq!(attributes.get(&REQUEST_ID).as_deref(), Some("abc"));
/// ```
pub struct AttributeKey<T> {
    name: &'static str,
    _type: PhantomData<fn() -> T>,
}

impl<T> AttributeKey<T> {
    /// A key with this name.
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            _type: PhantomData,
        }
    }

    /// The key's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

impl<T> fmt::Debug for AttributeKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AttributeKey({})", self.name)
    }
}

/// A set of typed attributes. Reads clone the value out, so keep large values behind an `Arc`.
#[derive(Default)]
pub struct Attributes {
    entries: Mutex<Vec<(&'static str, Box<dyn Any + Send>)>>,
}

impl Attributes {
    /// Stores `value` under `key`, replacing what was there.
    pub fn put<T: Send + 'static>(&self, key: &AttributeKey<T>, value: T) {
        let mut entries = self.lock();
        match entries.iter_mut().find(|(name, _)| *name == key.name) {
            Some(entry) => entry.1 = Box::new(value),
            None => entries.push((key.name, Box::new(value))),
        }
    }

    /// A clone of the value under `key`, if there is one of type `T`.
    pub fn get<T: Clone + 'static>(&self, key: &AttributeKey<T>) -> Option<T> {
        self.with(key, T::clone)
    }

    /// Calls `f` with the value under `key`, if there is one of type `T`.
    pub fn with<T: 'static, R>(&self, key: &AttributeKey<T>, f: impl FnOnce(&T) -> R) -> Option<R> {
        let entries = self.lock();
        let (_, value) = entries.iter().find(|(name, _)| *name == key.name)?;
        value.downcast_ref::<T>().map(f)
    }

    /// Whether a value is stored under `key`.
    pub fn contains<T>(&self, key: &AttributeKey<T>) -> bool {
        self.lock().iter().any(|(name, _)| *name == key.name)
    }

    /// Takes the value out from under `key`.
    pub fn remove<T: 'static>(&self, key: &AttributeKey<T>) -> Option<T> {
        let mut entries = self.lock();
        let at = entries
            .iter()
            .position(|(name, value)| *name == key.name && value.is::<T>())?;
        entries
            .swap_remove(at)
            .1
            .downcast::<T>()
            .ok()
            .map(|boxed| *boxed)
    }

    /// Removes every attribute, keeping the allocation (a recycled call starts empty).
    pub(crate) fn clear(&mut self) {
        let entries = self
            .entries
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !entries.is_empty() {
            entries.clear();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(&'static str, Box<dyn Any + Send>)>> {
        // A panic while holding this lock cannot leave the vector half-updated.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl fmt::Debug for Attributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.lock().iter().map(|(name, _)| name))
            .finish()
    }
}
