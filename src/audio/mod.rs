//! Sound devices. Used by the front ends only; models and music code never touch a device.

pub mod play;
