//! The config reader (YAML, then decoding with diagnostics) on arbitrary text.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| agent_gateway::config::fuzz_one(data));
