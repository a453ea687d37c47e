//! Date translation (the course's neural machine translation lab): human dates to ISO 8601.

pub mod data;
