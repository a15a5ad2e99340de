//! YAML text → a tree that remembers where every value and every mapping key stood, so that later
//! diagnostics can name a line and column. Built on yaml-rust2's marked event parser; scalars are
//! resolved by `scalar`.

use std::collections::HashMap;

use super::scalar;

/// Most values a document may hold once its aliases are expanded. A config has hundreds; without a
/// bound, nine anchors each repeating the previous one nine times (300 bytes) expand to 387 million.
pub const MAX_VALUES: usize = 100_000;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};

use yaml_rust2::scanner::{Marker, TScalarStyle};

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub column: usize,
    /// True for a literal block scalar (`|`), whose lines map 1:1 onto the file's; the ConfigMap wrapper
    /// needs this to map positions inside an embedded document back to the outer file.
    pub literal_block: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Keys in document order; duplicates are kept so the decoder can report them with a field path.
    Map(Vec<(Key, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub line: usize,
    pub column: usize,
}

/// A problem found while reading YAML, before any meaning is given to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Node {
    /// Moves every position in the tree, for a document embedded in another file.
    pub fn shift(&mut self, map: &dyn Fn(usize, usize) -> (usize, usize)) {
        (self.line, self.column) = map(self.line, self.column);
        match &mut self.value {
            Value::Seq(items) => items.iter_mut().for_each(|n| n.shift(map)),
            Value::Map(entries) => {
                for (k, v) in entries {
                    (k.line, k.column) = map(k.line, k.column);
                    v.shift(map);
                }
            }
            _ => {}
        }
    }
}

/// Parses every document of `text`. An empty stream yields no documents.
pub fn parse(text: &str) -> Result<Vec<Node>, Vec<SyntaxError>> {
    let mut builder = Builder::default();
    let result = Parser::new_from_str(text).load(&mut builder, true);
    if let Err(e) = result {
        // A scan error ends parsing; whatever was built is incomplete, so only the errors matter.
        let m = e.marker();
        builder.errors.push(SyntaxError {
            line: m.line(),
            column: m.col() + 1,
            message: format!("YAML syntax error: {}", e.info()),
        });
    }
    if builder.errors.is_empty() {
        Ok(builder.docs)
    } else {
        Err(builder.errors)
    }
}

/// A collection under construction.
enum Frame {
    Seq {
        anchor: usize,
        line: usize,
        column: usize,
        items: Vec<Node>,
        values: usize,
    },
    Map {
        anchor: usize,
        line: usize,
        column: usize,
        entries: Vec<(Key, Node)>,
        key: Option<Key>,
        values: usize,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    docs: Vec<Node>,
    /// Anchored nodes, with how many values each holds.
    anchors: HashMap<usize, (Node, usize)>,
    /// Values in the documents so far, aliases counted expanded.
    values: usize,
    errors: Vec<SyntaxError>,
}

impl Builder {
    fn error(&mut self, line: usize, column: usize, message: String) {
        self.errors.push(SyntaxError {
            line,
            column,
            message,
        });
    }

    /// True when the next scalar is a mapping key rather than a value.
    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }

    /// Hands a finished node holding `values` values to its parent collection (or to the document list).
    fn attach(&mut self, mut node: Node, anchor: usize, values: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, (node.clone(), values));
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq {
                items,
                values: held,
                ..
            }) => {
                *held += values;
                items.push(node)
            }
            Some(Frame::Map {
                entries,
                key,
                values: held,
                ..
            }) => match key.take() {
                Some(k) => {
                    // `key:` with nothing after it: the parser places the empty value at the next token,
                    // often on a later line; the key's own position is what a reader expects.
                    if node.value == Value::Null && node.line > k.line {
                        (node.line, node.column) = (k.line, k.column);
                    }
                    *held += values;
                    entries.push((k, node));
                }
                None => {
                    let (line, column) = (node.line, node.column);
                    self.error(
                        line,
                        column,
                        "mapping keys must be plain strings, not lists or mappings".into(),
                    );
                    // Keep the structure consistent: the value that follows is dropped under a dummy key.
                    if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                        *key = Some(Key {
                            name: String::new(),
                            line,
                            column,
                        });
                    }
                }
            },
        }
    }

    fn scalar(
        &mut self,
        text: String,
        style: TScalarStyle,
        anchor: usize,
        tag: Option<Tag>,
        line: usize,
        column: usize,
    ) {
        if self.expecting_key() {
            if tag.is_some() {
                self.error(
                    line,
                    column,
                    format!("tags on mapping keys are not supported (key \"{text}\")"),
                );
            }
            if text == "<<" && style == TScalarStyle::Plain {
                self.error(
                    line,
                    column,
                    "merge keys (`<<`) are not supported; repeat the fields instead".into(),
                );
            }
            if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                *key = Some(Key {
                    name: text,
                    line,
                    column,
                });
            }
            return;
        }
        let literal_block = style == TScalarStyle::Literal;
        let value = match tag {
            None if style == TScalarStyle::Plain => scalar::resolve_plain(&text),
            None => Value::Str(text),
            Some(tag) => match scalar::tagged(&text, style == TScalarStyle::Plain, &tag) {
                Ok(v) => v,
                Err(msg) => {
                    self.error(line, column, msg);
                    Value::Null
                }
            },
        };
        self.values += 1;
        self.attach(
            Node {
                value,
                line,
                column,
                literal_block,
            },
            anchor,
            1,
        );
    }

    fn close(&mut self, closing_map: bool) {
        let node = match self.stack.pop() {
            Some(Frame::Seq {
                anchor,
                line,
                column,
                items,
                values,
            }) if !closing_map => (
                Node {
                    value: Value::Seq(items),
                    line,
                    column,
                    literal_block: false,
                },
                anchor,
                values,
            ),
            Some(Frame::Map {
                anchor,
                line,
                column,
                entries,
                values,
                ..
            }) if closing_map => {
                // A block mapping's start marker sits after its first key; a flow mapping's sits on `{`.
                // The earlier of the two is where the mapping visibly begins.
                let (line, column) = match entries.first() {
                    Some((k, _)) if (k.line, k.column) < (line, column) => (k.line, k.column),
                    _ => (line, column),
                };
                (
                    Node {
                        value: Value::Map(entries),
                        line,
                        column,
                        literal_block: false,
                    },
                    anchor,
                    values,
                )
            }
            _ => return, // unbalanced events cannot come from yaml-rust2; nothing sensible to do
        };
        self.attach(node.0, node.1, node.2);
    }

    fn check_collection_tag(
        &mut self,
        tag: Option<Tag>,
        expected: &str,
        line: usize,
        column: usize,
    ) {
        if let Some(tag) = tag {
            let name = scalar::tag_name(&tag);
            if name != expected {
                self.error(line, column, format!("tag `{name}` is not supported here"));
            }
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let (line, column) = (mark.line(), mark.col() + 1);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                self.scalar(text, style, anchor, tag, line, column)
            }
            Event::SequenceStart(anchor, tag) => {
                self.check_collection_tag(tag, "!!seq", line, column);
                self.values += 1;
                self.stack.push(Frame::Seq {
                    anchor,
                    line,
                    column,
                    items: Vec::new(),
                    values: 1,
                });
            }
            Event::MappingStart(anchor, tag) => {
                self.check_collection_tag(tag, "!!map", line, column);
                self.values += 1;
                self.stack.push(Frame::Map {
                    anchor,
                    line,
                    column,
                    entries: Vec::new(),
                    key: None,
                    values: 1,
                });
            }
            Event::SequenceEnd => self.close(false),
            Event::MappingEnd => self.close(true),
            Event::Alias(id) => {
                // An alias repeats the anchored node; positions stay those of the anchor, where the text is.
                match self.anchors.get(&id) {
                    Some((_, values)) if self.values + values > MAX_VALUES => {
                        let message = format!(
                            "the document holds more than {MAX_VALUES} values once its aliases are expanded; write the values out instead"
                        );
                        self.error(line, column, message);
                        // Keep the structure consistent without expanding anything more.
                        self.attach(
                            Node {
                                value: Value::Null,
                                line,
                                column,
                                literal_block: false,
                            },
                            0,
                            1,
                        );
                    }
                    Some((node, values)) if !self.expecting_key() => {
                        let (node, values) = (node.clone(), *values);
                        self.values += values;
                        self.attach(node, 0, values);
                    }
                    Some(_) => self.error(
                        line,
                        column,
                        "aliases as mapping keys are not supported".into(),
                    ),
                    None => self.error(line, column, "alias to an unknown anchor".into()),
                }
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {
                if matches!(ev, Event::DocumentStart) {
                    // Anchors do not cross documents.
                    self.anchors.clear();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alias_bomb_is_refused_without_being_expanded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(text.len() < 700, "{}", text.len());
        let errors = parse(&text).unwrap_err();
        assert!(
            errors[0].message.contains("once its aliases are expanded"),
            "{errors:?}"
        );
        // Aliases within the budget still expand.
        let doc = one("a: &x {k: 1}\nb: *x\n");
        let Value::Map(entries) = doc.value else {
            panic!()
        };
        assert_eq!(entries[0].1.value, entries[1].1.value);
    }

    fn one(text: &str) -> Node {
        let mut docs = parse(text).expect("parses");
        assert_eq!(docs.len(), 1);
        docs.remove(0)
    }

    fn map(node: &Node) -> &[(Key, Node)] {
        match &node.value {
            Value::Map(m) => m,
            other => panic!("not a map: {other:?}"),
        }
    }

    #[test]
    fn positions_of_keys_and_values() {
        let doc = one("a: 1\nb:\n  - x: y\n    z: [1, 2]\n");
        assert_eq!((doc.line, doc.column), (1, 1));
        let m = map(&doc);
        assert_eq!(
            m[0].0,
            Key {
                name: "a".into(),
                line: 1,
                column: 1
            }
        );
        assert_eq!(
            (m[0].1.line, m[0].1.column, &m[0].1.value),
            (1, 4, &Value::Int(1))
        );
        let Value::Seq(items) = &m[1].1.value else {
            panic!()
        };
        // The item mapping starts at its first key, not at the parser's marker after it.
        assert_eq!((items[0].line, items[0].column), (3, 5));
        let inner = map(&items[0]);
        assert_eq!((inner[1].0.line, inner[1].0.column), (4, 5));
        assert_eq!((inner[1].1.line, inner[1].1.column), (4, 8));
    }

    #[test]
    fn quoted_and_block_scalars_stay_strings() {
        let doc = one("a: \"1\"\nb: 'true'\nc: >\n  300\n");
        let vals: Vec<&Value> = map(&doc).iter().map(|(_, v)| &v.value).collect();
        assert_eq!(
            vals,
            [
                &Value::Str("1".into()),
                &Value::Str("true".into()),
                &Value::Str("300\n".into())
            ]
        );
    }

    #[test]
    fn empty_value_sits_on_its_key() {
        let doc = one("a:\nb: 2\n");
        let m = map(&doc);
        assert_eq!(
            (m[0].1.line, m[0].1.column, &m[0].1.value),
            (1, 1, &Value::Null)
        );
    }

    #[test]
    fn literal_block_is_marked() {
        let doc = one("k: |\n  line\n");
        let v = &map(&doc)[0].1;
        assert!(v.literal_block);
        assert_eq!(v.value, Value::Str("line\n".into()));
    }

    #[test]
    fn syntax_error_has_position() {
        let errs = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!((errs[0].line, errs[0].column), (2, 2));
        assert!(
            errs[0].message.starts_with("YAML syntax error: "),
            "{}",
            errs[0].message
        );
    }

    #[test]
    fn aliases_repeat_the_anchored_node() {
        let doc = one("a: &x [1]\nb: *x\n");
        let m = map(&doc);
        assert_eq!(
            m[1].1.value,
            Value::Seq(vec![Node {
                value: Value::Int(1),
                line: 1,
                column: 8,
                literal_block: false
            }])
        );
    }

    #[test]
    fn unsupported_features_are_refused() {
        let errs = parse("a: !custom 5\n<<: {b: 1}\n").unwrap_err();
        let msgs: Vec<_> = errs
            .iter()
            .map(|e| (e.line, e.column, e.message.as_str()))
            .collect();
        assert_eq!(
            msgs,
            vec![
                // yaml-rust2 places a tagged scalar at its text, after the tag.
                (
                    1,
                    12,
                    "tag `!custom` is not supported (only !!str, !!int, !!float, !!bool, !!null)"
                ),
                (
                    2,
                    1,
                    "merge keys (`<<`) are not supported; repeat the fields instead"
                ),
            ]
        );
        assert_eq!(
            parse("a: !!int x\n").unwrap_err()[0].message,
            "`!!int x`: the value is not an integer"
        );
        assert_eq!(
            one("a: !!str 5\n").value,
            Value::Map(vec![(
                Key {
                    name: "a".into(),
                    line: 1,
                    column: 1
                },
                Node {
                    value: Value::Str("5".into()),
                    line: 1,
                    column: 10,
                    literal_block: false
                }
            )])
        );
    }

    #[test]
    fn documents_and_empty_stream() {
        assert_eq!(parse("").unwrap().len(), 0);
        assert_eq!(parse("# only a comment\n").unwrap().len(), 0);
        assert_eq!(parse("---\na: 1\n---\nb: 2\n").unwrap().len(), 2);
    }
}
