//! Search over beneficiaries by citizen ID (the state's own index), by name and by commune.
//!
//! The name and commune index is the HTTP layer's own projection: built from the state on first
//! use, then brought up to date before each search from the records appended since (only
//! enrolments, corrections and erasures change it). Names are matched by whole words, ignoring
//! case and Vietnamese diacritics ("nguyen thi" finds "Nguyễn Thị Hoa").

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;

use super::Problem;
use crate::domain::access::citizen_id_as_seen;
use crate::domain::event::Event;
use crate::domain::state::{Beneficiary, State};
use crate::domain::types::{BeneficiaryId, CitizenId, CommuneCode, Programme, Role};
use crate::ledger::Ledger;

#[derive(Debug, Clone)]
pub struct Query {
    pub citizen: Option<CitizenId>,
    pub name: Option<String>,
    pub commune: Option<CommuneCode>,
    pub after: BeneficiaryId,
    pub limit: usize,
    /// Who asks: the hits show citizen IDs as this role may read them
    /// (`domain::access::sees_citizen_ids`).
    pub viewer: Role,
}

/// One hit: enough to pick the person; the full view is `GET /v1/beneficiaries/{id}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Hit {
    pub id: BeneficiaryId,
    pub full_name: Option<String>,
    /// Whole for officers, masked (`001******123`) for every other role; absent once erased.
    pub citizen_id: Option<String>,
    pub programme: Programme,
    pub commune: CommuneCode,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Found {
    pub items: Vec<Hit>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

#[derive(Default)]
struct Data {
    built: bool,
    /// Records the index has seen.
    upto_seq: u64,
    /// Each folded word's number: names share a few thousand words among a million people.
    word_numbers: HashMap<String, u32>,
    /// The people under each word, by the word's number, ascending.
    words: Vec<Vec<u64>>,
    communes: HashMap<CommuneCode, Vec<u64>>,
    /// What each beneficiary is indexed under (their words' numbers and commune), to take them
    /// out again on a change; at `id - 1`, as ids are numbered from one. Numbers, not the words
    /// themselves: a list of strings per person made the index about 280 bytes a person larger
    /// (issue 10's operator figures: `chitra serve` at a million people).
    indexed: Vec<Option<(Box<[u32]>, CommuneCode)>>,
}

#[derive(Default)]
pub struct Index {
    data: Mutex<Data>,
}

/// Lower case without diacritics, for matching Vietnamese names typed without them.
pub fn fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(base_letter)
        .collect()
}

fn base_letter(c: char) -> char {
    const GROUPS: &[(&str, char)] = &[
        ("àáảãạăằắẳẵặâầấẩẫậ", 'a'),
        ("èéẻẽẹêềếểễệ", 'e'),
        ("ìíỉĩị", 'i'),
        ("òóỏõọôồốổỗộơờớởỡợ", 'o'),
        ("ùúủũụưừứửữự", 'u'),
        ("ỳýỷỹỵ", 'y'),
        ("đ", 'd'),
    ];
    if c.is_ascii() {
        return c;
    }
    GROUPS
        .iter()
        .find(|(set, _)| set.contains(c))
        .map_or(c, |(_, base)| *base)
}

fn words(name: &str) -> Vec<String> {
    let mut w: Vec<String> = fold(name)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    w.sort();
    w.dedup();
    w
}

impl Data {
    fn remove(&mut self, id: u64) {
        let slot = self.indexed.get_mut(slot_of(id));
        let Some((numbers, commune)) = slot.and_then(Option::take) else {
            return;
        };
        for n in numbers.iter() {
            remove_sorted(&mut self.words[*n as usize], id);
        }
        if let Some(list) = self.communes.get_mut(&commune) {
            remove_sorted(list, id);
        }
    }

    fn insert(&mut self, b: &Beneficiary) {
        let ws = b
            .identity
            .known()
            .map_or_else(Vec::new, |i| words(&i.full_name));
        self.index(b.id.0, ws, b.commune);
    }

    /// Indexes person `id` under the words `ws` and `commune`, instead of what they were
    /// indexed under before.
    fn index(&mut self, id: u64, ws: Vec<String>, commune: CommuneCode) {
        self.remove(id);
        let numbers: Box<[u32]> = ws.into_iter().map(|w| self.number(w)).collect();
        for n in numbers.iter() {
            insert_sorted(&mut self.words[*n as usize], id);
        }
        insert_sorted(self.communes.entry(commune).or_default(), id);
        let at = slot_of(id);
        if at >= self.indexed.len() {
            self.indexed.resize(at + 1, None);
        }
        self.indexed[at] = Some((numbers, commune));
    }

    fn number(&mut self, word: String) -> u32 {
        if let Some(&n) = self.word_numbers.get(&word) {
            return n;
        }
        let n = u32::try_from(self.words.len()).expect("fewer than 2^32 distinct words");
        self.words.push(Vec::new());
        self.word_numbers.insert(word, n);
        n
    }

    /// The people under `word`, ascending.
    fn under(&self, word: &str) -> &[u64] {
        self.word_numbers
            .get(word)
            .map_or(&[], |&n| self.words[n as usize].as_slice())
    }
}

/// Where person `id` sits in `Data::indexed`.
fn slot_of(id: u64) -> usize {
    id.checked_sub(1)
        .and_then(|at| usize::try_from(at).ok())
        .expect("beneficiary ids are numbered from one")
}

fn remove_sorted(list: &mut Vec<u64>, id: u64) {
    if let Ok(i) = list.binary_search(&id) {
        list.remove(i);
    }
}

fn insert_sorted(list: &mut Vec<u64>, id: u64) {
    match list.last() {
        Some(&last) if last < id => list.push(id),
        None => list.push(id),
        _ => {
            if let Err(i) = list.binary_search(&id) {
                list.insert(i, id);
            }
        }
    }
}

impl Index {
    /// Searches, first catching the index up with the chain. Returns the hits and the number of
    /// records the answer reflects (the caller waits until they are durable).
    pub fn search(&self, ledger: &Ledger, q: &Query) -> Result<(Found, u64), Problem> {
        let mut data = self.data.lock().expect("search index lock");
        // The records since the last search are read without the state's lock, so that a
        // long catch-up does not hold up the writer (and every reader queued behind it).
        let changed = if data.built {
            self.changed_since(&mut data, ledger)?
        } else {
            Vec::new()
        };
        // The state as applied: the caller waits until the records it reflects are durable.
        let (found, applied) = ledger
            .read_unconfirmed(|state| {
                self.catch_up(&mut data, state, changed);
                find(&data, state, q)
            })
            .into_parts();
        Ok((found?, applied))
    }

    /// The beneficiaries whose name or commune changed in the durable records the index has not
    /// seen yet; moves the index's mark to the durable frontier.
    fn changed_since(
        &self,
        data: &mut Data,
        ledger: &Ledger,
    ) -> Result<Vec<BeneficiaryId>, Problem> {
        let to = ledger.durable_records();
        let mut changed = Vec::new();
        if data.upto_seq >= to {
            return Ok(changed);
        }
        for r in ledger.events(data.upto_seq, to) {
            match r.map_err(|e| Problem::unavailable(&e))?.event {
                Event::BeneficiaryEnrolled(e) => changed.push(e.beneficiary),
                Event::BeneficiaryDetailsCorrected(e) => changed.push(e.beneficiary),
                Event::PersonalDataErased(e) => changed.push(e.beneficiary),
                _ => {}
            }
        }
        data.upto_seq = to;
        Ok(changed)
    }

    fn catch_up(&self, data: &mut Data, state: &State, changed: Vec<BeneficiaryId>) {
        if !data.built {
            data.indexed.reserve_exact(state.beneficiary_count());
            for b in state.beneficiaries().iter() {
                data.insert(b);
            }
            data.built = true;
            data.upto_seq = state.applied();
            return;
        }
        for id in changed {
            if let Some(b) = state.beneficiary(id) {
                data.insert(b);
            }
        }
        // People enrolled by records not yet durable (or not yet read) are in the state
        // already: index them now; the records re-index them when they are read.
        for id in (data.indexed.len() as u64 + 1)..=state.beneficiary_count() as u64 {
            if let Some(b) = state.beneficiary(BeneficiaryId(id)) {
                data.insert(b);
            }
        }
    }
}

/// The hits of `q` in the index and the state.
fn find(data: &Data, state: &State, q: &Query) -> Result<Found, Problem> {
    let hit = |id: u64| -> Option<Hit> {
        let b = state.beneficiary(BeneficiaryId(id))?;
        Some(Hit {
            id: b.id,
            full_name: b.identity.known().map(|i| i.full_name.clone()),
            citizen_id: b
                .identity
                .known()
                .map(|i| citizen_id_as_seen(q.viewer, &i.citizen_id)),
            programme: b.programme,
            commune: b.commune,
        })
    };
    // Candidate lists, each ascending; the answer is their intersection.
    let mut lists: Vec<Vec<u64>> = Vec::new();
    if let Some(c) = &q.citizen {
        lists.push(state.by_citizen(c).map(|b| vec![b.0]).unwrap_or_default());
    }
    if let Some(name) = &q.name {
        let ws = words(name);
        if ws.is_empty() {
            return Err(Problem::bad_request("name has no letters or digits"));
        }
        for w in ws {
            lists.push(data.under(&w).to_vec());
        }
    }
    if let Some(c) = q.commune {
        lists.push(data.communes.get(&c).cloned().unwrap_or_default());
    }
    let after = q.after.0;
    let mut items = Vec::with_capacity(q.limit);
    let mut more = false;
    let mut push = |id: u64, items: &mut Vec<Hit>| -> bool {
        if items.len() == q.limit {
            more = true;
            return false;
        }
        if let Some(h) = hit(id) {
            items.push(h);
        }
        true
    };
    if lists.is_empty() {
        // Everyone, in id order.
        for id in after + 1..=state.beneficiary_count() as u64 {
            if !push(id, &mut items) {
                break;
            }
        }
    } else {
        lists.sort_by_key(Vec::len);
        let (first, rest) = lists.split_first().expect("not empty");
        let start = first.partition_point(|&id| id <= after);
        for &id in &first[start..] {
            if rest.iter().all(|l| l.binary_search(&id).is_ok()) && !push(id, &mut items) {
                break;
            }
        }
    }
    let next = (more && !items.is_empty()).then(|| items.last().expect("not empty").id.to_string());
    Ok(Found { items, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commune(code: &str) -> CommuneCode {
        CommuneCode::parse(code).unwrap()
    }

    /// Given people indexed by name and commune, when one is indexed again under a corrected
    /// name and another under no name (their personal data erased), then each is found only
    /// under what they are indexed under now, and lists stay in id order.
    #[test]
    fn a_person_indexed_again_is_found_only_under_their_new_words() {
        let mut data = Data::default();
        data.index(2, words("Nguyễn Thị Hoa"), commune("00004"));
        data.index(1, words("Trần Thị Lan"), commune("00004"));
        data.index(3, words("Nguyễn Văn Nam"), commune("00007"));
        assert_eq!(data.under("thi"), &[1, 2]);
        assert_eq!(data.under("nguyen"), &[2, 3]);
        assert_eq!(data.communes[&commune("00004")], vec![1, 2]);

        data.index(2, words("Lê Thị Hoa"), commune("00007"));
        assert_eq!(data.under("nguyen"), &[3]);
        assert_eq!(data.under("le"), &[2]);
        assert_eq!(data.under("thi"), &[1, 2]);
        assert_eq!(data.communes[&commune("00004")], vec![1]);
        assert_eq!(data.communes[&commune("00007")], vec![2, 3]);

        data.index(3, Vec::new(), commune("00007"));
        assert_eq!(data.under("nguyen"), &[] as &[u64]);
        assert_eq!(data.under("nam"), &[] as &[u64]);
        assert_eq!(data.communes[&commune("00007")], vec![2, 3]);
        assert_eq!(data.under("nobody"), &[] as &[u64]);
        assert_eq!(data.indexed.len(), 3);
    }

    #[test]
    fn folding_drops_diacritics_and_case() {
        assert_eq!(fold("Nguyễn Thị Hoà"), "nguyen thi hoa");
        assert_eq!(fold("ĐẶNG Văn Ước"), "dang van uoc");
        assert_eq!(words("  Lê  Thị-Lan "), vec!["lan", "le", "thi"]);
    }
}
