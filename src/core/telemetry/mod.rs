//! Telemetry: Prometheus metrics and their listener, OpenTelemetry traces and the access log (issue 4).
//!
//! The request path reports events through `metrics` (one function per event); `server::serve_metrics`
//! exposes them on the metrics port. `docs/metrics.md` documents every family.
//!
//! `tracing` makes the server and client spans, exports them over OTLP/gRPC, carries W3C trace context to
//! upstreams and writes the access log (one line per request, target `access`).

mod families;
pub mod json_lines;
pub mod labels;
pub mod metrics;
pub mod server;
pub mod tracing;

#[cfg(test)]
mod docs_check;

pub use server::serve_metrics;
