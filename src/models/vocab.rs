//! Character vocabularies: a sorted set of characters, each mapped to its index.

use std::collections::{BTreeSet, HashMap};

use super::ModelError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vocab {
    chars: Vec<char>,
    index: HashMap<char, usize>,
}

impl Vocab {
    /// Every distinct character of `texts`, sorted (so the same data always gives the same ids).
    pub fn from_texts<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let set: BTreeSet<char> = texts.into_iter().flat_map(str::chars).collect();
        Self::from_chars(set.into_iter().collect())
    }

    pub fn from_chars(chars: Vec<char>) -> Self {
        let index = chars.iter().enumerate().map(|(i, &c)| (c, i)).collect();
        Self { chars, index }
    }

    pub fn len(&self) -> usize {
        self.chars.len()
    }

    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    pub fn id(&self, c: char) -> Option<usize> {
        self.index.get(&c).copied()
    }

    pub fn char(&self, id: usize) -> Option<char> {
        self.chars.get(id).copied()
    }

    /// Ids of every character of `text`, or an error naming the first unseen one.
    pub fn encode(&self, text: &str) -> Result<Vec<usize>, ModelError> {
        text.chars()
            .enumerate()
            .map(|(pos, ch)| {
                self.id(ch).ok_or_else(|| ModelError::UnseenChar {
                    ch,
                    pos,
                    text: text.chars().take(60).collect(),
                    vocab: self.describe(),
                })
            })
            .collect()
    }

    /// The vocabulary as a user reads it: printable characters, escapes for the rest.
    pub fn describe(&self) -> String {
        let s: String = self.chars.iter().flat_map(|c| c.escape_debug()).collect();
        format!("\"{s}\" ({} characters)", self.chars.len())
    }

    /// Serialised for weights metadata.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.chars.iter().collect::<String>()).unwrap_or_default()
    }

    pub fn from_json(s: &str) -> Result<Self, String> {
        let text: String = serde_json::from_str(s).map_err(|e| e.to_string())?;
        let chars: Vec<char> = text.chars().collect();
        let unique: BTreeSet<char> = chars.iter().copied().collect();
        if unique.len() != chars.len() || chars.is_empty() {
            return Err("vocabulary must be non-empty with no repeated character".into());
        }
        Ok(Self::from_chars(chars))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_ids_round_trip_and_unseen_chars_are_named() {
        let v = Vocab::from_texts(["ba\n", "ab"]);
        assert_eq!(v.chars(), &['\n', 'a', 'b']);
        assert_eq!(v.encode("ab\n").unwrap(), vec![1, 2, 0]);
        let e = v.encode("abz").unwrap_err().to_string();
        assert!(e.contains("'z'") && e.contains("position 2"), "{e}");
        assert_eq!(Vocab::from_json(&v.to_json()).unwrap(), v);
        assert!(Vocab::from_json("\"aa\"").is_err());
        assert!(Vocab::from_json("[1,").is_err());
    }
}
