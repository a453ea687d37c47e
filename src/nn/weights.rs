//! Weights I/O: one safetensors file per model, all tensors F32, with string metadata
//! holding the model kind, its hyper-parameters and its vocabulary.
//!
//! Loading validates everything a file can get wrong (truncation, foreign dtype, missing,
//! extra or misshapen tensors, another model's kind) and reports it as an [`NnError`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ndarray::ArrayD;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use super::{Module, NnError, Scalar};

/// Metadata key naming what model a file holds.
pub const KIND_KEY: &str = "kind";

/// Saves every parameter of `model` (frozen ones too) with `metadata`, atomically.
pub fn save<F: Scalar>(path: &Path, model: &mut dyn Module<F>, metadata: HashMap<String, String>) -> Result<(), NnError> {
    save_with(path, model, Vec::new(), metadata)
}

/// [`save`] plus `extra` tensors that are not parameters (optimizer moments, carried state).
pub fn save_with<F: Scalar>(
    path: &Path,
    model: &mut dyn Module<F>,
    extra: Vec<(String, ArrayD<F>)>,
    metadata: HashMap<String, String>,
) -> Result<(), NnError> {
    save_arrays(path, &module_arrays(model, extra), metadata)
}

/// Every parameter of `model` by name, then `extra`.
fn module_arrays<F: Scalar>(model: &mut dyn Module<F>, extra: Vec<(String, ArrayD<F>)>) -> Vec<(String, ArrayD<F>)> {
    let mut arrays: Vec<(String, ArrayD<F>)> = Vec::new();
    model.visit("", &mut |name, p| arrays.push((name.to_string(), p.value.to_owned().into_dyn())));
    arrays.extend(extra);
    arrays
}

/// Metadata key of a checkpoint's finished epochs.
const EPOCHS_DONE: &str = "epochs_done";

/// A training checkpoint: [`save_with`] of the model, Adam's moments and step count, and the
/// number of finished epochs, which [`restore_checkpoint`] reads back.
pub fn save_checkpoint<F: Scalar>(
    path: &Path,
    model: &mut dyn Module<F>,
    mut metadata: HashMap<String, String>,
    opt: &super::optim::Adam<F>,
    epochs_done: usize,
) -> Result<(), NnError> {
    let (t, moments) = opt.state();
    metadata.insert("adam_steps".into(), t.to_string());
    save_checkpoint_arrays(path, &module_arrays(model, moments), metadata, epochs_done)
}

/// The checkpoint of a trainer that keeps its state in plain arrays rather than a [`Module`]
/// and Adam (word vectors with their AdaGrad sums): the same file layout and `epochs_done`
/// key as [`save_checkpoint`], written atomically; [`checkpoint_epochs`] reads the count back.
pub fn save_checkpoint_arrays<F: Scalar>(
    path: &Path,
    arrays: &[(String, ArrayD<F>)],
    mut metadata: HashMap<String, String>,
    epochs_done: usize,
) -> Result<(), NnError> {
    metadata.insert(EPOCHS_DONE.into(), epochs_done.to_string());
    save_arrays(path, arrays, metadata)
}

/// Adam's state from a checkpoint written by [`save_checkpoint`] (the caller rebuilds and
/// checks the model from the same [`Weights`]); returns how many epochs it had finished.
pub fn restore_checkpoint<F: Scalar>(w: &Weights, opt: &mut super::optim::Adam<F>) -> Result<usize, NnError> {
    opt.restore(w.meta_parse("adam_steps")?, |name| w.extra(name));
    checkpoint_epochs(w)
}

/// How many epochs a checkpoint had finished.
pub fn checkpoint_epochs(w: &Weights) -> Result<usize, NnError> {
    w.meta_parse(EPOCHS_DONE)
}

/// Saves named arrays that belong to no [`Module`] (word vectors, tables) with `metadata`, atomically.
pub fn save_arrays<F: Scalar>(path: &Path, arrays: &[(String, ArrayD<F>)], metadata: HashMap<String, String>) -> Result<(), NnError> {
    let to_bytes = |a: ndarray::ArrayViewD<F>| -> Vec<u8> { a.iter().flat_map(|v| (v.as_f64() as f32).to_le_bytes()).collect() };
    let named: Vec<(String, Vec<usize>, Vec<u8>)> =
        arrays.iter().map(|(n, a)| (n.clone(), a.shape().to_vec(), to_bytes(a.view()))).collect();
    let views = named
        .iter()
        .map(|(n, shape, bytes)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|v| (n.clone(), v))
                .map_err(|e| NnError::Invalid(format!("tensor {n}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let bytes = safetensors::serialize(views, Some(metadata))
        .map_err(|e| NnError::Invalid(format!("cannot serialise weights: {e}")))?;
    crate::atomic::write_atomic(path, &bytes).map_err(|source| NnError::Io { path: path.to_path_buf(), source })
}

/// A weights file read into memory and validated as safetensors.
#[derive(Debug)]
pub struct Weights {
    path: PathBuf,
    metadata: HashMap<String, String>,
    tensors: HashMap<String, ArrayD<f32>>,
}

impl Weights {
    pub fn read(path: &Path) -> Result<Self, NnError> {
        let bytes = std::fs::read(path).map_err(|source| NnError::Io { path: path.to_path_buf(), source })?;
        Self::parse(path, &bytes)
    }

    /// Parses bytes already in memory (weights embedded in the binary); `path` names them in errors.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self, NnError> {
        let corrupt = |reason: String| NnError::Corrupt { path: path.to_path_buf(), reason };
        let st = SafeTensors::deserialize(bytes).map_err(|e| corrupt(e.to_string()))?;
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| corrupt(e.to_string()))?;
        let metadata = header.metadata().clone().unwrap_or_default();
        let mut tensors = HashMap::new();
        for (name, view) in st.tensors() {
            if view.dtype() != Dtype::F32 {
                return Err(NnError::WrongDtype { path: path.to_path_buf(), name, found: format!("{:?}", view.dtype()) });
            }
            let values: Vec<f32> =
                view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            let array = ArrayD::from_shape_vec(view.shape().to_vec(), values).map_err(|e| corrupt(format!("{name}: {e}")))?;
            tensors.insert(name, array);
        }
        Ok(Self { path: path.to_path_buf(), metadata, tensors })
    }

    /// The file at `path` if one is given, else `shipped`: the bytes of `assets/<name>`
    /// built into the binary, so the shipped models work from any directory.
    pub fn read_or_shipped(path: Option<&Path>, name: &str, shipped: &[u8]) -> Result<Self, NnError> {
        match path {
            Some(p) => Self::read(p),
            None => Self::parse(&Path::new("assets").join(format!("{name} (built in)")), shipped),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Fails unless the file says it holds a model of `kind`.
    pub fn expect_kind(&self, kind: &str) -> Result<(), NnError> {
        let found = self.metadata.get(KIND_KEY).map(String::as_str).unwrap_or("(none)");
        if found != kind {
            return Err(NnError::WrongKind { path: self.path.clone(), expected: kind.into(), found: found.into() });
        }
        Ok(())
    }

    pub fn meta(&self, key: &str) -> Result<&str, NnError> {
        self.metadata.get(key).map(String::as_str).ok_or_else(|| self.bad_meta(key, "missing"))
    }

    pub fn meta_parse<T: FromStr>(&self, key: &str) -> Result<T, NnError>
    where
        T::Err: std::fmt::Display,
    {
        self.meta(key)?.parse().map_err(|e: T::Err| self.bad_meta(key, &e.to_string()))
    }

    /// The metadata entries named in `keys` that the file has (free-form notes a model keeps
    /// beside its configuration, such as the word it was trained for).
    pub fn meta_subset(&self, keys: &[&str]) -> std::collections::HashMap<String, String> {
        keys.iter().filter_map(|&k| self.metadata.get(k).map(|v| (k.to_string(), v.clone()))).collect()
    }

    fn bad_meta(&self, key: &str, reason: &str) -> NnError {
        NnError::BadMetadata { path: self.path.clone(), key: key.into(), reason: reason.into() }
    }

    /// A tensor that is not a model parameter (saved with [`save_with`]).
    pub fn extra<F: Scalar>(&self, name: &str) -> Option<ArrayD<F>> {
        self.tensors.get(name).map(|t| t.mapv(|v| F::of(v as f64)))
    }

    /// Copies the file's tensors into `model`, which must want exactly these names and
    /// shapes; names under `extra_prefixes` belong to [`save_with`]'s extras.
    pub fn load_into<F: Scalar>(&self, model: &mut dyn Module<F>) -> Result<(), NnError> {
        self.load_into_except(model, &[])
    }

    pub fn load_into_except<F: Scalar>(&self, model: &mut dyn Module<F>, extra_prefixes: &[&str]) -> Result<(), NnError> {
        let mut error = None;
        let mut wanted = Vec::new();
        model.visit("", &mut |name, mut p| {
            wanted.push(name.to_string());
            if error.is_some() {
                return;
            }
            match self.tensors.get(name) {
                None => error = Some(NnError::MissingTensor { path: self.path.clone(), name: name.into() }),
                Some(t) if t.shape() != p.value.shape() => {
                    error = Some(NnError::ShapeMismatch {
                        path: self.path.clone(),
                        name: name.into(),
                        expected: p.value.shape().to_vec(),
                        found: t.shape().to_vec(),
                    })
                }
                Some(t) => p.value.zip_mut_with(t, |w, &v| *w = F::of(v as f64)),
            }
        });
        if let Some(e) = error {
            return Err(e);
        }
        let is_extra = |k: &str| extra_prefixes.iter().any(|p| k.starts_with(p));
        if let Some(extra) = self.tensors.keys().find(|k| !wanted.contains(k) && !is_extra(k)) {
            return Err(NnError::UnexpectedTensor { path: self.path.clone(), name: extra.clone() });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Dense, seeded_rng};

    fn meta(kind: &str) -> HashMap<String, String> {
        HashMap::from([(KIND_KEY.to_string(), kind.to_string()), ("hidden".to_string(), "3".to_string())])
    }

    #[test]
    fn round_trip_preserves_values_and_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.safetensors");
        let mut a: Dense<f32> = Dense::new(2, 3, &mut seeded_rng(1));
        save(&path, &mut a, meta("test")).unwrap();
        let w = Weights::read(&path).unwrap();
        w.expect_kind("test").unwrap();
        assert_eq!(w.meta_parse::<usize>("hidden").unwrap(), 3);
        let mut b: Dense<f32> = Dense::new(2, 3, &mut seeded_rng(2));
        w.load_into(&mut b).unwrap();
        assert_eq!(a.w.value, b.w.value);
        assert_eq!(a.b.value, b.b.value);
    }

    #[test]
    fn every_kind_of_bad_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.safetensors");
        let mut a: Dense<f32> = Dense::new(2, 3, &mut seeded_rng(1));
        save(&path, &mut a, meta("test")).unwrap();
        let w = Weights::read(&path).unwrap();
        assert!(matches!(w.expect_kind("other"), Err(NnError::WrongKind { .. })));
        assert!(matches!(w.meta_parse::<usize>("layers"), Err(NnError::BadMetadata { .. })));
        let mut wrong_shape: Dense<f32> = Dense::new(3, 3, &mut seeded_rng(1));
        assert!(matches!(w.load_into(&mut wrong_shape), Err(NnError::ShapeMismatch { .. })));

        let bytes = std::fs::read(&path).unwrap();
        for cut in [0, 7, bytes.len() / 2, bytes.len() - 1] {
            let e = Weights::parse(&path, &bytes[..cut]).unwrap_err();
            assert!(matches!(e, NnError::Corrupt { .. }), "cut at {cut}: {e}");
        }
        let e = Weights::read(&dir.path().join("missing.safetensors")).unwrap_err();
        assert!(e.to_string().contains("missing.safetensors"), "{e}");
    }
}
