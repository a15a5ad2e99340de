//! The adversarial suite: hostile upstreams (`upstreams`, on raw sockets in `raw_upstream`) and hostile
//! clients (`clients`) against the gateway binary. Every test runs its attack in an [`arena::Arena`] and
//! asserts three things besides the attack's own answers: the attack is over within a bound, the
//! gateway's RSS (from `/proc`) grew at most a budget, and a healthy route on the same listener kept its
//! latency. Tests take turns, so each measures its own attack alone. `docs/security.md` maps each attack
//! to its defence.

#[path = "../common/mod.rs"]
mod common;

mod arena;
mod clients;
mod raw_upstream;
mod upstreams;
