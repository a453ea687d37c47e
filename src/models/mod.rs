//! One module per lab. Models use `nn` and plain data; they never touch the GUI or audio,
//! and report progress through callbacks so any front end can draw it.

pub mod charlm;
pub mod data;
pub mod dates;
pub mod dinos;
pub mod emojify;
pub mod error;
pub mod jazz;
pub mod text;
pub mod trigger;
pub mod vocab;
pub mod words;

pub use error::ModelError;
