//! Dinosaur Island end to end on names the test makes.

mod common;

use std::ops::ControlFlow;

use seqlab::models::charlm::{CharLm, TrainConfig};
use seqlab::models::dinos::{self, Split};
use seqlab::nn::Cell;
use seqlab::nn::optim::OptimizerKind;

fn quick(iters: usize) -> TrainConfig {
    let mut cfg = dinos::course_config();
    (cfg.iters, cfg.report_every) = (iters, 100);
    cfg
}

fn model(split: &Split, cfg: &TrainConfig) -> CharLm {
    CharLm::new(dinos::TASK, split.vocab(), cfg.model, cfg.seed).unwrap()
}

/// Training learns: held-out loss per character falls well below the uniform guess ln 27.
#[test]
fn course_training_lowers_validation_loss() {
    let split = Split::new(common::names(), 0);
    let cfg = quick(3000);
    let mut m = model(&split, &cfg);
    let s = dinos::train(&mut m, &split, &cfg, None, &mut |_| ControlFlow::Continue(())).unwrap();
    let uniform = (m.vocab.len() as f32).ln();
    let val = s.val_loss_per_char.unwrap();
    assert!(val < 0.6 * uniform, "validation {val} vs uniform {uniform}");
    let samples = dinos::sample_names(&m, 20, 0.5, 1).unwrap();
    assert!(samples.iter().any(|n| n.ends_with("saurus") || n.ends_with("don") || n.ends_with("ops")), "{samples:?}");
}

/// A run stopped at a checkpoint and resumed ends bit-identical to an uninterrupted run,
/// for the course's SGD (carried state) and for batched Adam (moments in the checkpoint).
#[test]
fn resumed_training_equals_uninterrupted() {
    let split = Split::new(common::names(), 0);
    for (batch, optimizer) in [(1, OptimizerKind::Sgd), (8, OptimizerKind::Adam)] {
        let dir = tempfile::tempdir().unwrap();
        let ckpt = dir.path().join("run.ckpt");
        let mut cfg = quick(300);
        (cfg.batch, cfg.optimizer) = (batch, optimizer);
        let mut straight = model(&split, &cfg);
        dinos::train(&mut straight, &split, &cfg, None, &mut |_| ControlFlow::Continue(())).unwrap();

        let mut first = model(&split, &cfg);
        let mut stop_at_200 = |e| match e {
            seqlab::models::charlm::Event::Report { iter: 200, .. } => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        };
        let s = dinos::train(&mut first, &split, &cfg, Some(&ckpt), &mut stop_at_200).unwrap();
        assert_eq!(s.iters, 200);
        let mut resumed = model(&split, &cfg);
        let s = dinos::train(&mut resumed, &split, &cfg, Some(&ckpt), &mut |_| ControlFlow::Continue(())).unwrap();
        assert_eq!(s.iters, 300);
        assert_eq!(resumed.out.w.value, straight.out.w.value, "batch {batch}");
        assert_eq!(resumed.rnn.layers[0].cell.w_h().value, straight.rnn.layers[0].cell.w_h().value, "batch {batch}");
    }
}

/// A checkpoint from a different model is refused with a message, not silently mixed in.
#[test]
fn mismatched_checkpoint_is_an_error() {
    let split = Split::new(common::names(), 0);
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("run.ckpt");
    let cfg = quick(100);
    dinos::train(&mut model(&split, &cfg), &split, &cfg, Some(&ckpt), &mut |_| ControlFlow::Continue(())).unwrap();
    let mut other = cfg.clone();
    other.model.hidden = 20;
    let e = dinos::train(&mut model(&split, &other), &split, &other, Some(&ckpt), &mut |_| ControlFlow::Continue(()));
    assert!(e.unwrap_err().to_string().contains("different model"));
}

#[test]
fn novelty_counts_new_names() {
    let known = ["tyrannosaurus".to_string()].into_iter().collect();
    assert_eq!(dinos::novelty(&["tyrannosaurus".into(), "newosaurus".into()], &known), 0.5);
}
