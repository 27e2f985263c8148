//! A small reproducible generator for the tests that feed the runtime random bytes: no
//! dependency, and the same sequence on every run.

/// xorshift64*: reproducible, and enough to spread inputs over a grammar.
pub(crate) struct Random(u64);

impl Random {
    /// A generator started at `seed` (any but 0, which would stay 0).
    pub(crate) fn new(seed: u64) -> Self {
        Random(seed.max(1))
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}
