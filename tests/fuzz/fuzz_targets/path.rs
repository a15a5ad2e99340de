//! The request-path check on arbitrary paths.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| agent_gateway::core::http::path::fuzz_one(data));
