//! A vector that keeps up to `N` items inline and only allocates beyond
//! that, so typical replies (a line or two of short text) cost no heap
//! allocation.

use alloc::vec::Vec;

#[derive(Clone, Debug)]
pub(crate) enum InlineVec<T: Copy + Default, const N: usize> {
    Inline([T; N], usize),
    Heap(Vec<T>),
}

impl<T: Copy + Default, const N: usize> InlineVec<T, N> {
    pub(crate) fn new() -> Self {
        InlineVec::Inline([T::default(); N], 0)
    }

    pub(crate) fn from_slice(items: &[T]) -> Self {
        if items.len() > N {
            return InlineVec::Heap(items.to_vec());
        }
        let mut buf = [T::default(); N];
        buf[..items.len()].copy_from_slice(items);
        InlineVec::Inline(buf, items.len())
    }

    /// One item, inline.
    pub(crate) fn one(item: T) -> Self {
        let mut buf = [T::default(); N];
        buf[0] = item;
        InlineVec::Inline(buf, 1)
    }

    pub(crate) fn as_slice(&self) -> &[T] {
        match self {
            InlineVec::Inline(buf, len) => &buf[..*len],
            InlineVec::Heap(v) => v,
        }
    }

    pub(crate) fn extend_from_slice(&mut self, items: &[T]) {
        match self {
            InlineVec::Inline(buf, len) if *len + items.len() <= N => {
                buf[*len..*len + items.len()].copy_from_slice(items);
                *len += items.len();
            }
            InlineVec::Inline(buf, len) => {
                let mut v = Vec::with_capacity(*len + items.len());
                v.extend_from_slice(&buf[..*len]);
                v.extend_from_slice(items);
                *self = InlineVec::Heap(v);
            }
            InlineVec::Heap(v) => v.extend_from_slice(items),
        }
    }

    pub(crate) fn push(&mut self, item: T) {
        self.extend_from_slice(&[item]);
    }
}

impl<T: Copy + Default + PartialEq, const N: usize> PartialEq for InlineVec<T, N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: Copy + Default + Eq, const N: usize> Eq for InlineVec<T, N> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_to_the_heap_and_keeps_order() {
        let mut v: InlineVec<u8, 4> = InlineVec::new();
        v.extend_from_slice(b"abc");
        assert!(matches!(v, InlineVec::Inline(..)));
        v.push(b'd');
        v.extend_from_slice(b"ef");
        assert!(matches!(v, InlineVec::Heap(_)));
        assert_eq!(v.as_slice(), b"abcdef");
        assert_eq!(v, InlineVec::from_slice(b"abcdef"));
    }
}
