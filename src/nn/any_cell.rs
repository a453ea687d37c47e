//! A cell whose kind is chosen at run time (`--cell rnn|lstm|gru`, or read from a weights
//! file), so models hold one concrete type instead of being generic over the cell.

use std::fmt;
use std::str::FromStr;

use ndarray::{Array2, ArrayView2, Ix1, Ix2};

use super::cell::{Cell, State};
use super::gru::GruCache;
use super::lstm::LstmCache;
use super::param::{Module, Param, ParamMut};
use super::rnn::RnnCache;
use super::{Gru, Lstm, NnError, Rnn, Scalar};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellKind {
    Rnn,
    Lstm,
    Gru,
}

impl fmt::Display for CellKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CellKind::Rnn => "rnn",
            CellKind::Lstm => "lstm",
            CellKind::Gru => "gru",
        })
    }
}

impl FromStr for CellKind {
    type Err = NnError;
    fn from_str(s: &str) -> Result<Self, NnError> {
        match s {
            "rnn" => Ok(CellKind::Rnn),
            "lstm" => Ok(CellKind::Lstm),
            "gru" => Ok(CellKind::Gru),
            other => Err(NnError::Invalid(format!("unknown cell '{other}' (expected rnn, lstm or gru)"))),
        }
    }
}

#[derive(Clone, Debug)]
pub enum AnyCell<F: Scalar> {
    Rnn(Rnn<F>),
    Lstm(Lstm<F>),
    Gru(Gru<F>),
}

pub enum AnyCache<F> {
    Rnn(RnnCache<F>),
    Lstm(LstmCache<F>),
    Gru(GruCache<F>),
}

impl<F: Scalar> AnyCell<F> {
    pub fn new(kind: CellKind, input: usize, hidden: usize, rng: &mut impl rand::Rng) -> Self {
        match kind {
            CellKind::Rnn => AnyCell::Rnn(Rnn::new(input, hidden, rng)),
            CellKind::Lstm => AnyCell::Lstm(Lstm::new(input, hidden, rng)),
            CellKind::Gru => AnyCell::Gru(Gru::new(input, hidden, rng)),
        }
    }

    pub fn kind(&self) -> CellKind {
        match self {
            AnyCell::Rnn(_) => CellKind::Rnn,
            AnyCell::Lstm(_) => CellKind::Lstm,
            AnyCell::Gru(_) => CellKind::Gru,
        }
    }
}

/// Forwards a call to whichever cell this is.
macro_rules! each {
    ($self:expr, $c:ident => $e:expr) => {
        match $self {
            AnyCell::Rnn($c) => $e,
            AnyCell::Lstm($c) => $e,
            AnyCell::Gru($c) => $e,
        }
    };
}

impl<F: Scalar> Cell<F> for AnyCell<F> {
    type Cache = AnyCache<F>;

    fn has_cell(&self) -> bool {
        each!(self, c => c.has_cell())
    }
    fn w_x(&self) -> &Param<F, Ix2> {
        each!(self, c => c.w_x())
    }
    fn w_x_mut(&mut self) -> &mut Param<F, Ix2> {
        each!(self, c => c.w_x_mut())
    }
    fn w_h(&self) -> &Param<F, Ix2> {
        each!(self, c => c.w_h())
    }
    fn b(&self) -> &Param<F, Ix1> {
        each!(self, c => c.b())
    }

    fn step_projected(&self, xp: ArrayView2<F>, state: &State<F>) -> (State<F>, AnyCache<F>) {
        match self {
            AnyCell::Rnn(c) => {
                let (s, k) = c.step_projected(xp, state);
                (s, AnyCache::Rnn(k))
            }
            AnyCell::Lstm(c) => {
                let (s, k) = c.step_projected(xp, state);
                (s, AnyCache::Lstm(k))
            }
            AnyCell::Gru(c) => {
                let (s, k) = c.step_projected(xp, state);
                (s, AnyCache::Gru(k))
            }
        }
    }

    fn backward_projected(&mut self, cache: &AnyCache<F>, d: &State<F>) -> (Array2<F>, State<F>) {
        match (self, cache) {
            (AnyCell::Rnn(c), AnyCache::Rnn(k)) => c.backward_projected(k, d),
            (AnyCell::Lstm(c), AnyCache::Lstm(k)) => c.backward_projected(k, d),
            (AnyCell::Gru(c), AnyCache::Gru(k)) => c.backward_projected(k, d),
            _ => unreachable!("a cache is only ever made by the same cell's step"),
        }
    }
}

impl<F: Scalar> Module<F> for AnyCell<F> {
    fn visit(&mut self, prefix: &str, f: &mut dyn FnMut(&str, ParamMut<'_, F>)) {
        each!(self, c => c.visit(prefix, f))
    }
}
