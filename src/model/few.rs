//! `Few<T>`: a list that is nearly always empty, one pointer wide. A call entity holds six lists of
//! evidence that only a handful of calls fill; as `Vec`s they were a quarter of every call's size.

use serde::{Serialize, Serializer};

/// A boxed `Vec` on purpose: one pointer, where a `Vec` is three and a boxed slice two; the extra
/// allocation is paid only by the few lists that are not empty.
#[derive(Debug, Clone)]
#[allow(clippy::box_collection)]
pub struct Few<T>(Option<Box<Vec<T>>>);

impl<T> Default for Few<T> {
    fn default() -> Self {
        Few(None)
    }
}

impl<T> From<Vec<T>> for Few<T> {
    fn from(list: Vec<T>) -> Self {
        Few((!list.is_empty()).then(|| Box::new(list)))
    }
}

impl<T> std::ops::Deref for Few<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }
}

impl<T: Serialize> Serialize for Few<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_lists_take_no_allocation_and_serialize_as_lists() {
        let none: Few<u32> = Vec::new().into();
        assert!(none.0.is_none() && none.is_empty());
        assert_eq!(serde_json::to_string(&none).unwrap(), "[]");
        let some: Few<u32> = vec![1, 2].into();
        assert_eq!(&*some, &[1, 2]);
        assert_eq!(serde_json::to_string(&some).unwrap(), "[1,2]");
        assert_eq!(
            std::mem::size_of::<Few<u32>>(),
            std::mem::size_of::<usize>()
        );
    }
}
