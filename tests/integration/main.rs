//! Integration tests: all in one binary so they build once (see Cargo.toml).

mod audit;
mod common;
mod content_policy;
mod copy_to;
mod docs;
mod export;
mod faults;
mod first_hour;
mod hardening;
mod hostile;
mod house;
mod inspect;
mod interop;
mod keys_cli;
mod level0;
mod level1;
mod lineage;
mod oms;
mod oms_interop;
mod parsers;
mod precommit;
mod properties;
mod roundtrip;
mod scale;
mod workflow;
