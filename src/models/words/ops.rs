//! The course's word-vector exercises: cosine similarity, nearest neighbours and analogies
//! `a : b :: c : ?` by 3CosAdd or 3CosMul, always excluding the query words.

use ndarray::{Array1, Array2, ArrayView1, Axis, s};

use super::{WordVectors, WordsError};

/// `u·v / (|u| |v|)`; 0 when either vector is zero (no direction, no similarity).
pub fn cosine(u: ArrayView1<f32>, v: ArrayView1<f32>) -> f32 {
    let (uu, vv) = (u.dot(&u), v.dot(&v));
    if uu == 0.0 || vv == 0.0 { 0.0 } else { u.dot(&v) / (uu.sqrt() * vv.sqrt()) }
}

/// How an analogy is scored (Levy & Goldberg 2014), on unit vectors `a, b, c, x`:
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Method {
    /// 3CosAdd: `cos(x, b - a + c)`, the course's and word2vec's rule.
    #[default]
    Add,
    /// 3CosMul: `cos'(x,b) cos'(x,c) / (cos'(x,a) + 0.001)` with `cos' = (cos + 1) / 2`;
    /// one large similarity cannot outvote the other two.
    Mul,
}

/// A word and its score.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    pub word: String,
    pub score: f32,
}

/// The `k` words (among the first `restrict` rows; all when `None`) most cosine-similar to
/// `query` (`[D]`), best first, skipping row indices in `exclude`.
pub fn neighbours_of_vector(
    v: &WordVectors,
    query: ArrayView1<f32>,
    k: usize,
    exclude: &[usize],
    restrict: Option<usize>,
) -> Result<Vec<Scored>, WordsError> {
    if query.len() != v.dim() {
        return Err(WordsError::Invalid(format!("query has {} dimensions, the vectors {}", query.len(), v.dim())));
    }
    let n = restrict.unwrap_or(v.len()).min(v.len());
    let norm = query.dot(&query).sqrt();
    let scores = v.unit_matrix().slice(s![..n, ..]).dot(&query) / if norm > 0.0 { norm } else { 1.0 };
    Ok(top_k(scores.view(), k, exclude).into_iter().map(|(i, score)| Scored { word: v.words()[i].clone(), score }).collect())
}

/// The `k` nearest neighbours of `word`, itself excluded.
pub fn neighbours(v: &WordVectors, word: &str, k: usize, restrict: Option<usize>) -> Result<Vec<Scored>, WordsError> {
    let i = v.index_of(word).ok_or_else(|| WordsError::Unknown(word.into()))?;
    neighbours_of_vector(v, v.unit_matrix().row(i), k, &[i], restrict)
}

/// `a : b :: c : ?` — the `k` best answers, the three query words excluded.
pub fn analogy(v: &WordVectors, a: &str, b: &str, c: &str, method: Method, k: usize, restrict: Option<usize>) -> Result<Vec<Scored>, WordsError> {
    let idx = |w: &str| v.index_of(w).ok_or_else(|| WordsError::Unknown(w.into()));
    let (ia, ib, ic) = (idx(a)?, idx(b)?, idx(c)?);
    let n = restrict.unwrap_or(v.len()).min(v.len());
    let scores = analogy_scores(v, &[(ia, ib, ic)], method, n);
    Ok(top_k(scores.row(0), k, &[ia, ib, ic]).into_iter().map(|(i, score)| Scored { word: v.words()[i].clone(), score }).collect())
}

/// The best answer (a row index below `n`) to each question `(a, b, c)` of row indices,
/// the query rows excluded; questions are scored `chunk` at a time as matrix products and
/// spread over `threads`.
pub fn answer_batch(v: &WordVectors, questions: &[(usize, usize, usize)], method: Method, n: usize, threads: usize) -> Vec<usize> {
    let n = n.min(v.len());
    let per = questions.len().div_ceil(threads.max(1)).max(1);
    let mut out = vec![0usize; questions.len()];
    std::thread::scope(|scope| {
        for (qs, answers) in questions.chunks(per).zip(out.chunks_mut(per)) {
            scope.spawn(move || {
                for (qc, ac) in qs.chunks(256).zip(answers.chunks_mut(256)) {
                    let scores = analogy_scores(v, qc, method, n);
                    for ((row, &(a, b, c)), slot) in scores.rows().into_iter().zip(qc).zip(ac.iter_mut()) {
                        *slot = top_k(row, 1, &[a, b, c]).first().map(|p| p.0).unwrap_or(usize::MAX);
                    }
                }
            });
        }
    });
    out
}

/// Scores `[Q, n]` of every candidate among the first `n` rows for each question.
fn analogy_scores(v: &WordVectors, qs: &[(usize, usize, usize)], method: Method, n: usize) -> Array2<f32> {
    let u = v.unit_matrix();
    let cands = u.slice(s![..n, ..]);
    let rows = |pick: fn(&(usize, usize, usize)) -> usize| -> Array2<f32> {
        let idx: Vec<usize> = qs.iter().map(pick).collect();
        u.select(Axis(0), &idx)
    };
    let (a, b, c) = (rows(|q| q.0), rows(|q| q.1), rows(|q| q.2));
    match method {
        // cos(x, t) for t = b - a + c differs from x·t only by |t|, which is the same for every x.
        Method::Add => (&b - &a + &c).dot(&cands.t()),
        Method::Mul => {
            let sim = |m: &Array2<f32>| m.dot(&cands.t()).mapv(|s| (s + 1.0) / 2.0);
            let (sa, sb, sc) = (sim(&a), sim(&b), sim(&c));
            sb * sc / (sa + 0.001)
        }
    }
}

/// Indices and values of the `k` largest entries, best first, skipping `exclude`.
fn top_k(scores: ArrayView1<f32>, k: usize, exclude: &[usize]) -> Vec<(usize, f32)> {
    let mut best: Vec<(usize, f32)> = Vec::with_capacity(k + 1);
    if k == 0 {
        return best;
    }
    for (i, &s) in scores.iter().enumerate() {
        if s.is_nan() || exclude.contains(&i) || (best.len() == k && s <= best[k - 1].1) {
            continue;
        }
        let at = best.partition_point(|p| p.1 >= s);
        best.insert(at, (i, s));
        best.truncate(k);
    }
    best
}

/// The mean of some words' vectors (`[D]`), with the words that are not in the vocabulary.
pub fn mean_vector<'a>(v: &WordVectors, words: impl IntoIterator<Item = &'a str>) -> (Option<Array1<f32>>, Vec<String>) {
    let mut sum = Array1::<f32>::zeros(v.dim());
    let (mut n, mut unknown) = (0, Vec::new());
    for w in words {
        match v.get(w) {
            Some(e) => {
                sum += &e;
                n += 1;
            }
            None => unknown.push(w.to_string()),
        }
    }
    ((n > 0).then(|| sum / n as f32), unknown)
}

/// Some words' vectors centred and projected on their first two principal components
/// (power iteration on the `[D, D]` covariance, the first component deflated out before the
/// second), for a 2-D picture; with the words not in the vocabulary. Components are signed
/// so the first word lands at non-negative coordinates, to keep a picture stable.
pub fn project_2d(v: &WordVectors, words: &[&str]) -> Result<(Vec<(String, [f32; 2])>, Vec<String>), WordsError> {
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for &w in words {
        match v.get(w) {
            Some(e) => known.push((w.to_string(), e.mapv(f64::from))),
            None => unknown.push(w.to_string()),
        }
    }
    if known.len() < 2 {
        return Err(WordsError::Invalid(format!("a projection needs at least two known words, got {}", known.len())));
    }
    let d = v.dim();
    let mean = known.iter().fold(Array1::<f64>::zeros(d), |m, (_, e)| m + e) / known.len() as f64;
    let centred: Vec<Array1<f64>> = known.iter().map(|(_, e)| e - &mean).collect();
    let mut cov = Array2::<f64>::zeros((d, d));
    for c in &centred {
        let col = c.view().insert_axis(Axis(1));
        cov = cov + col.dot(&col.t());
    }
    let mut components = Vec::new();
    for k in 0..2 {
        // Start from a row that is not already a component, so iteration can move off it.
        let mut x = Array1::from_shape_fn(d, |i| if i == k % d { 1.0 } else { 0.5 / (1 + i) as f64 });
        for _ in 0..300 {
            let next = cov.dot(&x);
            let n = next.dot(&next).sqrt();
            if n < 1e-12 {
                break;
            }
            x = next / n;
        }
        let lambda = x.dot(&cov.dot(&x));
        // (2) deflate: the second component is the first of what the first leaves.
        let outer = x.view().insert_axis(Axis(1)).dot(&x.view().insert_axis(Axis(0)));
        cov = cov - lambda * outer;
        if centred[0].dot(&x) < 0.0 {
            x = -x;
        }
        components.push(x);
    }
    let points = known
        .iter()
        .zip(&centred)
        .map(|((w, _), c)| (w.clone(), [c.dot(&components[0]) as f32, c.dot(&components[1]) as f32]))
        .collect();
    Ok((points, unknown))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// Hand-made 2-d vectors (all unit length but `big`):
    /// man (1, 0), woman (0, 1), king (0.8, 0.6), queen (0.6, 0.8), apple (-1, 0), big (-3, -4).
    fn tiny() -> WordVectors {
        let words = ["man", "woman", "king", "queen", "apple", "big"].map(String::from).to_vec();
        WordVectors::new(words, array![[1.0, 0.0], [0.0, 1.0], [0.8, 0.6], [0.6, 0.8], [-1.0, 0.0], [-3.0, -4.0]]).unwrap()
    }

    /// a (0,0,0), b (2,0,0), c (4,0,0), d (2,1,0); mean (2, 0.25, 0); centred a (-2,-0.25),
    /// b (0,-0.25), c (2,-0.25), d (0,0.75). Scatter: 8 along x, 0.75 along y, 0 across, so
    /// the components are ±x then ±y, signed so that a is non-negative: -x and -y. Then
    /// a -> (2, 0.25), c -> (-2, 0.25), d -> (0, -0.75).
    #[test]
    fn projection_finds_the_spread_directions() {
        let words = ["a", "b", "c", "d"].map(String::from).to_vec();
        let v = WordVectors::new(words, array![[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [4.0, 0.0, 0.0], [2.0, 1.0, 0.0]]).unwrap();
        let (p, unknown) = project_2d(&v, &["a", "b", "c", "d", "zz"]).unwrap();
        assert_eq!(unknown, vec!["zz".to_string()]);
        let at = |w: &str| p.iter().find(|(x, _)| x == w).unwrap().1;
        let close = |u: [f32; 2], w: [f32; 2]| (u[0] - w[0]).abs() < 1e-4 && (u[1] - w[1]).abs() < 1e-4;
        assert!(close(at("a"), [2.0, 0.25]), "{:?}", at("a"));
        assert!(close(at("c"), [-2.0, 0.25]), "{:?}", at("c"));
        assert!(close(at("d"), [0.0, -0.75]), "{:?}", at("d"));
        assert!(project_2d(&v, &["a", "zz"]).is_err());
    }

    /// cos((1,2), (2,1)) = 4 / (sqrt 5 sqrt 5) = 0.8; a zero vector gives 0.
    #[test]
    fn cosine_golden_values() {
        assert!((cosine(array![1.0, 2.0].view(), array![2.0, 1.0].view()) - 0.8).abs() < 1e-6);
        assert!((cosine(array![1.0, 0.0].view(), array![-3.0, 0.0].view()) + 1.0).abs() < 1e-6);
        assert_eq!(cosine(array![0.0, 0.0].view(), array![1.0, 1.0].view()), 0.0);
    }

    /// Neighbours of king (0.8, 0.6): queen 0.48 + 0.48 = 0.96, man 0.8, woman 0.6,
    /// apple -0.8, big (-0.6, -0.8) -> -0.48 - 0.48 = -0.96.
    #[test]
    fn neighbours_exclude_the_word() {
        let v = tiny();
        let n = neighbours(&v, "king", 3, None).unwrap();
        let words: Vec<&str> = n.iter().map(|s| s.word.as_str()).collect();
        assert_eq!(words, ["queen", "man", "woman"]);
        assert!((n[0].score - 0.96).abs() < 1e-6 && (n[1].score - 0.8).abs() < 1e-6);
        let all = neighbours(&v, "king", 10, None).unwrap();
        assert_eq!(all.len(), 5);
        assert!((all[4].score + 0.96).abs() < 1e-6);
        assert_eq!(neighbours(&v, "king", 10, Some(2)).unwrap().len(), 2);
        assert!(matches!(neighbours(&v, "nope", 3, None), Err(WordsError::Unknown(_))));
    }

    /// man : woman :: king : ?  t = woman - man + king = (-0.2, 1.6). Scores x·t:
    /// queen -0.12 + 1.28 = 1.16, apple 0.2, big -0.6*-0.2 + -0.8*1.6 = -1.16.
    /// The query words (woman scores 1.6, king 0.8) are excluded, so queen wins.
    #[test]
    fn three_cos_add_golden() {
        let v = tiny();
        let r = analogy(&v, "man", "woman", "king", Method::Add, 2, None).unwrap();
        assert_eq!(r[0].word, "queen");
        assert!((r[0].score - 1.16).abs() < 1e-5, "{r:?}");
        assert_eq!(r[1].word, "apple");
        assert!((r[1].score - 0.2).abs() < 1e-5);
    }

    /// 3CosMul for queen: cos' = (cos + 1)/2 with cos(queen, woman) = 0.8 -> 0.9,
    /// cos(queen, king) = 0.96 -> 0.98, cos(queen, man) = 0.6 -> 0.8:
    /// 0.9 * 0.98 / 0.801 = 1.101124. apple: (0+1)/2 * (-0.8+1)/2 / ((-1+1)/2 + 0.001)
    /// = 0.5 * 0.1 / 0.001 = 50 — 3CosMul rewards being far from `a`, which is its point.
    #[test]
    fn three_cos_mul_golden() {
        let v = tiny();
        let r = analogy(&v, "man", "woman", "king", Method::Mul, 5, None).unwrap();
        let score = |w: &str| r.iter().find(|s| s.word == w).unwrap().score;
        assert!((score("queen") - 1.101_124).abs() < 1e-4, "{r:?}");
        assert!((score("apple") - 50.0).abs() < 1e-2);
        assert_eq!(r.len(), 3);
    }

    #[test]
    fn batch_answers_match_single_answers() {
        let v = tiny();
        let q = [(0, 1, 2), (2, 3, 0), (1, 0, 3)];
        for m in [Method::Add, Method::Mul] {
            let got = answer_batch(&v, &q, m, v.len(), 2);
            for (&(a, b, c), g) in q.iter().zip(got) {
                let w = &v.words();
                let single = analogy(&v, &w[a], &w[b], &w[c], m, 1, None).unwrap();
                assert_eq!(w[g], single[0].word);
            }
        }
    }

    #[test]
    fn mean_vector_reports_unknown_words() {
        let v = tiny();
        let (m, unknown) = mean_vector(&v, ["man", "zzz", "woman"]);
        assert_eq!(m.unwrap().to_vec(), [0.5, 0.5]);
        assert_eq!(unknown, ["zzz"]);
        assert!(mean_vector(&v, ["zzz"]).0.is_none());
    }
}
