//! The in-memory store behind `store_user_preferences`,
//! `get_activity_preferences` and `store_activity_plan`.
//!
//! Records are keyed by (caller, user_id): the gateway passes the
//! authenticated principal as `caller`, so one principal can neither read nor
//! overwrite another's memory even when both use the same `user_id`
//! (`"default"` is the common case). Only a hash of the caller is kept, so a
//! long principal name costs a fixed 32 bytes.
//!
//! Everything is bounded: at most [`MAX_RECORDS`] records, evicting the least
//! recently used; per record at most [`MAX_LIST`] entries per list (oldest
//! dropped), one note and the last [`MAX_PLANS`] plans. [`MAX_TOTAL_BYTES`]
//! is the resulting worst case (about 27 MB); typical use is kilobytes.
//! Nothing is persisted: a restart forgets everything, as a sample should.

use std::collections::{HashMap, VecDeque};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::args::{Args, text_value, truncate};
use super::weather::normalise_city;

pub(crate) const MAX_RECORDS: usize = 64;
pub(crate) const MAX_LIST: usize = 100;
pub(crate) const MAX_ITEM_CHARS: usize = 100;
pub(crate) const MAX_NOTES_CHARS: usize = 2000;
pub(crate) const MAX_PLANS: usize = 20;
pub(crate) const MAX_PLAN_BYTES: usize = 16 * 1024;
pub(crate) const MAX_CITY_CHARS: usize = 100;
pub(crate) const MAX_USER_ID_CHARS: usize = 64;
/// Plans listed by `get_activity_preferences`, newest first.
pub(crate) const RECENT_PLANS: usize = 5;
/// Characters of each recent plan shown as its excerpt.
pub(crate) const EXCERPT_CHARS: usize = 200;

/// Worst-case bytes of stored text (a char is at most 4 bytes in UTF-8).
pub(crate) const MAX_TOTAL_BYTES: usize = MAX_RECORDS
    * (2 * MAX_LIST * MAX_ITEM_CHARS * 4
        + MAX_NOTES_CHARS * 4
        + MAX_USER_ID_CHARS * 4
        + MAX_PLANS * (MAX_PLAN_BYTES + MAX_CITY_CHARS * 4 + 16));

// Keep the documented "about 27 MB" honest if a limit is raised.
const _: () = assert!(MAX_TOTAL_BYTES < 28 * 1024 * 1024);

pub(crate) const DEFAULT_USER: &str = "default";

type Key = (Option<[u8; 32]>, String);

struct Plan {
    id: String,
    city: String,
    text: String,
}

#[derive(Default)]
struct Record {
    activities: Vec<String>,
    avoid: Vec<String>,
    notes: Option<String>,
    plans: VecDeque<Plan>,
    /// Logical clock of the last access, for least-recently-used eviction.
    used: u64,
}

impl Record {
    fn preferences(&self) -> Value {
        let mut p = Map::new();
        p.insert("activities".into(), json!(self.activities));
        p.insert("avoid".into(), json!(self.avoid));
        if let Some(notes) = &self.notes {
            p.insert("notes".into(), json!(notes));
        }
        Value::Object(p)
    }
}

#[derive(Default)]
pub(crate) struct Memory {
    records: HashMap<Key, Record>,
    clock: u64,
}

fn key(caller: Option<&str>, user_id: &str) -> Key {
    let caller = caller.map(|c| Sha256::digest(c.as_bytes()).into());
    (caller, user_id.to_string())
}

fn user_id<'a>(args: &Args<'a>) -> Result<&'a str, String> {
    Ok(args
        .optional_text("user_id", MAX_USER_ID_CHARS)?
        .unwrap_or(DEFAULT_USER))
}

/// `"  Trail   running "` → `"Trail running"`; equality ignores case.
fn tidy(item: &str) -> String {
    item.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn read_list(prefs: &Args, key: &str) -> Result<Vec<String>, String> {
    let Some(value) = prefs.get(key) else {
        return Ok(Vec::new());
    };
    let items = value
        .as_array()
        .filter(|a| a.len() <= MAX_LIST)
        .ok_or_else(|| {
            format!("preferences.{key} must be an array of at most {MAX_LIST} strings")
        })?;
    items
        .iter()
        .map(|v| text_value(&format!("preferences.{key}[]"), v, MAX_ITEM_CHARS, false).map(tidy))
        .collect()
}

fn same(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// Adds `items` as the newest entries of `list` (re-adding refreshes an
/// entry), removes them from `opposite` (a new "avoid hiking" overrides an
/// old "likes hiking"), and keeps the newest `MAX_LIST`.
fn merge(list: &mut Vec<String>, opposite: &mut Vec<String>, items: Vec<String>) {
    for item in items {
        list.retain(|x| !same(x, &item));
        opposite.retain(|x| !same(x, &item));
        list.push(item);
    }
    let excess = list.len().saturating_sub(MAX_LIST);
    list.drain(..excess);
}

impl Memory {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    fn get(&mut self, key: &Key) -> Option<&Record> {
        let now = self.tick();
        let record = self.records.get_mut(key)?;
        record.used = now;
        Some(record)
    }

    /// The record for `key`, created (evicting the least recently used
    /// record if full) when absent.
    fn entry(&mut self, key: Key) -> &mut Record {
        let now = self.tick();
        if !self.records.contains_key(&key)
            && self.records.len() >= MAX_RECORDS
            && let Some(oldest) = self
                .records
                .iter()
                .min_by_key(|(_, r)| r.used)
                .map(|(k, _)| k.clone())
        {
            self.records.remove(&oldest);
        }
        let record = self.records.entry(key).or_default();
        record.used = now;
        record
    }

    /// `store_user_preferences`.
    pub(crate) fn store_preferences(
        &mut self,
        arguments: &Value,
        caller: Option<&str>,
    ) -> Result<Value, String> {
        let args = Args::new(arguments, &["user_id", "preferences"])?;
        let user = user_id(&args)?;
        let raw = args
            .get("preferences")
            .filter(|p| p.as_object().is_some_and(|m| !m.is_empty()))
            .ok_or(
                "argument \"preferences\" must be an object with activities, avoid and/or notes",
            )?;
        let prefs = Args::new(raw, &["activities", "avoid", "notes"])
            .map_err(|e| format!("preferences: {e}"))?;
        let activities = read_list(&prefs, "activities")?;
        let avoid = read_list(&prefs, "avoid")?;
        if let Some(both) = activities.iter().find(|a| avoid.iter().any(|b| same(a, b))) {
            return Err(format!(
                "\"{}\" is in both preferences.activities and preferences.avoid",
                truncate(both, 40)
            ));
        }
        // An empty string clears the note; anything else replaces it.
        let notes = match prefs.get("notes") {
            Some(Value::String(s)) if s.trim().is_empty() => Some(None),
            Some(v) => Some(Some(
                text_value("preferences.notes", v, MAX_NOTES_CHARS, true)?.to_string(),
            )),
            None => None,
        };
        let record = self.entry(key(caller, user));
        merge(&mut record.activities, &mut record.avoid, activities);
        merge(&mut record.avoid, &mut record.activities, avoid);
        if let Some(notes) = notes {
            record.notes = notes;
        }
        Ok(json!({"user_id": user, "preferences": record.preferences()}))
    }

    /// `get_activity_preferences`.
    pub(crate) fn preferences(
        &mut self,
        arguments: &Value,
        caller: Option<&str>,
    ) -> Result<Value, String> {
        let args = Args::new(arguments, &["user_id"])?;
        let user = user_id(&args)?;
        let Some(record) = self.get(&key(caller, user)) else {
            return Ok(json!({
                "user_id": user,
                "found": false,
                "preferences": {"activities": [], "avoid": []},
                "stored_plans": 0,
                "recent_plans": [],
            }));
        };
        let recent: Vec<Value> = record
            .plans
            .iter()
            .rev()
            .take(RECENT_PLANS)
            .map(|p| json!({"plan_id": p.id, "city": p.city, "excerpt": truncate(&p.text, EXCERPT_CHARS)}))
            .collect();
        Ok(json!({
            "user_id": user,
            "found": true,
            "preferences": record.preferences(),
            "stored_plans": record.plans.len(),
            "recent_plans": recent,
        }))
    }

    /// `store_activity_plan`.
    pub(crate) fn store_plan(
        &mut self,
        arguments: &Value,
        caller: Option<&str>,
    ) -> Result<Value, String> {
        let args = Args::new(arguments, &["city", "plan", "user_id"])?;
        let user = user_id(&args)?;
        let city = args.text("city", MAX_CITY_CHARS)?;
        let text = args.multiline_text("plan", MAX_PLAN_BYTES)?;
        if text.len() > MAX_PLAN_BYTES {
            return Err(format!(
                "argument \"plan\" must be at most {MAX_PLAN_BYTES} bytes"
            ));
        }
        let id = plan_id(user, city, text);
        let record = self.entry(key(caller, user));
        // Storing the same plan again refreshes it instead of duplicating it.
        record.plans.retain(|p| p.id != id);
        record.plans.push_back(Plan {
            id: id.clone(),
            city: city.to_string(),
            text: text.to_string(),
        });
        while record.plans.len() > MAX_PLANS {
            record.plans.pop_front();
        }
        Ok(json!({
            "plan_id": id,
            "stored_plans": record.plans.len(),
            "user_id": user,
            "city": city,
        }))
    }
}

/// First 16 hex digits of SHA-256 over user, normalised city and plan
/// (length-prefixed so field boundaries cannot be shifted).
pub(crate) fn plan_id(user: &str, city: &str, plan: &str) -> String {
    let mut h = Sha256::new();
    for part in [user, &normalise_city(city), plan] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(m: &mut Memory, prefs: Value, caller: Option<&str>) -> Value {
        m.store_preferences(&json!({"preferences": prefs}), caller)
            .unwrap()
    }

    #[test]
    fn lists_merge_dedupe_and_override_each_other() {
        let mut m = Memory::default();
        store(
            &mut m,
            json!({"activities": ["Hiking", "  museum   visits "]}),
            None,
        );
        let out = store(
            &mut m,
            json!({"activities": ["hiking"], "avoid": ["Museum visits"]}),
            None,
        );
        assert_eq!(out["preferences"]["activities"], json!(["hiking"]));
        assert_eq!(out["preferences"]["avoid"], json!(["Museum visits"]));
    }

    #[test]
    fn lists_keep_the_newest_entries() {
        let mut m = Memory::default();
        for chunk in 0..3 {
            let items: Vec<String> = (0..MAX_LIST).map(|i| format!("a{chunk}-{i}")).collect();
            store(&mut m, json!({"activities": items}), None);
        }
        let out = m.preferences(&json!({}), None).unwrap();
        let list = out["preferences"]["activities"].as_array().unwrap();
        assert_eq!(list.len(), MAX_LIST);
        assert_eq!(list[0], json!("a2-0"));
    }

    #[test]
    fn notes_replace_and_clear() {
        let mut m = Memory::default();
        store(&mut m, json!({"notes": "likes\nmornings"}), None);
        let out = store(&mut m, json!({"notes": ""}), None);
        assert!(out["preferences"].get("notes").is_none());
    }

    #[test]
    fn contradictions_and_junk_are_rejected() {
        let mut m = Memory::default();
        for args in [
            json!({"preferences": {"activities": ["x"], "avoid": ["X"]}}),
            json!({"preferences": {}}),
            json!({"preferences": {"colour": "red"}}),
            json!({"preferences": {"activities": "hiking"}}),
            json!({"preferences": {"activities": [""]}}),
            json!({"preferences": {"activities": [1]}}),
            json!({"user_id": "", "preferences": {"notes": "x"}}),
        ] {
            assert!(m.store_preferences(&args, None).is_err(), "{args}");
        }
        assert!(
            m.records.is_empty(),
            "a refused call must not create a record"
        );
    }

    #[test]
    fn records_are_bounded_with_lru_eviction() {
        let mut m = Memory::default();
        for i in 0..MAX_RECORDS + 10 {
            let args = json!({"user_id": format!("u{i}"), "preferences": {"notes": "n"}});
            m.store_preferences(&args, None).unwrap();
            // Keep u0 warm so it survives.
            m.preferences(&json!({"user_id": "u0"}), None).unwrap();
        }
        assert_eq!(m.records.len(), MAX_RECORDS);
        assert_eq!(
            m.preferences(&json!({"user_id": "u0"}), None).unwrap()["found"],
            json!(true)
        );
        assert_eq!(
            m.preferences(&json!({"user_id": "u1"}), None).unwrap()["found"],
            json!(false)
        );
    }

    #[test]
    fn plans_keep_the_last_twenty_and_dedupe() {
        let mut m = Memory::default();
        let mut last = Value::Null;
        for i in 0..MAX_PLANS + 5 {
            last = m
                .store_plan(&json!({"city": "Oslo", "plan": format!("plan {i}")}), None)
                .unwrap();
        }
        assert_eq!(last["stored_plans"], json!(MAX_PLANS));
        let again = m.store_plan(
            &json!({"city": "oslo", "plan": format!("plan {}", MAX_PLANS + 4)}),
            None,
        );
        assert_eq!(again.unwrap()["plan_id"], last["plan_id"]);
        let out = m.preferences(&json!({}), None).unwrap();
        assert_eq!(out["stored_plans"], json!(MAX_PLANS));
        assert_eq!(out["recent_plans"].as_array().unwrap().len(), RECENT_PLANS);
        assert_eq!(
            out["recent_plans"][0]["excerpt"],
            json!(format!("plan {}", MAX_PLANS + 4))
        );
    }

    #[test]
    fn plan_ids_are_stable_and_distinct() {
        let id = plan_id("default", "Oslo", "walk");
        assert_eq!(id.len(), 16);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(id, plan_id("default", " oslo ", "walk"));
        assert_ne!(id, plan_id("other", "Oslo", "walk"));
        assert_ne!(plan_id("a", "bc", "d"), plan_id("ab", "c", "d"));
    }

    #[test]
    fn oversized_plans_are_refused() {
        let mut m = Memory::default();
        let big = "é".repeat(MAX_PLAN_BYTES / 2 + 1);
        assert!(
            m.store_plan(&json!({"city": "Oslo", "plan": big}), None)
                .is_err()
        );
    }
}
