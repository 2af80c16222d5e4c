//! The project's own rules: no import circle between top-level modules,
//! and SECURITY.md naming only tests that exist.

mod module_graph;
mod security_md;
