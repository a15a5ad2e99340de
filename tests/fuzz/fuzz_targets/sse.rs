//! The SSE parser, fed the input in chunks whose sizes come from the input's first byte.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| agent_gateway::core::http::sse::fuzz_one(data));
