//! Property tests of what parses untrusted bytes, through the crate's public API: the SSE parser, sealed
//! ids, request paths, the forwarded-origin helper and the config reader. Each property holds for any
//! input proptest generates (256 cases each, in the normal test run); a failing case is shrunk and
//! printed, and belongs in a unit test afterwards.

use agent_gateway::core::http::{path, sse};
use agent_gateway::core::seal::Sealer;
use proptest::collection::vec;
use proptest::prelude::*;

/// SSE text from events with arbitrary data lines (no CR or LF inside a line).
fn sse_stream() -> impl Strategy<Value = (Vec<String>, String)> {
    vec(vec("[^\r\n]{0,40}", 1..4), 0..8).prop_map(|events| {
        let datas: Vec<String> = events.iter().map(|lines| lines.join("\n")).collect();
        let text: String = datas.iter().map(|d| sse::encode(None, None, d)).collect();
        (datas, text)
    })
}

proptest! {
    /// However a stream is cut into chunks, the parser yields the same events, each as encoded.
    #[test]
    fn sse_events_do_not_depend_on_chunking((datas, text) in sse_stream(), cuts in vec(any::<usize>(), 0..12)) {
        let bytes = text.as_bytes();
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut parser = sse::Parser::new(1 << 20);
        let mut got = Vec::new();
        let mut from = 0;
        for to in points.into_iter().chain([bytes.len()]) {
            got.extend(parser.push(&bytes[from..to]).unwrap());
            from = to;
        }
        let got: Vec<String> = got.into_iter().map(|e| e.data).collect();
        prop_assert_eq!(got, datas);
    }

    /// Arbitrary bytes never panic the parser, and an event past the bound is refused, not buffered.
    #[test]
    fn sse_parser_takes_any_bytes(chunks in vec(vec(any::<u8>(), 0..200), 0..20)) {
        let mut parser = sse::Parser::new(512);
        for chunk in &chunks {
            if let Ok(events) = parser.push(chunk) {
                for event in events {
                    prop_assert!(event.data.len() <= 512);
                }
            }
        }
    }

    /// A sealed id opens to what was sealed, under its purpose only; any change to it is refused.
    #[test]
    fn sealed_ids_open_only_untouched(claims in vec(any::<u32>(), 0..16), at in any::<usize>(), bit in 0u8..6) {
        let sealer = Sealer::generate();
        let token = sealer.seal("test", &claims);
        prop_assert_eq!(sealer.open::<Vec<u32>>("test", &token).unwrap(), claims.clone());
        prop_assert!(sealer.open::<Vec<u32>>("other", &token).is_err());
        let mut bytes = token.into_bytes();
        let i = at % bytes.len();
        // Flip one bit of one base64 character, staying within the alphabet's ASCII range.
        bytes[i] ^= 1 << bit;
        if let Ok(tampered) = String::from_utf8(bytes) {
            let opened = sealer.open::<Vec<u32>>("test", &tampered);
            prop_assert!(opened.is_err() || opened.unwrap() == claims);
        }
    }

    /// A path that passes has no segment a normalising peer could read as `.` or `..`, however encoded.
    #[test]
    fn passing_paths_have_no_dot_segments(segments in vec(prop_oneof!["[a-z]{1,6}", Just("..".to_string()), Just("%2e".to_string()), Just("%2E%2e".to_string()), Just(".%2e".to_string()), Just("%2f".to_string()), Just(".".to_string())], 1..6)) {
        let candidate = format!("/agents/{}", segments.join("/"));
        let decoded_dots = segments.iter().any(|s| {
            let d = s.to_ascii_lowercase().replace("%2e", ".");
            d == "." || d == ".." || s.to_ascii_lowercase().contains("%2f")
        });
        prop_assert_eq!(path::ambiguity(&candidate).is_some(), decoded_dots, "{}", candidate);
    }

    /// Any text as a config is read without a panic: a config or a list of diagnostics.
    #[test]
    fn the_config_reader_takes_any_text(text in "\\PC{0,300}") {
        let _ = agent_gateway::config::load_str(&text, "fuzz.yaml");
    }

    /// Any YAML built from anchors and aliases is read within its budget, however it nests.
    #[test]
    fn aliases_never_expand_past_the_budget(fanout in 1usize..12, depth in 1usize..12) {
        let mut text = format!("a0: &a0 [{}]\n", vec!["x"; fanout].join(", "));
        for i in 1..depth {
            let refs = vec![format!("*a{}", i - 1); fanout].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let _ = agent_gateway::config::load_str(&text, "aliases.yaml");
    }
}
