//! The grader for the systems-programming exercises: runs a submission the way a person at a
//! terminal would, watches every process it makes, and reports what is right and wrong.

pub mod batch;
pub mod bench;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod exercises;
pub mod grade;
pub mod grading;
pub mod i18n;
pub mod net;
pub mod report;
pub mod submission;
pub mod supervise;
pub mod text;
