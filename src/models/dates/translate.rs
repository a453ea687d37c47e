//! One date at a time, as the CLI and the panel want it: the answer, whether it is a real
//! day, how sure the model is, where it looked, and the runners-up.

use ndarray::{Array2, s};

use super::data::Date;
use super::model::{Nmt, OUTPUT_LEN};
use crate::models::ModelError;

/// One output and what the model thinks of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub iso: String,
    /// Natural log of the probability of the whole output.
    pub log_prob: f64,
    /// The calendar date, or why the output is not one (e.g. 2019-02-30).
    pub date: Result<Date, String>,
}

#[derive(Clone, Debug)]
pub struct Translation {
    /// The characters the model read (trimmed, lower-cased).
    pub input: Vec<char>,
    /// Characters it has never seen; it read them as one unknown symbol.
    pub unknown: Vec<char>,
    /// The answer: the greedy output, or beam search's best.
    pub best: Candidate,
    /// Beam search's outputs, best first (just the answer without beam search).
    pub candidates: Vec<Candidate>,
    /// Attention while writing the answer: [Ty, Tx], each row sums to 1.
    pub attention: Array2<f32>,
}

impl Translation {
    /// Probability of the whole answer: low for inputs that are not dates.
    pub fn confidence(&self) -> f64 {
        self.best.log_prob.exp()
    }
}

/// Translates `text`; `beam` = 1 is greedy decoding.
pub fn translate(model: &Nmt<f32>, text: &str, beam: usize) -> Result<Translation, ModelError> {
    if beam == 0 || beam > 1000 {
        return Err(ModelError::Invalid(format!("beam width must be 1..=1000, got {beam}")));
    }
    let enc = model.encode(text)?;
    let (symbols, beams) = if beam == 1 {
        let decoded = model.greedy(&[&enc.ids])?;
        (std::array::from_fn(|t| decoded.symbols[[0, t]]), None)
    } else {
        let hyps = model.beam(&enc.ids, beam)?;
        let best = hyps.first().ok_or_else(|| ModelError::Invalid("beam search returned nothing".into()))?;
        let symbols: [usize; OUTPUT_LEN] = std::array::from_fn(|t| best.tokens.get(t).copied().unwrap_or(0));
        let all = hyps.into_iter().map(|h| candidate(&Nmt::<f32>::symbols_to_string(h.tokens), h.log_prob)).collect();
        (symbols, Some(all))
    };
    // Scoring the answer once more yields the attention along exactly that answer.
    let scored = model.score(&[&enc.ids], &[symbols])?;
    let best = candidate(&Nmt::<f32>::symbols_to_string(symbols), scored.probs.row(0).iter().map(|&p| (p as f64).ln()).sum());
    let candidates = beams.unwrap_or_else(|| vec![best.clone()]);
    let attention = scored.alphas.slice(s![0, .., ..enc.chars.len()]).to_owned();
    Ok(Translation { input: enc.chars, unknown: enc.unknown, best, candidates, attention })
}

fn candidate(iso: &str, log_prob: f64) -> Candidate {
    let date = iso.parse::<Date>().map_err(|e| e.to_string());
    Candidate { iso: iso.to_string(), log_prob, date }
}

/// The attention matrix as a text table: a row per output symbol, a column per input
/// character, weights in percent (blank below 5%, so the diagonal-ish path stands out).
pub fn attention_table(t: &Translation) -> String {
    let mut out = String::from("    ");
    for c in &t.input {
        out.push_str(&format!("{:>3}", if *c == ' ' { '·' } else { *c }));
    }
    out.push('\n');
    for (row, sym) in t.attention.rows().into_iter().zip(t.best.iso.chars()) {
        out.push_str(&format!("{sym:>3} "));
        for &a in row {
            let pct = (a * 100.0).round() as i32;
            out.push_str(&if pct >= 5 { format!("{pct:>3}") } else { "   ".to_string() });
        }
        out.push('\n');
    }
    out
}
