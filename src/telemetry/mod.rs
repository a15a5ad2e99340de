//! Telemetry: Prometheus metrics and their listener. Traces and the access log come later (issue 4).
//!
//! The request path reports events through `metrics` (one function per event); `server::serve_metrics`
//! exposes them on the metrics port. `docs/metrics.md` documents every family.
//!
//! `tracing.rs` (OTLP export) is a sketch, not declared below: it needs the OpenTelemetry crates its header
//! names. It compiles against them (opentelemetry 0.33, tracing-opentelemetry 0.34).

mod families;
pub mod labels;
pub mod metrics;
pub mod server;

#[cfg(test)]
mod docs_check;

pub use server::serve_metrics;
