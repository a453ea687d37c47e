//! The two Emojify networks and the [`Emojifier`] that wraps them for prediction.

use std::collections::HashMap;

use ndarray::{Array2, Array3, ArrayView2, Axis};

use super::{EmojifyError, LABELS, NUM_CLASSES, encode_marked, fingerprint};
use crate::models::words::WordVectors;
use crate::nn::activation::{Activation, softmax_rows};
use crate::nn::cell::{Cell, State};
use crate::nn::loss::{l2_penalty, softmax_cross_entropy};
use crate::nn::param::join;
use crate::nn::recurrent::SeqInput;
use crate::nn::weights::{KIND_KEY, Weights};
use crate::nn::{Dense, Dropout, Embedding, Lstm, Module, NnError, ParamMut, Recurrent, Scalar, seeded_rng};

/// Which network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    V1,
    V2,
    V3,
}

impl Version {
    pub fn kind(self) -> &'static str {
        match self {
            Version::V1 => "emojify-v1",
            Version::V2 => "emojify-v2",
            Version::V3 => "emojify-v3",
        }
    }

    /// Every network, in panel order.
    pub const ALL: [Version; 3] = [Version::V1, Version::V2, Version::V3];

    /// Whether the network reads words in a negation's scope apart (see [`super::encode_marked`]).
    pub fn marks_negation(self) -> bool {
        self == Version::V3
    }
}

impl std::str::FromStr for Version {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "v1" | "1" => Ok(Version::V1),
            "v2" | "2" => Ok(Version::V2),
            "v3" | "3" => Ok(Version::V3),
            _ => Err(format!("unknown model {s:?}: expected v1, v2 or v3")),
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Version::V1 => "v1",
            Version::V2 => "v2",
            Version::V3 => "v3",
        })
    }
}

/// Sizes of a network.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NetConfig {
    pub version: Version,
    /// LSTM units per layer (V2), hidden units (V3).
    pub hidden: usize,
    /// Dropout rate after each LSTM layer (V2), after the hidden layer (V3).
    pub dropout: f64,
    /// V3's L2 penalty on its two dense layers' weights (training only).
    pub l2: f64,
    /// V3's L2 penalty on its bag-of-words table (training only): it keeps per-word votes
    /// small, so a word seen once in training cannot outvote the vectors.
    pub bow_l2: f64,
}

impl NetConfig {
    pub fn v1() -> Self {
        Self { version: Version::V1, hidden: 0, dropout: 0.0, l2: 0.0, bow_l2: 0.0 }
    }
    pub fn v2() -> Self {
        Self { version: Version::V2, hidden: 128, dropout: 0.5, l2: 0.0, bow_l2: 0.0 }
    }
    pub fn v3() -> Self {
        Self { version: Version::V3, hidden: 64, dropout: 0.3, l2: 1e-3, bow_l2: 1e-4 }
    }
}

/// Mean of the sentence's word vectors -> softmax. ids -> mean x: [B, D] -> logits: [B, 5];
/// out: W [D, 5], b [5]. The embedding is the frozen vectors table [V, D], not saved.
pub struct V1<F: Scalar> {
    pub emb: Embedding<F>,
    pub out: Dense<F>,
}

/// The course's Keras model. ids [T, B] -> embedding (frozen) x: [T, B, D]
/// -> LSTM(H) h1: [T, B, H] -> dropout -> LSTM(H), last real step: [B, H] -> dropout
/// -> Dense logits: [B, 5]. Padding is masked: the packed mask makes each row's final
/// state the state after its last real word.
pub struct V2<F: Scalar> {
    pub emb: Embedding<F>,
    pub lstm1: Recurrent<Lstm<F>>,
    pub drop1: Dropout,
    pub lstm2: Recurrent<Lstm<F>>,
    pub drop2: Dropout,
    pub out: Dense<F>,
}

/// V1 plus what a mean cannot see. Each sentence is ids [n] into the frozen table [V, D],
/// an id `V + i` meaning word `i` inside a negation's scope (see [`super::encode_marked`]):
/// features f: [B, 3D] = [mean of the plain words' vectors; mean of the negated words'
/// vectors (0 when none); element-wise max over all words] -> `hid` Dense [3D, H] -> tanh
/// h: [B, H] -> dropout -> `out` Dense [H, 5], plus a trainable bag of words, the mean over
/// the sentence's words of `bow` rows (table [V, 5], starting at 0) -> logits: [B, 5].
/// Training loss: mean cross-entropy + l2/2 (|W_hid|² + |W_out|²) + bow_l2/2 |bow|².
pub struct V3<F: Scalar> {
    pub emb: Embedding<F>,
    pub bow: Embedding<F>,
    pub hid: Dense<F>,
    pub drop: Dropout,
    pub out: Dense<F>,
    pub l2: f64,
    pub bow_l2: f64,
}

/// Either network; the unit training and prediction work on.
pub enum Net<F: Scalar> {
    V1(Box<V1<F>>),
    V2(Box<V2<F>>),
    V3(Box<V3<F>>),
}

/// A batch of id sequences padded time-major, longest first so the LSTM's mask rows are
/// prefixes (its packed path). `order[k]` is the input index of batch column k.
struct Packed<F> {
    order: Vec<usize>,
    ids: Vec<usize>,
    mask: Array2<F>,
    t_len: usize,
}

fn pack<F: Scalar>(seqs: &[&[usize]]) -> Result<Packed<F>, NnError> {
    if seqs.iter().any(|s| s.is_empty()) {
        return Err(NnError::Invalid("an empty sentence reached the network".into()));
    }
    let mut order: Vec<usize> = (0..seqs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(seqs[i].len()));
    let t_len = order.first().map_or(0, |&i| seqs[i].len());
    let b = seqs.len();
    let mut ids = vec![0usize; t_len * b];
    let mut mask = Array2::zeros((t_len, b));
    for (k, &i) in order.iter().enumerate() {
        for (t, &id) in seqs[i].iter().enumerate() {
            ids[t * b + k] = id;
            mask[(t, k)] = F::one();
        }
    }
    Ok(Packed { order, ids, mask, t_len })
}

/// Rows of `x` (in packed order) put back in input order.
fn unpack<F: Scalar>(x: Array2<F>, order: &[usize]) -> Array2<F> {
    let mut out = Array2::zeros(x.raw_dim());
    for (k, &i) in order.iter().enumerate() {
        out.row_mut(i).assign(&x.row(k));
    }
    out
}

impl<F: Scalar> Net<F> {
    /// A fresh network over the frozen `table` [V, D].
    pub fn new(cfg: NetConfig, table: Array2<F>, seed: u64) -> Result<Self, NnError> {
        let mut rng = seeded_rng(seed);
        let d = table.ncols();
        let emb = Embedding::from_table(table).frozen();
        Ok(match cfg.version {
            Version::V1 => Net::V1(Box::new(V1 { emb, out: Dense::new(d, NUM_CLASSES, &mut rng) })),
            Version::V2 => {
                if cfg.hidden == 0 {
                    return Err(NnError::Invalid("V2 needs at least one LSTM unit".into()));
                }
                Net::V2(Box::new(V2 {
                    emb,
                    lstm1: Recurrent::new(Lstm::new(d, cfg.hidden, &mut rng)),
                    drop1: Dropout::new(cfg.dropout, seed.wrapping_add(1))?,
                    lstm2: Recurrent::new(Lstm::new(cfg.hidden, cfg.hidden, &mut rng)),
                    drop2: Dropout::new(cfg.dropout, seed.wrapping_add(2))?,
                    out: Dense::new(cfg.hidden, NUM_CLASSES, &mut rng),
                }))
            }
            Version::V3 => {
                if cfg.hidden == 0 {
                    return Err(NnError::Invalid("V3 needs at least one hidden unit".into()));
                }
                let v = emb.vocab_size();
                Net::V3(Box::new(V3 {
                    emb,
                    bow: Embedding::from_table(Array2::zeros((v, NUM_CLASSES))),
                    hid: Dense::new(3 * d, cfg.hidden, &mut rng),
                    drop: Dropout::new(cfg.dropout, seed.wrapping_add(1))?,
                    out: Dense::new(cfg.hidden, NUM_CLASSES, &mut rng),
                    l2: cfg.l2,
                    bow_l2: cfg.bow_l2,
                }))
            }
        })
    }

    pub fn version(&self) -> Version {
        match self {
            Net::V1(_) => Version::V1,
            Net::V2(_) => Version::V2,
            Net::V3(_) => Version::V3,
        }
    }

    pub fn config(&self) -> NetConfig {
        match self {
            Net::V1(_) => NetConfig::v1(),
            Net::V2(n) => NetConfig { hidden: n.out.input_size(), dropout: n.drop1.rate(), ..NetConfig::v2() },
            Net::V3(n) => NetConfig { version: Version::V3, hidden: n.out.input_size(), dropout: n.drop.rate(), l2: n.l2, bow_l2: n.bow_l2 },
        }
    }

    /// Class probabilities [B, 5] for id sequences (inference: dropout off).
    pub fn probs(&self, seqs: &[&[usize]]) -> Result<Array2<F>, NnError> {
        Ok(softmax_rows(self.logits(seqs, None)?.view()))
    }

    fn logits(&self, seqs: &[&[usize]], _: Option<()>) -> Result<Array2<F>, NnError> {
        match self {
            Net::V1(n) => Ok(n.out.apply(mean_rows(&n.emb, seqs)?.view())),
            Net::V2(n) => {
                let p = pack::<F>(seqs)?;
                let x = embed(&n.emb, &p, seqs.len())?;
                let zero = |l: &Recurrent<Lstm<F>>| l.cell.zero_state(seqs.len());
                let (h1, _, _) = n.lstm1.forward(SeqInput::Dense(x.view()), &zero(&n.lstm1), Some(p.mask.view()))?;
                let (_, last, _) = n.lstm2.forward(SeqInput::Dense(h1.view()), &zero(&n.lstm2), Some(p.mask.view()))?;
                Ok(unpack(n.out.apply(last.h.view()), &p.order))
            }
            Net::V3(n) => {
                let h = Activation::Tanh.forward(n.hid.apply(v3_features(&n.emb, seqs)?.view()).view());
                Ok(n.out.apply(h.view()) + bow_mean(&n.bow, n.emb.vocab_size(), seqs))
            }
        }
    }

    /// One training pass over a batch: mean cross-entropy, gradients *added* into the
    /// parameters (dropout on). Returns the mean loss and how many rows were right.
    pub fn train_batch(&mut self, seqs: &[&[usize]], targets: &[usize]) -> Result<(F, usize), NnError> {
        if seqs.len() != targets.len() || seqs.is_empty() {
            return Err(NnError::Invalid(format!("{} sentences for {} labels", seqs.len(), targets.len())));
        }
        let b = F::of(seqs.len() as f64);
        let (loss, correct) = match self {
            Net::V1(n) => {
                let x = mean_rows(&n.emb, seqs)?;
                let (logits, cache) = n.out.forward(x.view());
                let lg = softmax_cross_entropy(logits.view(), targets, None)?;
                n.out.backward(&cache, (lg.dlogits / b).view());
                (lg.loss / b, count_right(logits.view(), targets))
            }
            Net::V2(n) => {
                let p = pack::<F>(seqs)?;
                let bsz = seqs.len();
                let tgt: Vec<usize> = p.order.iter().map(|&i| targets[i]).collect();
                let x = embed(&n.emb, &p, bsz)?;
                let mask = Some(p.mask.view());
                let (h1, _, c1) = n.lstm1.forward(SeqInput::Dense(x.view()), &n.lstm1.cell.zero_state(bsz), mask)?;
                let (d1, dc1) = n.drop1.forward_train(h1.view());
                let (_, last, c2) = n.lstm2.forward(SeqInput::Dense(d1.view()), &n.lstm2.cell.zero_state(bsz), mask)?;
                let (d2, dc2) = n.drop2.forward_train(last.h.view());
                let (logits, oc) = n.out.forward(d2.view());
                let lg = softmax_cross_entropy(logits.view(), &tgt, None)?;
                let dd2 = n.out.backward(&oc, (lg.dlogits / b).view());
                let dlast = n.drop2.backward(&dc2, dd2.view())?;
                let hidden = dlast.ncols();
                let d_state = State { h: dlast, c: Some(Array2::zeros((bsz, hidden))) };
                let no_step_grads = Array3::zeros((p.t_len, bsz, hidden));
                let (dd1, _) = n.lstm2.backward(&c2, no_step_grads.view(), Some(&d_state));
                let dd1 = dd1.ok_or_else(|| NnError::Invalid("LSTM 2 returned no input gradient".into()))?;
                let dh1 = n.drop1.backward(&dc1, dd1.view())?;
                // the embedding is frozen: the gradient on x is not needed
                n.lstm1.backward(&c1, dh1.view(), None);
                (lg.loss / b, count_right(logits.view(), &tgt))
            }
            Net::V3(n) => {
                let v = n.emb.vocab_size();
                let f = v3_features(&n.emb, seqs)?;
                let (z, hc) = n.hid.forward(f.view());
                let h = Activation::Tanh.forward(z.view());
                let (hd, dc) = n.drop.forward_train(h.view());
                let (logits, oc) = n.out.forward(hd.view());
                let logits = logits + bow_mean(&n.bow, v, seqs);
                let lg = softmax_cross_entropy(logits.view(), targets, None)?;
                let g = lg.dlogits / b;
                // each word's row received 1/n of its sentence's logit gradient
                for (s, grow) in seqs.iter().zip(g.rows()) {
                    let share = F::one() / F::of(s.len() as f64);
                    for &id in s.iter() {
                        let mut r = n.bow.table.grad.row_mut(id % v);
                        r.scaled_add(share, &grow);
                    }
                }
                let dhd = n.out.backward(&oc, g.view());
                let dh = n.drop.backward(&dc, dhd.view())?;
                n.hid.backward(&hc, Activation::Tanh.backward(h.view(), dh.view()).view());
                // L2: loss += λ/2 |W|², gradient += λ W
                let mut penalty = F::zero();
                for (p, lambda) in [(&mut n.hid.w, n.l2), (&mut n.out.w, n.l2)] {
                    penalty += l2_penalty(&p.value.view().into_dyn(), &mut p.grad.view_mut().into_dyn(), lambda);
                }
                penalty += l2_penalty(&n.bow.table.value.view().into_dyn(), &mut n.bow.table.grad.view_mut().into_dyn(), n.bow_l2);
                (lg.loss / b + penalty, count_right(logits.view(), targets))
            }
        };
        Ok((loss, correct))
    }
}

pub fn count_right<F: Scalar>(logits: ArrayView2<F>, targets: &[usize]) -> usize {
    logits.rows().into_iter().zip(targets).filter(|(r, t)| argmax(r.iter().copied()) == **t).count()
}

/// Index of the largest value (the first on ties).
pub fn argmax<F: PartialOrd>(v: impl IntoIterator<Item = F>) -> usize {
    let mut best: Option<(usize, F)> = None;
    for (i, x) in v.into_iter().enumerate() {
        if best.as_ref().is_none_or(|(_, b)| x > *b) {
            best = Some((i, x));
        }
    }
    best.map_or(0, |(i, _)| i)
}

/// The mean vector of each sequence: [B, D].
fn mean_rows<F: Scalar>(emb: &Embedding<F>, seqs: &[&[usize]]) -> Result<Array2<F>, NnError> {
    let mut x = Array2::zeros((seqs.len(), emb.dim()));
    for (mut row, s) in x.rows_mut().into_iter().zip(seqs) {
        if s.is_empty() {
            return Err(NnError::Invalid("an empty sentence reached the network".into()));
        }
        let vecs = emb.forward(s)?;
        row.assign(&vecs.sum_axis(Axis(0)));
        row.mapv_inplace(|v| v / F::of(s.len() as f64));
    }
    Ok(x)
}

/// V3's features [B, 3D]: mean of plain words, mean of negated words (ids >= V), max of all.
/// The table is frozen, so no backward is needed through them.
fn v3_features<F: Scalar>(emb: &Embedding<F>, seqs: &[&[usize]]) -> Result<Array2<F>, NnError> {
    let (v, d) = (emb.vocab_size(), emb.dim());
    let table = &emb.table.value;
    let mut x = Array2::zeros((seqs.len(), 3 * d));
    for (mut row, s) in x.rows_mut().into_iter().zip(seqs) {
        if s.is_empty() {
            return Err(NnError::Invalid("an empty sentence reached the network".into()));
        }
        if let Some(&bad) = s.iter().find(|&&i| i >= 2 * v) {
            return Err(NnError::Invalid(format!("token id {bad} outside a marked vocabulary of {}", 2 * v)));
        }
        let (mut plain, mut negated) = (0usize, 0usize);
        row.slice_mut(ndarray::s![2 * d..]).fill(F::neg_infinity());
        for &id in s.iter() {
            let off = if id >= v {
                negated += 1;
                d
            } else {
                plain += 1;
                0
            };
            let e = table.row(id % v);
            for k in 0..d {
                row[off + k] += e[k];
                row[2 * d + k] = row[2 * d + k].max(e[k]);
            }
        }
        for (range, count) in [(0..d, plain), (d..2 * d, negated)] {
            if count > 0 {
                let c = F::of(count as f64);
                row.slice_mut(ndarray::s![range]).mapv_inplace(|a| a / c);
            }
        }
    }
    Ok(x)
}

/// The mean of each sentence's bag-of-words rows: [B, 5]. A negated word votes with its own row.
fn bow_mean<F: Scalar>(bow: &Embedding<F>, v: usize, seqs: &[&[usize]]) -> Array2<F> {
    let mut out = Array2::zeros((seqs.len(), bow.dim()));
    for (mut row, s) in out.rows_mut().into_iter().zip(seqs) {
        for &id in s.iter() {
            row += &bow.table.value.row(id % v);
        }
        let n = F::of(s.len().max(1) as f64);
        row.mapv_inplace(|a| a / n);
    }
    out
}

/// The packed ids as vectors: [T, B, D].
fn embed<F: Scalar>(emb: &Embedding<F>, p: &Packed<F>, b: usize) -> Result<Array3<F>, NnError> {
    let flat = emb.forward(&p.ids)?;
    flat.into_shape_with_order((p.t_len, b, emb.dim())).map_err(|e| NnError::Invalid(e.to_string()))
}

/// Only the trained layers: the embedding is the user's vectors, checked by fingerprint.
impl<F: Scalar> Module<F> for Net<F> {
    fn visit(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ParamMut<'_, F>)) {
        match self {
            Net::V1(n) => n.out.visit(&join(prefix, "out"), f),
            Net::V2(n) => {
                n.lstm1.visit(&join(prefix, "lstm1"), f);
                n.lstm2.visit(&join(prefix, "lstm2"), f);
                n.out.visit(&join(prefix, "out"), f);
            }
            Net::V3(n) => {
                n.bow.visit(&join(prefix, "bow"), f);
                n.hid.visit(&join(prefix, "hid"), f);
                n.out.visit(&join(prefix, "out"), f);
            }
        }
    }
}

/// The network's frozen table: the vectors as they are, or scaled to unit length so that
/// frequent words (long vectors in skip-gram) do not dominate a sentence's mean.
pub fn table(vectors: &WordVectors, unit: bool) -> Array2<f32> {
    if unit { vectors.unit_matrix().to_owned() } else { vectors.matrix().to_owned() }
}

/// What the model says about one sentence.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// The most probable class.
    pub label: usize,
    /// Probabilities of the five classes, in label order.
    pub probs: [f32; NUM_CLASSES],
    /// Words skipped because the vectors do not know them, in sentence order.
    pub unknown: Vec<String>,
}

impl Prediction {
    pub fn emoji(&self) -> &'static str {
        LABELS[self.label].emoji
    }
}

/// Networks of one kind and size that differ only in their seed. Their probabilities are
/// averaged: on a few thousand sentences a single V2's accuracy moves by 2-3 points from
/// seed to seed, and the mean of several is steadier than any one of them.
pub struct Members<F: Scalar> {
    nets: Vec<Net<F>>,
}

impl<F: Scalar> Members<F> {
    pub fn new(nets: Vec<Net<F>>) -> Result<Self, NnError> {
        let Some(first) = nets.first() else {
            return Err(NnError::Invalid("a model needs at least one network".into()));
        };
        if nets.iter().any(|n| n.config() != first.config()) {
            return Err(NnError::Invalid("the members of a model must share one kind and size".into()));
        }
        Ok(Self { nets })
    }

    pub fn nets(&self) -> &[Net<F>] {
        &self.nets
    }

    fn first(&self) -> &Net<F> {
        // `new` refuses an empty list
        &self.nets[0]
    }

    pub fn probs(&self, seqs: &[&[usize]]) -> Result<Array2<F>, NnError> {
        mean_probs(&self.nets, seqs)
    }
}

/// Mean class probabilities [B, 5] of `nets`.
pub fn mean_probs<F: Scalar>(nets: &[Net<F>], seqs: &[&[usize]]) -> Result<Array2<F>, NnError> {
    let Some((first, rest)) = nets.split_first() else {
        return Err(NnError::Invalid("no network to ask".into()));
    };
    let mut sum = first.probs(seqs)?;
    for n in rest {
        sum += &n.probs(seqs)?;
    }
    Ok(sum / F::of(nets.len() as f64))
}

/// A lone network keeps the plain names of the files written before there were members;
/// several are stored as `m0/...`, `m1/...`.
impl<F: Scalar> Module<F> for Members<F> {
    fn visit(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ParamMut<'_, F>)) {
        if let [one] = self.nets.as_mut_slice() {
            return one.visit(prefix, f);
        }
        for (k, n) in self.nets.iter_mut().enumerate() {
            n.visit(&join(prefix, &format!("m{k}")), f);
        }
    }
}

/// A trained model with its file's metadata, ready to classify sentences.
pub struct Emojifier {
    pub members: Members<f32>,
    pub meta: HashMap<String, String>,
    vocab: usize,
}

/// Metadata keys tying a model to its vectors.
pub const META_FINGERPRINT: &str = "vectors_fingerprint";
pub const META_VOCAB: &str = "vectors_vocab";
pub const META_DIM: &str = "vectors_dim";

/// Metadata carried from a loaded file (the rest is rebuilt from the network and vectors).
const KEPT_META: [&str; 15] = [
    KIND_KEY, "unit_vectors", META_FINGERPRINT, META_VOCAB, META_DIM, "hidden", "dropout",
    "epochs", "seed", "lr", "train_sentences", "dev_accuracy", "l2", "bow_l2", META_MEMBERS,
];

/// Metadata key of the number of member networks (absent: one).
pub const META_MEMBERS: &str = "members";

/// More members than this in a file is corruption, not a model.
pub const MAX_MEMBERS: usize = 64;

impl Emojifier {
    /// Wraps networks trained on `vectors`, recording their fingerprint.
    pub fn new(members: Members<f32>, vectors: &WordVectors, mut meta: HashMap<String, String>) -> Self {
        let cfg = members.first().config();
        meta.insert(KIND_KEY.into(), cfg.version.kind().into());
        meta.insert(META_FINGERPRINT.into(), fingerprint(vectors));
        meta.insert(META_VOCAB.into(), vectors.len().to_string());
        meta.insert(META_DIM.into(), vectors.dim().to_string());
        meta.insert(META_MEMBERS.into(), members.nets.len().to_string());
        meta.insert("hidden".into(), cfg.hidden.to_string());
        meta.insert("dropout".into(), cfg.dropout.to_string());
        meta.insert("l2".into(), cfg.l2.to_string());
        meta.insert("bow_l2".into(), cfg.bow_l2.to_string());
        Self { members, meta, vocab: vectors.len() }
    }

    pub fn version(&self) -> Version {
        self.members.first().version()
    }

    /// Loads a model file, refusing vectors other than those it was trained on.
    pub fn from_weights(w: &Weights, vectors: &WordVectors) -> Result<Self, EmojifyError> {
        let kind = w.meta(KIND_KEY)?;
        let version = match kind {
            "emojify-v1" => Version::V1,
            "emojify-v2" => Version::V2,
            "emojify-v3" => Version::V3,
            _ => return Err(NnError::WrongKind { path: w.path().into(), expected: "emojify-v1, emojify-v2 or emojify-v3".into(), found: kind.into() }.into()),
        };
        let mismatch = |reason: String| EmojifyError::VectorsMismatch { path: w.path().into(), reason };
        let (vocab, dim): (usize, usize) = (w.meta_parse(META_VOCAB)?, w.meta_parse(META_DIM)?);
        if vocab != vectors.len() || dim != vectors.dim() {
            return Err(mismatch(format!("{vocab} words of {dim} dimensions, these have {} of {}", vectors.len(), vectors.dim())));
        }
        let fp = fingerprint(vectors);
        if w.meta(META_FINGERPRINT)? != fp {
            return Err(mismatch(format!("fingerprint {} differs from these vectors' {fp}", w.meta(META_FINGERPRINT)?)));
        }
        let cfg = match version {
            Version::V1 => NetConfig::v1(),
            Version::V2 => NetConfig { hidden: w.meta_parse("hidden")?, dropout: w.meta_parse("dropout")?, ..NetConfig::v2() },
            // the penalties only matter for training; a file without them still loads
            Version::V3 => NetConfig {
                hidden: w.meta_parse("hidden")?,
                dropout: w.meta_parse("dropout")?,
                l2: w.meta_parse("l2").unwrap_or(0.0),
                bow_l2: w.meta_parse("bow_l2").unwrap_or(0.0),
                ..NetConfig::v3()
            },
        };
        let count = if w.meta(META_MEMBERS).is_ok() { w.meta_parse::<usize>(META_MEMBERS)? } else { 1 };
        if count == 0 || count > MAX_MEMBERS {
            return Err(EmojifyError::Invalid(format!("{}: {count} member networks (1..={MAX_MEMBERS} expected)", w.path().display())));
        }
        let unit = w.meta("unit_vectors").is_ok_and(|v| v == "true");
        let t = table(vectors, unit);
        let mut members = Members::new((0..count).map(|_| Net::new(cfg, t.clone(), 0)).collect::<Result<_, _>>()?)?;
        w.load_into(&mut members)?;
        let mut meta = HashMap::new();
        for key in KEPT_META {
            if let Ok(v) = w.meta(key) {
                meta.insert(key.to_string(), v.to_string());
            }
        }
        Ok(Self { members, meta, vocab: vectors.len() })
    }

    /// Saves the trained layers and the metadata (atomically).
    pub fn save(&mut self, path: &std::path::Path) -> Result<(), EmojifyError> {
        crate::nn::weights::save(path, &mut self.members, self.meta.clone())?;
        Ok(())
    }

    /// Classifies one sentence; see the module documentation for awkward input.
    pub fn predict(&self, vectors: &WordVectors, sentence: &str) -> Result<Prediction, EmojifyError> {
        if vectors.len() != self.vocab {
            return Err(EmojifyError::Invalid(format!("this model reads {} words of vectors, not {}", self.vocab, vectors.len())));
        }
        let enc = encode_marked(vectors, sentence, self.version().marks_negation())?;
        let p = self.members.probs(&[&enc.ids])?;
        let mut probs = [0.0f32; NUM_CLASSES];
        probs.iter_mut().zip(p.row(0)).for_each(|(d, &s)| *d = s);
        Ok(Prediction { label: argmax(probs), probs, unknown: enc.unknown })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::emojify::tests::tiny;
    use crate::nn::gradcheck::check_params;
    use ndarray::array;

    fn table64() -> Array2<f64> {
        tiny().matrix().mapv(|v| v as f64)
    }

    /// V1 by hand: "love food" averages (1, 0) and (0.7, 0.7) to (0.85, 0.35). With
    /// W = [[1, 0, 0, 0, 0], [0, 2, 0, 0, 0]] and b = 0 the logits are (0.85, 0.7, 0, 0, 0).
    #[test]
    fn v1_golden_logits() {
        let mut net = Net::<f64>::new(NetConfig::v1(), table64(), 0).unwrap();
        if let Net::V1(n) = &mut net {
            n.out = Dense::from_weights(array![[1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0, 0.0]], Array1::zeros(5));
        }
        let l = net.logits(&[&[0, 4]], None).unwrap();
        for (a, b) in l.row(0).iter().zip([0.85, 0.7, 0.0, 0.0, 0.0]) {
            assert!((a - b).abs() < 1e-6, "{l}"); // the table was f32
        }
    }
    use ndarray::Array1;

    /// Batches of uneven lengths, so the mask and the packing both matter.
    fn batch() -> (Vec<Vec<usize>>, Vec<usize>) {
        (vec![vec![0, 5], vec![3, 1, 2, 4], vec![4], vec![2, 2, 0]], vec![0, 3, 4, 2])
    }

    #[test]
    fn gradients_match_central_differences() {
        let (seqs, tg) = batch();
        let refs: Vec<&[usize]> = seqs.iter().map(|s| s.as_slice()).collect();
        for cfg in [NetConfig::v1(), NetConfig { hidden: 3, dropout: 0.0, ..NetConfig::v2() }] {
            let mut net = Net::<f64>::new(cfg, table64(), 7).unwrap();
            let report = check_params(&mut net, |n| {
                n.zero_grad();
                n.train_batch(&refs, &tg).unwrap().0
            });
            assert!(report.max_rel_error < 1e-6, "{cfg:?}: {report:?}");
            assert!(report.checked > 0);
        }
    }

    /// With dropout on, the gradient is still exact for the mask that was drawn: rerunning
    /// with a dropout whose generator restarts from the same seed draws the same mask.
    #[test]
    fn v2_dropout_gradient() {
        let (seqs, tg) = batch();
        let refs: Vec<&[usize]> = seqs.iter().map(|s| s.as_slice()).collect();
        let mut net = Net::<f64>::new(NetConfig { hidden: 3, dropout: 0.3, ..NetConfig::v2() }, table64(), 3).unwrap();
        let report = check_params(&mut net, |n| {
            if let Net::V2(v) = n {
                v.drop1 = Dropout::new(0.3, 11).unwrap();
                v.drop2 = Dropout::new(0.3, 12).unwrap();
            }
            n.zero_grad();
            n.train_batch(&refs, &tg).unwrap().0
        });
        assert!(report.max_rel_error < 1e-6, "{report:?}");
    }

    /// Padding changes nothing: a sentence's probabilities alone equal its row in a batch
    /// with longer and shorter sentences, in any order.
    #[test]
    fn v2_batch_equals_single() {
        let net = Net::<f64>::new(NetConfig { hidden: 4, dropout: 0.5, ..NetConfig::v2() }, table64(), 1).unwrap();
        let (seqs, _) = batch();
        let refs: Vec<&[usize]> = seqs.iter().map(|s| s.as_slice()).collect();
        let all = net.probs(&refs).unwrap();
        for (i, s) in refs.iter().enumerate() {
            let one = net.probs(&[s]).unwrap();
            for (a, b) in one.row(0).iter().zip(all.row(i)) {
                assert!((a - b).abs() < 1e-12);
            }
            assert!((one.sum() - 1.0).abs() < 1e-12);
        }
    }

    /// V3 with negated words (ids >= V = 6), a non-zero bag of words and both penalties on,
    /// so every term of its loss is checked; dropout is redrawn from the same seed each run.
    #[test]
    fn v3_gradients_match_central_differences() {
        let seqs: Vec<Vec<usize>> = vec![vec![0, 5], vec![3, 7, 2, 10], vec![4], vec![2, 8, 6]];
        let tg = [0, 3, 4, 2];
        let refs: Vec<&[usize]> = seqs.iter().map(|s| s.as_slice()).collect();
        for dropout in [0.0, 0.3] {
            let cfg = NetConfig { hidden: 4, dropout, l2: 0.05, bow_l2: 0.2, ..NetConfig::v3() };
            let mut net = Net::<f64>::new(cfg, table64(), 5).unwrap();
            if let Net::V3(n) = &mut net {
                let mut rng = crate::nn::seeded_rng(9);
                n.bow.table.value = crate::nn::scalar::randn((6, NUM_CLASSES), 0.5, &mut rng);
            }
            let report = check_params(&mut net, |n| {
                if let Net::V3(v) = n {
                    v.drop = Dropout::new(dropout, 11).unwrap();
                }
                n.zero_grad();
                n.train_batch(&refs, &tg).unwrap().0
            });
            assert!(report.max_rel_error < 1e-6, "dropout {dropout}: {report:?}");
            assert!(report.checked > 0);
        }
    }

    /// V3's features by hand on the tiny table (V = 6): "love not sad" as ids [0, 6 + 3]:
    /// plain mean = love = (1, 0); negated mean = sad = (0, -1); max = (max(1, 0), max(0, -1))
    /// = (1, 0). "food" alone: (0.7, 0.7), no negated words (0, 0), max (0.7, 0.7).
    #[test]
    fn v3_features_golden() {
        let emb = Embedding::from_table(table64()).frozen();
        let f = v3_features(&emb, &[&[0, 9], &[4]]).unwrap();
        let want = [[1.0, 0.0, 0.0, -1.0, 1.0, 0.0], [0.7, 0.7, 0.0, 0.0, 0.7, 0.7]];
        for (row, w) in f.rows().into_iter().zip(want) {
            for (a, b) in row.iter().zip(w) {
                assert!((a - b).abs() < 1e-6, "{f}");
            }
        }
        assert!(v3_features(&emb, &[&[12]]).is_err(), "ids past 2V are refused");
        assert!(v3_features(&emb, &[&[]]).is_err());
    }

    /// Two V2 networks from seeds 1 and 2: the model's probabilities are, class by class,
    /// (p1 + p2) / 2; saved and read back (as `m0/...`, `m1/...`) it says the same.
    #[test]
    fn members_average_and_round_trip() {
        let v = tiny();
        let cfg = NetConfig { hidden: 4, ..NetConfig::v2() };
        let net = |seed| Net::<f32>::new(cfg, v.matrix().to_owned(), seed).unwrap();
        let (a, b) = (net(1), net(2));
        let seqs: [&[usize]; 2] = [&[0, 4], &[3]];
        let (pa, pb) = (a.probs(&seqs).unwrap(), b.probs(&seqs).unwrap());
        let mut m = Emojifier::new(Members::new(vec![a, b]).unwrap(), &v, HashMap::new());
        let pm = m.members.probs(&seqs).unwrap();
        for ((x, y), z) in pa.iter().zip(&pb).zip(&pm) {
            assert!((z - (x + y) / 2.0).abs() < 1e-7, "{pa} {pb} {pm}");
        }
        assert!(pa != pb, "different seeds, different networks");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        m.save(&path).unwrap();
        let w = Weights::read(&path).unwrap();
        assert_eq!(w.meta(META_MEMBERS).unwrap(), "2");
        let back = Emojifier::from_weights(&w, &v).unwrap();
        assert_eq!(back.members.nets().len(), 2);
        assert_eq!(back.predict(&v, "love food").unwrap(), m.predict(&v, "love food").unwrap());
        for bad in ["0", "1000", "two"] {
            m.meta.insert(META_MEMBERS.into(), bad.into());
            m.save(&path).unwrap();
            let err = Emojifier::from_weights(&Weights::read(&path).unwrap(), &v).err().unwrap().to_string();
            assert!(err.contains("members") || err.contains("member networks"), "{bad}: {err}");
        }
        assert!(Members::<f32>::new(Vec::new()).is_err());
        assert!(Members::new(vec![net(1), Net::new(NetConfig::v1(), v.matrix().to_owned(), 1).unwrap()]).is_err(), "one kind only");
    }

    #[test]
    fn learns_a_toy_task_and_round_trips() {
        let v = tiny();
        for cfg in [NetConfig::v1(), NetConfig { hidden: 8, dropout: 0.0, ..NetConfig::v2() }, NetConfig { hidden: 8, dropout: 0.0, ..NetConfig::v3() }] {
            let mut net = Net::<f32>::new(cfg, v.matrix().to_owned(), 0).unwrap();
            let seqs: Vec<Vec<usize>> = vec![vec![0], vec![1], vec![2], vec![3], vec![4], vec![5, 0], vec![5, 3]];
            let tg = vec![0, 1, 2, 3, 4, 0, 3];
            let refs: Vec<&[usize]> = seqs.iter().map(|s| s.as_slice()).collect();
            let mut adam = crate::nn::optim::Adam::new(0.05);
            for _ in 0..300 {
                net.zero_grad();
                net.train_batch(&refs, &tg).unwrap();
                crate::nn::optim::Optimizer::step(&mut adam, &mut net);
            }
            let p = net.probs(&refs).unwrap();
            for (row, &t) in p.rows().into_iter().zip(&tg) {
                assert_eq!(argmax(row.iter().copied()), t, "{cfg:?}: {p}");
            }
            let mut m = Emojifier::new(Members::new(vec![net]).unwrap(), &v, HashMap::new());
            let dir = std::env::temp_dir().join(format!("seqlab-emojify-model-{}-{:?}", std::process::id(), cfg.version));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("m.safetensors");
            m.save(&path).unwrap();
            let back = Emojifier::from_weights(&Weights::read(&path).unwrap(), &v).unwrap();
            let a = m.predict(&v, "I love xyzzy").unwrap();
            let b = back.predict(&v, "I love xyzzy").unwrap();
            assert_eq!(a, b);
            assert_eq!(a.label, 0);
            assert_eq!(a.unknown, ["xyzzy"]);
            assert_eq!(back.version(), cfg.version);
            // other vectors: a clear error, not nonsense
            let mut other = tiny();
            other.set("ball", array![0.0, 0.5].view()).unwrap();
            let err = Emojifier::from_weights(&Weights::read(&path).unwrap(), &other).err().unwrap();
            assert!(matches!(err, EmojifyError::VectorsMismatch { .. }), "{err}");
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}
