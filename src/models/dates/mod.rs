//! Dates: human-written dates to ISO 8601 with the course's attention model.

pub mod model;
