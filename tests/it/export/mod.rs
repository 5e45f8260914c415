//! `gatescope export`: the pages it writes, and its bad arguments.

mod errors;
mod pages;
