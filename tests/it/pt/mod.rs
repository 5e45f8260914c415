//! PyTorch `.pt` files: read as PyTorch reads them, and on hostile bytes.

mod fuzz;
mod reference;
