//! Opening arbitrary text as a sealed id.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| agent_gateway::core::seal::fuzz_one(data));
