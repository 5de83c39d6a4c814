//! An in-memory secret store for tests, which fails on demand like a keychain that refuses.

use std::collections::HashMap;
use std::sync::Mutex;

use super::SecretStore;
use crate::error::{Error, Result};
use crate::secret::SecretString;

/// A keychain operation, for [`MemoryStore::fail_on`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreOp {
    /// [`SecretStore::get`].
    Get,
    /// [`SecretStore::set`].
    Set,
    /// [`SecretStore::delete`].
    Delete,
}

/// An in-memory store for tests (never used by the CLI or the app) that fails on demand.
#[derive(Default)]
pub struct MemoryStore {
    map: Mutex<HashMap<String, String>>,
    failing: Mutex<Vec<(StoreOp, String)>>,
}

impl MemoryStore {
    /// Every key stored, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut k: Vec<_> = self.map.lock().unwrap().keys().cloned().collect();
        k.sort();
        k
    }

    /// Makes `op` fail, like a keychain that refuses, for keys containing `key_part` (`""`:
    /// every key) until [`MemoryStore::heal`].
    pub fn fail_on(&self, op: StoreOp, key_part: impl Into<String>) {
        self.failing.lock().unwrap().push((op, key_part.into()));
    }

    /// Every operation works again.
    pub fn heal(&self) {
        self.failing.lock().unwrap().clear();
    }

    fn check(&self, op: StoreOp, key: &str) -> Result<()> {
        let failing = self.failing.lock().unwrap();
        if failing
            .iter()
            .any(|(o, part)| *o == op && key.contains(part.as_str()))
        {
            return Err(Error::Keychain(format!(
                "injected {op:?} failure for {key}"
            )));
        }
        Ok(())
    }
}

impl SecretStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<SecretString>> {
        self.check(StoreOp::Get, key)?;
        Ok(self
            .map
            .lock()
            .unwrap()
            .get(key)
            .cloned()
            .map(SecretString::from))
    }
    fn set(&self, key: &str, value: &str) -> Result<()> {
        self.check(StoreOp::Set, key)?;
        self.map.lock().unwrap().insert(key.into(), value.into());
        Ok(())
    }
    fn delete(&self, key: &str) -> Result<()> {
        self.check(StoreOp::Delete, key)?;
        self.map.lock().unwrap().remove(key);
        Ok(())
    }
}
