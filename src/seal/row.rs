//! One row as D1 hands it over, and its canonical encoding.
//!
//! The Worker reads rows from D1 as JavaScript objects; the CLI reads them from the JSON that
//! `wrangler d1 execute --json` prints. Both arrive here as the same [`Row`], so both compute the
//! same digest. docs/audit.md specifies the encoding; in short, for each column that is not NULL,
//! in byte order of the column names:
//!
//! ```text
//! u64 BE name length ‖ name ‖ 'n' ‖ f64 BE           (a number)
//!                           ‖ 't' ‖ u64 BE length ‖ UTF-8   (text)
//!                           ‖ 'b' ‖ u64 BE length ‖ bytes   (a BLOB)
//! ```
//!
//! and the row's digest is the SHA-256 of that.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::seal::Hash;

/// A value as D1 returns it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// An INTEGER or REAL. D1 gives JavaScript numbers, which are doubles, and wrangler prints
    /// them from doubles, so a double is what both sides agree on.
    Number(f64),
    /// A TEXT.
    Text(String),
    /// A BLOB (the log has none, but a row holding one must still have a digest).
    Blob(Vec<u8>),
}

impl Value {
    /// A number as both sides see it: JSON has no infinities (wrangler prints them as `null`) and
    /// no negative zero (it prints `0`), so the Worker must treat them the same way.
    pub fn number(n: f64) -> Self {
        if !n.is_finite() {
            Self::Null
        } else if n == 0.0 {
            Self::Number(0.0)
        } else {
            Self::Number(n)
        }
    }

    /// The value as a whole number, if it is one that a double holds exactly.
    pub fn as_integer(&self) -> Option<i64> {
        const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
        match self {
            // The range check makes the cast exact.
            #[allow(clippy::cast_possible_truncation)]
            Self::Number(n) if n.fract() == 0.0 && n.abs() <= EXACT => Some(*n as i64),
            _ => None,
        }
    }

    /// The value as text, if it is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl From<i64> for Value {
    // Ids, times and sizes in the log are far below 2^53, where doubles are exact.
    #[allow(clippy::cast_precision_loss)]
    fn from(n: i64) -> Self {
        Self::number(n as f64)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Self::Text(s.to_owned())
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// As wrangler prints it: whole numbers without a fraction, BLOBs as arrays of bytes.
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Null => serializer.serialize_unit(),
            Self::Number(n) => match self.as_integer() {
                Some(i) => serializer.serialize_i64(i),
                None => serializer.serialize_f64(*n),
            },
            Self::Text(s) => serializer.serialize_str(s),
            Self::Blob(bytes) => bytes.serialize(serializer),
        }
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("null, a number, a string or an array of bytes")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    // Every number becomes the double JavaScript would hold, rounding as JavaScript does.
    #[allow(clippy::cast_precision_loss)]
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::number(v as f64))
    }

    #[allow(clippy::cast_precision_loss)]
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::number(v as f64))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::number(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Text(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::Text(v))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Blob(v.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Blob(v))
    }

    /// D1 returns a BLOB as an array of byte values, and wrangler prints it so.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(byte) = seq.next_element::<u8>()? {
            bytes.push(byte);
        }
        Ok(Value::Blob(bytes))
    }
}

/// One row of a table, by column name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row(BTreeMap<String, Value>);

impl Row {
    /// The value of `column`; an absent column reads as NULL.
    pub fn get(&self, column: &str) -> &Value {
        self.0.get(column).unwrap_or(&Value::Null)
    }

    /// Whether the row has `column` at all (even as NULL).
    pub fn has(&self, column: &str) -> bool {
        self.0.contains_key(column)
    }

    /// Sets `column` to `value`.
    pub fn set(&mut self, column: &str, value: impl Into<Value>) {
        self.0.insert(column.to_owned(), value.into());
    }

    /// The row's `id`, if it is a whole number.
    pub fn id(&self) -> Option<i64> {
        self.get("id").as_integer()
    }

    /// The canonical encoding: every column that is not NULL, in byte order of the names.
    /// NULL columns are left out, so a column added to the table later (NULL in old rows) does
    /// not change the digests of rows sealed before it existed.
    pub fn encoding(&self) -> Vec<u8> {
        fn length(out: &mut Vec<u8>, n: usize) {
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
        let mut out = Vec::with_capacity(512);
        for (name, value) in &self.0 {
            if *value == Value::Null {
                continue;
            }
            length(&mut out, name.len());
            out.extend_from_slice(name.as_bytes());
            match value {
                Value::Null => {}
                Value::Number(n) => {
                    out.push(b'n');
                    out.extend_from_slice(&n.to_be_bytes());
                }
                Value::Text(text) => {
                    out.push(b't');
                    length(&mut out, text.len());
                    out.extend_from_slice(text.as_bytes());
                }
                Value::Blob(bytes) => {
                    out.push(b'b');
                    length(&mut out, bytes.len());
                    out.extend_from_slice(bytes);
                }
            }
        }
        out
    }

    /// The SHA-256 of [`Row::encoding`].
    pub fn digest(&self) -> Hash {
        Hash::of(&self.encoding())
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Row {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl<'de> Deserialize<'de> for Row {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RowVisitor)
    }
}

impl Serialize for Row {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

struct RowVisitor;

impl<'de> Visitor<'de> for RowVisitor {
    type Value = Row;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a row: an object of column values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Row, A::Error> {
        let mut columns = BTreeMap::new();
        while let Some((name, value)) = map.next_entry::<String, Value>()? {
            if columns.insert(name, value).is_some() {
                return Err(de::Error::custom("a column appears twice"));
            }
        }
        Ok(Row(columns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Row {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn the_encoding_is_as_documented() {
        let row = parse(r#"{"b": "é", "a": 1, "c": null}"#);
        let mut expected = Vec::new();
        expected.extend_from_slice(&1u64.to_be_bytes());
        expected.extend_from_slice(b"a");
        expected.push(b'n');
        expected.extend_from_slice(&1.0f64.to_be_bytes());
        expected.extend_from_slice(&1u64.to_be_bytes());
        expected.extend_from_slice(b"b");
        expected.push(b't');
        expected.extend_from_slice(&2u64.to_be_bytes());
        expected.extend_from_slice("é".as_bytes());
        assert_eq!(row.encoding(), expected);
    }

    #[test]
    fn column_order_and_null_columns_do_not_matter() {
        let a = parse(r#"{"id": 1, "ua": "x", "gone": null}"#);
        let b = parse(r#"{"ua": "x", "id": 1}"#);
        assert_eq!(a.digest(), b.digest());
    }

    #[test]
    fn numbers_are_doubles_as_javascript_prints_them() {
        // JSON.stringify(2 ** 63) is "9223372036854776000".
        let printed = parse(r#"{"n": 9223372036854776000}"#);
        let mut exact = Row::default();
        exact.set("n", Value::number(2f64.powi(63)));
        assert_eq!(printed.digest(), exact.digest());
        assert_eq!(
            parse(r#"{"n": 5}"#).digest(),
            parse(r#"{"n": 5.0}"#).digest()
        );
        assert_eq!(
            parse(r#"{"n": -0.0}"#).digest(),
            parse(r#"{"n": 0}"#).digest()
        );
        assert_eq!(Value::number(f64::INFINITY), Value::Null);
    }

    #[test]
    fn types_and_boundaries_are_unambiguous() {
        let digests = [
            parse(r#"{"a": "1"}"#).digest(),
            parse(r#"{"a": 1}"#).digest(),
            parse(r#"{"a": [49]}"#).digest(),
            parse(r#"{"ab": "c"}"#).digest(),
            parse(r#"{"a": "bc"}"#).digest(),
            parse(r#"{"a": ""}"#).digest(),
            parse("{}").digest(),
        ];
        for (i, a) in digests.iter().enumerate() {
            for b in &digests[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn prints_as_wrangler_prints() {
        let json = r#"{"a":1,"b":1.5,"c":"x","d":null,"e":[1,2]}"#;
        assert_eq!(serde_json::to_string(&parse(json)).unwrap(), json);
    }

    #[test]
    fn ids_must_be_whole_numbers() {
        assert_eq!(parse(r#"{"id": 7}"#).id(), Some(7));
        assert_eq!(parse(r#"{"id": 7.5}"#).id(), None);
        assert_eq!(parse(r#"{"id": "7"}"#).id(), None);
        assert_eq!(parse("{}").id(), None);
        assert!(serde_json::from_str::<Row>(r#"{"id": 1, "id": 2}"#).is_err());
        assert!(serde_json::from_str::<Row>(r#"{"id": true}"#).is_err());
    }
}
