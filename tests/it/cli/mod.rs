//! `generate` (and `--beam`), `info`, `eval` and `score` as a user runs them, and what a hostile
//! user tries on the command line.

mod beam;
mod generate;
mod hardening;
mod score;
mod signals_and_paths;
