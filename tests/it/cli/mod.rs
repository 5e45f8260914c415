//! `generate`, `info` and `eval` as a user runs them, and what a hostile
//! user tries on the command line.

mod generate;
mod hardening;
mod signals_and_paths;
