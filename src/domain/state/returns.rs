//! `ReturnReasons`: why each returned payment came back. Banks use a handful of reason codes
//! (ISO 20022 `AC04`, `MD07`, ...) for thousands of returns a month, so each code is kept once
//! and a return holds its index: the map no longer gains a string with every return, which was
//! part of what memory still grew by with every month paid (issue 10). The returns themselves
//! are two sorted lists, not a tree: a tree node per few returns cost about 28 bytes a return,
//! the lists 12, and returns are most of what this grows by.

use std::collections::HashMap;

use bincode::de::Decoder;
use bincode::enc::Encoder;
use bincode::error::{DecodeError, EncodeError};
use bincode::{Decode, Encode};

use crate::domain::types::PaymentId;

#[derive(Debug, Default, Clone)]
pub struct ReturnReasons {
    codes: Vec<String>,
    index: HashMap<String, u32>,
    /// The returned payments in ascending order, and beside each (same position) its code.
    payments: Vec<PaymentId>,
    code_of: Vec<u32>,
}

impl ReturnReasons {
    pub fn get(&self, payment: PaymentId) -> Option<&str> {
        let at = self.payments.binary_search(&payment).ok()?;
        Some(self.codes[self.code_of[at] as usize].as_str())
    }

    pub fn insert(&mut self, payment: PaymentId, reason: String) {
        let code = self.code(reason);
        // Returns arrive for the newest batch, whose ids are the highest, so this is nearly
        // always a push at the end; a late return of an older payment moves the ones after it.
        match self.payments.binary_search(&payment) {
            Ok(at) => self.code_of[at] = code,
            Err(at) => {
                self.payments.insert(at, payment);
                self.code_of.insert(at, code);
            }
        }
    }

    fn code(&mut self, reason: String) -> u32 {
        if let Some(&code) = self.index.get(&reason) {
            return code;
        }
        let code = u32::try_from(self.codes.len()).expect("fewer than 2^32 reason codes");
        self.index.insert(reason.clone(), code);
        self.codes.push(reason);
        code
    }
}

/// Encoded as the map of payment to reason it stands for (a `BTreeMap<PaymentId, String>`, as
/// before the codes were kept once), so a snapshot's bytes do not depend on it.
impl Encode for ReturnReasons {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        (self.payments.len() as u64).encode(e)?;
        self.payments
            .iter()
            .zip(&self.code_of)
            .try_for_each(|(payment, &code)| {
                payment.encode(e)?;
                self.codes[code as usize].encode(e)
            })
    }
}

impl<Context> Decode<Context> for ReturnReasons {
    fn decode<D: Decoder<Context = Context>>(d: &mut D) -> Result<Self, DecodeError> {
        let entries: u64 = Decode::decode(d)?;
        let entries =
            usize::try_from(entries).map_err(|_| DecodeError::OutsideUsizeRange(entries))?;
        d.claim_container_read::<(PaymentId, u32)>(entries)?;
        let mut reasons = ReturnReasons::default();
        // Exactly as many as there are: a ledger opens with no room to spare in these lists.
        reasons.payments.reserve_exact(entries);
        reasons.code_of.reserve_exact(entries);
        for _ in 0..entries {
            d.unclaim_bytes_read(std::mem::size_of::<(PaymentId, u32)>());
            let payment: PaymentId = Decode::decode(d)?;
            let reason: String = Decode::decode(d)?;
            reasons.insert(payment, reason);
        }
        Ok(reasons)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::domain::encoding::CANONICAL;

    /// Given returns with repeated reason codes, when the reasons are encoded, then the bytes
    /// are those of the plain map they stand for, each code is kept once, and they decode back.
    #[test]
    fn reasons_encode_as_the_plain_map_and_keep_each_code_once() {
        let mut reasons = ReturnReasons::default();
        let mut plain = BTreeMap::new();
        for (i, code) in ["AC04", "MD07", "AC04", "AM04", "AC04", "MD07"]
            .iter()
            .enumerate()
        {
            let id = PaymentId(100 - 7 * i as u64);
            reasons.insert(id, code.to_string());
            plain.insert(id, code.to_string());
        }
        // A payment returned again keeps its latest reason, as a map would.
        reasons.insert(PaymentId(93), "AM04".into());
        plain.insert(PaymentId(93), "AM04".into());
        assert_eq!(reasons.codes.len(), 3);
        let bytes = bincode::encode_to_vec(&reasons, CANONICAL).unwrap();
        assert_eq!(bytes, bincode::encode_to_vec(&plain, CANONICAL).unwrap());
        let (back, _): (ReturnReasons, _) = bincode::decode_from_slice(&bytes, CANONICAL).unwrap();
        for (id, code) in &plain {
            assert_eq!(back.get(*id), Some(code.as_str()));
        }
        assert_eq!(back.get(PaymentId(1)), None);
    }
}
