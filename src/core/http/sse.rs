//! Server-Sent Events: an incremental parser for upstream streams and the encoder for our own.

/// One event of a stream. `data` lines are joined with `\n` as the SSE spec says.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Event {
    pub event: Option<String>,
    pub data: String,
    pub id: Option<String>,
}

/// Feeds bytes as they arrive and yields complete events; bounded so a stream that never ends an event
/// cannot grow memory without limit. Linear in the bytes fed, however they are chunked: each byte is
/// examined once for an event boundary (plus the three before a chunk's start, where a boundary may
/// straddle two chunks), and the buffer is compacted only when most of it is consumed.
#[derive(Default)]
pub struct Parser {
    buf: Vec<u8>,
    /// Where the next event starts.
    start: usize,
    /// How far the buffer has been searched for an event boundary.
    scanned: usize,
    max_event: usize,
    /// Bytes examined for boundaries, for the linearity test.
    #[cfg(test)]
    examined: usize,
}

#[derive(Debug, PartialEq)]
pub struct TooLarge;

impl Parser {
    pub fn new(max_event: usize) -> Parser {
        Parser {
            max_event,
            ..Parser::default()
        }
    }

    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Event>, TooLarge> {
        // Grow by doubling, but not past what one event may take plus this chunk: an event at the limit
        // must not leave a buffer twice the limit's size.
        let needed = self.buf.len() + chunk.len();
        if needed > self.buf.capacity() {
            let most = self.start + self.max_event + chunk.len();
            let target = (self.buf.capacity() * 2).min(most).max(needed);
            self.buf.reserve_exact(target - self.buf.len());
        }
        self.buf.extend_from_slice(chunk);
        let mut events = Vec::new();
        loop {
            // A boundary may have begun in the previous chunk: look back at most 3 bytes.
            let from = self.scanned.saturating_sub(3).max(self.start);
            let found = find_blank_line(&self.buf[from..]);
            #[cfg(test)]
            {
                self.examined += found.map_or(self.buf.len() - from, |(at, _)| at + 1);
            }
            match found {
                Some((at, separator)) => {
                    let end = from + at;
                    if let Some(event) = parse_block(&self.buf[self.start..end]) {
                        events.push(event);
                    }
                    self.start = end + separator;
                    self.scanned = self.start;
                }
                None => {
                    self.scanned = self.buf.len();
                    break;
                }
            }
        }
        if self.buf.len() - self.start > self.max_event {
            return Err(TooLarge);
        }
        // Compact once the consumed part is at least half: amortised O(1) per byte.
        if self.start == self.buf.len() {
            self.buf.clear();
            (self.start, self.scanned) = (0, 0);
        } else if self.start > self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        Ok(events)
    }
}

/// The first event boundary in `buf`: its offset and the separator's length.
fn find_blank_line(buf: &[u8]) -> Option<(usize, usize)> {
    // Only a line end can start a boundary: jump between them (vectorised), not byte by byte, so a
    // hostile upstream's megabytes of one event cost a scan at memory speed.
    memchr::memchr2_iter(b'\n', b'\r', buf).find_map(|i| {
        let rest = &buf[i..];
        if rest.starts_with(b"\r\n\r\n") {
            Some((i, 4))
        } else if rest.starts_with(b"\n\n") || rest.starts_with(b"\r\r") {
            Some((i, 2))
        } else {
            None
        }
    })
}

fn parse_block(block: &[u8]) -> Option<Event> {
    let text = String::from_utf8_lossy(block);
    let mut event = Event::default();
    let mut has_data = false;
    for line in text.split(['\n', '\r']) {
        if line.is_empty() || line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "event" => event.event = Some(value.to_string()),
            "id" => event.id = Some(value.to_string()),
            "data" => {
                if has_data {
                    event.data.push('\n');
                }
                event.data.push_str(value);
                has_data = true;
            }
            _ => {}
        }
    }
    (has_data || event.event.is_some()).then_some(event)
}

/// Encodes one event; multi-line data becomes several `data:` lines.
pub fn encode(event: Option<&str>, id: Option<&str>, data: &str) -> String {
    let mut out = String::with_capacity(data.len() + 32);
    if let Some(event) = event {
        out.push_str("event: ");
        out.push_str(event);
        out.push('\n');
    }
    if let Some(id) = id {
        out.push_str("id: ");
        out.push_str(id);
        out.push('\n');
    }
    for line in data.split('\n') {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out
}

/// One fuzz case (`tests/fuzz`, and the replay of its findings): the input fed in chunks sized by its
/// first byte must give the events it gives fed whole, and none past the bound.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    let Some((&size, stream)) = data.split_first() else {
        return;
    };
    let whole = Parser::new(4096).push(stream);
    let mut parser = Parser::new(4096);
    let mut chunked = Ok(Vec::new());
    for chunk in stream.chunks(usize::from(size).max(1)) {
        match (&mut chunked, parser.push(chunk)) {
            (Ok(events), Ok(more)) => events.extend(more),
            (_, Err(e)) => {
                chunked = Err(e);
                break;
            }
            (Err(_), _) => break,
        }
    }
    if let (Ok(whole), Ok(chunked)) = (&whole, &chunked) {
        assert_eq!(whole, chunked, "chunking changed the events");
        assert!(whole.iter().all(|e| e.data.len() <= 4096));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_near_the_limit_leaves_no_buffer_twice_its_size() {
        let limit = 1 << 20;
        let mut parser = Parser::new(limit);
        parser.push(b"data: ").unwrap();
        for _ in 0..(limit / 4096 - 1) {
            parser.push(&[b'x'; 4096]).unwrap();
        }
        assert!(
            parser.buf.capacity() <= limit + 4096 + 6,
            "{}",
            parser.buf.capacity()
        );
        assert!(parser.push(&[b'x'; 8192]).is_err());
    }

    #[test]
    fn parses_events_split_across_chunks() {
        let mut p = Parser::new(1024);
        assert!(p.push(b"event: message\nda").unwrap().is_empty());
        let events = p
            .push(b"ta: {\"a\":1}\nid: 7\n\n: keepalive\n\ndata: x\r\n\r\n")
            .unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[0],
            Event {
                event: Some("message".into()),
                data: "{\"a\":1}".into(),
                id: Some("7".into())
            }
        );
        assert_eq!(events[1].data, "x");
    }

    #[test]
    fn joins_multiline_data_and_round_trips_the_encoder() {
        let mut p = Parser::new(1024);
        let events = p
            .push(encode(Some("endpoint"), None, "a\nb").as_bytes())
            .unwrap();
        assert_eq!(events[0].data, "a\nb");
        assert_eq!(events[0].event.as_deref(), Some("endpoint"));
    }

    #[test]
    fn the_work_is_linear_in_the_bytes_however_they_are_chunked() {
        // One 1 MB event in 100-byte chunks, then many small events in one chunk.
        let mut p = Parser::new(2 << 20);
        let data = format!("data: {}\n\n", "x".repeat(1 << 20));
        let mut events = 0;
        for chunk in data.as_bytes().chunks(100) {
            events += p.push(chunk).unwrap().len();
        }
        assert_eq!(events, 1);
        let small = "data: y\n\n".repeat(10_000);
        assert_eq!(p.push(small.as_bytes()).unwrap().len(), 10_000);
        let fed = data.len() + small.len();
        // Each chunk re-examines at most 3 bytes of the one before.
        assert!(
            p.examined <= fed + 3 * (data.len() / 100 + 2),
            "examined {} bytes for {fed} fed",
            p.examined
        );
    }

    #[test]
    fn a_separator_split_across_chunks_is_found() {
        let mut p = Parser::new(1024);
        assert!(p.push(b"data: a\r\n\r").unwrap().is_empty());
        assert_eq!(p.push(b"\ndata: b\n").unwrap()[0].data, "a");
        assert_eq!(p.push(b"\n").unwrap()[0].data, "b");
    }

    #[test]
    fn bounds_an_event_that_never_ends() {
        let mut p = Parser::new(16);
        assert_eq!(p.push(&[b'x'; 64]), Err(TooLarge));
    }
}
