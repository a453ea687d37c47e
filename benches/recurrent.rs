//! Speed of the recurrent core: one LSTM/GRU step forward+backward at hidden 64 and 128
//! (batch 1, as in streaming and the course), and one Dinosaur training iteration.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::Array2;
use seqlab::models::charlm::CharLm;
use seqlab::models::dinos::{self, Split};
use seqlab::nn::optim::{Optimizer, Sgd, clip_by_value};
use seqlab::nn::recurrent::NO_TOKEN;
use seqlab::nn::{Cell, Gru, Lstm, Module, seeded_rng};

fn step_fwd_bwd<C: Cell<f32>>(c: &mut Criterion, name: &str, make: impl Fn(usize) -> C) {
    for hidden in [64, 128] {
        let mut cell = make(hidden);
        let x = Array2::from_elem((1, 32), 0.1f32);
        let s0 = cell.zero_state(1);
        let mut d = cell.zero_state(1);
        d.h.fill(0.01);
        c.bench_function(&format!("{name} step fwd+bwd, in 32, hidden {hidden}"), |b| {
            b.iter(|| {
                let (s, cache) = cell.step(x.view(), &s0);
                black_box(cell.step_backward(x.view(), &cache, &d));
                black_box(s);
            })
        });
    }
}

fn cells(c: &mut Criterion) {
    step_fwd_bwd(c, "LSTM", |h| Lstm::new(32, h, &mut seeded_rng(0)));
    step_fwd_bwd(c, "GRU", |h| Gru::new(32, h, &mut seeded_rng(0)));
}

/// One course iteration: forward and backward through one 12-letter name, clip, SGD,
/// carrying the state (the body of `dinos::train` at batch 1).
fn dinos_iteration(c: &mut Criterion) {
    let split = Split::new(vec!["brachiosaurus".into(), "stegosaurus".into()], 0);
    let cfg = dinos::course_config();
    let mut model = CharLm::new(dinos::TASK, split.vocab(), cfg.model, 0).expect("model");
    let ids = model.vocab.encode("brachiosaurus").expect("known characters");
    let inputs = Array2::from_shape_fn((ids.len() + 1, 1), |(t, _)| if t == 0 { NO_TOKEN } else { ids[t - 1] });
    let targets = Array2::from_shape_fn((ids.len() + 1, 1), |(t, _)| ids.get(t).copied().unwrap_or(0));
    let mut carry = model.zero_states(1);
    let mut sgd = Sgd { lr: cfg.lr };
    c.bench_function("dinos course iteration (rnn 50, 13-letter name)", |b| {
        b.iter(|| {
            model.zero_grad();
            let (loss, finals) = model.run(inputs.view(), targets.view(), None, &carry, true).expect("run");
            carry = finals;
            clip_by_value(&mut model, cfg.clip);
            sgd.step(&mut model);
            black_box(loss)
        })
    });
}

criterion_group!(benches, cells, dinos_iteration);
criterion_main!(benches);
