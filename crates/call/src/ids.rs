//! Ids and tokens from a seeded generator: randomness is an argument of the core, so tests
//! are repeatable and the core never asks the operating system.

/// A SplitMix64 generator (Steele, Lea, Flood 2014): small, fast, and good enough for ids that
/// must be unique and unguessable to a caller who does not know the seed. The shell seeds it
/// from the operating system's randomness.
#[derive(Debug, Clone)]
pub struct IdSource {
    state: u64,
}

impl IdSource {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> IdSource {
        IdSource { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn bytes(&mut self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        b[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        b
    }

    /// A random (version 4) UUID in its hyphenated form.
    pub fn uuid(&mut self) -> String {
        uuid::Builder::from_random_bytes(self.bytes())
            .into_uuid()
            .hyphenated()
            .to_string()
    }

    /// 32 hex digits: a resume token.
    pub fn token(&mut self) -> String {
        uuid::Builder::from_random_bytes(self.bytes())
            .into_uuid()
            .simple()
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuids_and_differ() {
        let mut ids = IdSource::new(7);
        let a = ids.uuid();
        let b = ids.uuid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4", "version 4");
        assert_eq!(ids.token().len(), 32);
        assert_eq!(IdSource::new(7).uuid(), a, "same seed, same ids");
    }
}
