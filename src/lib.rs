pub mod atomic;
pub mod nn;
