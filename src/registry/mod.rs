//! The registry: what the operator approved, kept in a folder meant for git and review (`registry.path`).
//! `lock.json` pins every tool, prompt and resource template each server exposes by a digest over its
//! canonical JSON (RFC 8785), so a changed description or schema — a rug pull — is caught, classified
//! (`drift`) and, with `registry.mode: enforce`, withheld from every caller until it is approved.

pub mod drift;
pub mod entries;
pub mod jcs;
pub mod lock;
pub mod pin;
pub mod pins;
pub mod signature;
