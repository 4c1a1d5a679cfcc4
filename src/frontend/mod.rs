//! Front ends by language: each turns one source file into the language-neutral facts of
//! [`crate::facts`]. The Rust front end lives in `crate::facts` itself (syn, `facts::extract`); the
//! Python one is [`python`].

pub mod python;
