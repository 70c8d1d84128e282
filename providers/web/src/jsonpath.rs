//! Kubernetes JSONPath (`k8s.io/client-go/util/jsonpath`), as Argo's web provider uses it:
//! a template of text and `{…}` actions, evaluated against a document decoded into Go
//! `any`, with `AllowMissingKeys(false)` (a missing key is an error).
//!
//! This is a port of the parser and evaluator, not a translation to RFC 9535: the two
//! disagree on missing keys (error vs. empty), out-of-range indices (error vs. empty),
//! filter typing (`@.v == 1` compares a `float64` with an `int` and fails in Go), text
//! outside braces, `range`/`end`, and the exact error messages, all of which surface in
//! Argo measurements.
//!
//! Supported: `$`/`@` (no-ops), `.field` (with `\` escapes), `['key']`, `[i]`, `[-i]`,
//! `[a:b:c]`, `[*]`, unions `[0,2]` / `['a','b']`, `.*`, `..` recursive descent,
//! filters `[?(@.x == "s")]` with `== != < > <= >= =~` and existence `[?(@.x)]`, number,
//! `true`/`false` and quoted-string literals, `{range …}…{end}`, and literal text.
//!
//! Known differences from Go:
//! * Go iterates maps in random order for `*` and `..`; keys are visited sorted here.
//! * `=~` uses the `regex` crate (RE2-like syntax, nearly Go's `regexp`); the error text
//!   for an invalid pattern differs.
//! * Where Go would panic (a path applied to a top-level `null` body, e.g. `{$}` on
//!   `null`), this yields `null` or an error instead.
//! * Evaluation is capped at [`WORK_LIMIT`] produced values (Go has no cap; nested
//!   `range`s can be exponential).

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use augur_provider_api::gofmt::{go_float_v, go_quote, go_sharp_v, go_v, number_f64, sorted_entries};

/// Upper bound on the values one evaluation may produce.
pub(crate) const WORK_LIMIT: usize = 10_000_000;

static DICT_KEY: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^'([^']*)'$").ok());
static SLICE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^(-?[0-9]*)(:-?[0-9]*)?(:-?[0-9]*)?$").ok());
static FILTER: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^([^!<>=]+)([!<>=~]+)(.+?)$").ok());

fn regex(re: &LazyLock<Option<Regex>>) -> Result<&Regex, String> {
    re.as_ref().ok_or_else(|| "internal error: jsonpath pattern failed to compile".to_string())
}

/// One start/end/step entry of an array subscript.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Param {
    value: i64,
    known: bool,
    derived: bool,
}

/// A parsed template node.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    List(Vec<Node>),
    Field(String),
    Array([Param; 3]),
    Filter { left: Vec<Node>, right: Vec<Node>, op: String },
    Int(i64),
    Float(f64),
    Bool(bool),
    Wildcard,
    Recursive,
    Union(Vec<Vec<Node>>),
    Identifier(String),
}

/// A parsed Kubernetes JSONPath template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JsonPath {
    nodes: Vec<Node>,
}

/// Why a template produced no result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum MatchError {
    /// `FindResults` failed (Argo: `Could not find JSONPath in body: <msg>`).
    Eval(String),
    /// Evaluation succeeded with no value at all (Argo: `result of web metric produced
    /// no value`).
    NoValue,
}

impl JsonPath {
    /// Parses a template (`{$.a.b}`, `{.items[*].v}`, `text {.x}` …) with Go's messages.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        Ok(JsonPath { nodes: parse_template(text)? })
    }

    /// All result groups (Go's `FindResults`), converted to JSON values.
    #[cfg(test)]
    pub(crate) fn find_all(&self, data: &Value) -> Result<Vec<Vec<Value>>, String> {
        let mut state = State::new(WORK_LIMIT);
        let groups = find_results(root_value(data), &self.nodes, 0, &mut state)?;
        Ok(groups.into_iter().map(|g| g.into_iter().map(|v| v.to_json()).collect()).collect())
    }

    /// The first value of the first non-empty result group, as Argo's `getValue`.
    pub(crate) fn first_match(&self, data: &Value) -> Result<Value, MatchError> {
        self.first_match_within(data, WORK_LIMIT)
    }

    /// [`JsonPath::first_match`] with an explicit work budget.
    fn first_match_within(&self, data: &Value, budget: usize) -> Result<Value, MatchError> {
        let mut state = State::new(budget);
        let groups = find_results(root_value(data), &self.nodes, 0, &mut state).map_err(MatchError::Eval)?;
        groups.into_iter().flatten().next().map(|v| v.to_json()).ok_or(MatchError::NoValue)
    }
}

// ---------------------------------------------------------------------------------------
// Parser (port of client-go's parser.go; iterative where Go recurses per token)
// ---------------------------------------------------------------------------------------

struct Parser<'s> {
    input: &'s str,
    pos: usize,
    start: usize,
    width: usize,
}

fn is_terminator(r: Option<char>) -> bool {
    match r {
        None => true,
        Some(c) => matches!(c, ' ' | '\t' | '\r' | '\n' | '.' | ',' | '[' | ']' | '$' | '@' | '{' | '}'),
    }
}

fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric())
}

fn is_alphanumeric(c: char) -> bool {
    c == '_' || c.is_alphabetic() || is_digit(c)
}

/// Go's `%#U`: `U+0023 '#'`.
fn go_sharp_u(c: char) -> String {
    if c.is_control() { format!("U+{:04X}", c as u32) } else { format!("U+{:04X} '{c}'", c as u32) }
}

fn parse_template(text: &str) -> Result<Vec<Node>, String> {
    let mut p = Parser { input: text, pos: 0, start: 0, width: 0 };
    let mut root = Vec::new();
    loop {
        while !p.rest().starts_with('{') {
            if p.next().is_none() {
                break;
            }
        }
        if p.rest().starts_with('{') {
            if p.pos > p.start {
                root.push(Node::Text(p.consume().to_string()));
            }
            p.pos += 1;
            p.consume();
            let mut list = Vec::new();
            p.parse_inside_action(&mut list)?;
            root.push(Node::List(list));
        } else {
            if p.pos > p.start {
                root.push(Node::Text(p.consume().to_string()));
            }
            return Ok(root);
        }
    }
}

/// Go's `parseAction`: parses `{text}` and returns the nodes of its single action.
fn parse_action(text: &str) -> Result<Vec<Node>, String> {
    let mut nodes = parse_template(&format!("{{{text}}}"))?;
    if nodes.is_empty() {
        return Err("incomplete jsonpath template".to_string());
    }
    match nodes.swap_remove(0) {
        Node::List(list) => Ok(list),
        _ => Err("incomplete jsonpath template".to_string()),
    }
}

impl<'s> Parser<'s> {
    fn rest(&self) -> &'s str {
        self.input.get(self.pos..).unwrap_or("")
    }

    fn next(&mut self) -> Option<char> {
        match self.rest().chars().next() {
            None => {
                self.width = 0;
                None
            }
            Some(c) => {
                self.width = c.len_utf8();
                self.pos += self.width;
                Some(c)
            }
        }
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn backup(&mut self) {
        self.pos = self.pos.saturating_sub(self.width);
    }

    fn consume(&mut self) -> &'s str {
        let value = self.input.get(self.start..self.pos).unwrap_or("");
        self.start = self.pos;
        value
    }

    /// The byte two positions back (Go's `p.input[p.pos-2]`).
    fn byte_before_last(&self) -> Option<u8> {
        self.pos.checked_sub(2).and_then(|i| self.input.as_bytes().get(i).copied())
    }

    fn parse_inside_action(&mut self, cur: &mut Vec<Node>) -> Result<(), String> {
        loop {
            let rest = self.rest();
            if rest.starts_with('}') {
                self.pos += 1;
                self.consume();
                return Ok(());
            }
            if rest.starts_with("[?(") {
                self.parse_filter(cur)?;
                continue;
            }
            if rest.starts_with("..") {
                self.parse_recursive(cur)?;
                continue;
            }
            match self.next() {
                None | Some('\r') | Some('\n') => return Err("unclosed action".to_string()),
                Some(' ') | Some('@') | Some('$') => {
                    self.consume();
                }
                Some('[') => self.parse_array(cur)?,
                Some(c @ ('"' | '\'')) => self.parse_quote(cur, c)?,
                Some('.') => self.parse_field(cur),
                Some(c) if c == '+' || c == '-' || is_digit(c) => {
                    self.backup();
                    self.parse_number(cur)?;
                }
                Some(c) if is_alphanumeric(c) => {
                    self.backup();
                    self.parse_identifier(cur);
                }
                Some(c) => {
                    return Err(format!("unrecognized character in action: {}", go_sharp_u(c)));
                }
            }
        }
    }

    fn parse_identifier(&mut self, cur: &mut Vec<Node>) {
        loop {
            let r = self.next();
            if is_terminator(r) {
                self.backup();
                break;
            }
        }
        let value = self.consume();
        cur.push(match value {
            "true" => Node::Bool(true),
            "false" => Node::Bool(false),
            other => Node::Identifier(other.to_string()),
        });
    }

    fn parse_recursive(&mut self, cur: &mut Vec<Node>) -> Result<(), String> {
        if matches!(cur.last(), Some(Node::Recursive)) {
            return Err("invalid multiple recursive descent".to_string());
        }
        self.pos += 2;
        self.consume();
        cur.push(Node::Recursive);
        if self.peek().is_some_and(is_alphanumeric) {
            self.parse_field(cur);
        }
        Ok(())
    }

    fn parse_number(&mut self, cur: &mut Vec<Node>) -> Result<(), String> {
        if matches!(self.peek(), Some('+' | '-')) {
            self.next();
        }
        loop {
            let r = self.next();
            if r != Some('.') && !r.is_some_and(is_digit) {
                self.backup();
                break;
            }
        }
        let value = self.consume();
        if let Ok(i) = value.parse::<i64>() {
            cur.push(Node::Int(i));
        } else if let Some(f) = parse_go_float(value) {
            cur.push(Node::Float(f));
        } else {
            return Err(format!("cannot parse number {value}"));
        }
        Ok(())
    }

    fn parse_array(&mut self, cur: &mut Vec<Node>) -> Result<(), String> {
        loop {
            match self.next() {
                None | Some('\n') => return Err("unterminated array".to_string()),
                Some(']') => break,
                Some(_) => {}
            }
        }
        let raw = self.consume();
        let mut text = raw.get(1..raw.len().saturating_sub(1)).unwrap_or_default();
        if text == "*" {
            text = ":";
        }

        let parts: Vec<&str> = text.split(',').collect();
        if parts.len() > 1 {
            let mut union = Vec::with_capacity(parts.len());
            for part in parts {
                union.push(parse_action(&format!("[{}]", part.trim_matches(' ')))?);
            }
            cur.push(Node::Union(union));
            return Ok(());
        }

        if let Some(caps) = regex(&DICT_KEY)?.captures(text) {
            let key = caps.get(1).map_or("", |m| m.as_str());
            cur.extend(parse_action(&format!(".{key}"))?);
            return Ok(());
        }

        let Some(caps) = regex(&SLICE)?.captures(text) else {
            return Err(format!("invalid array index {text}"));
        };
        let mut params = [Param::default(); 3];
        for i in 0..3 {
            let group = caps.get(i + 1).map_or("", |m| m.as_str());
            if !group.is_empty() {
                let digits = if i > 0 { group.get(1..).unwrap_or_default() } else { group };
                if i > 0 && digits.is_empty() {
                    params[i].known = false;
                } else {
                    params[i].known = true;
                    params[i].value =
                        digits.parse::<i64>().map_err(|_| format!("array index {digits} is not a number"))?;
                }
            } else if i == 1 {
                params[1] = Param { value: params[0].value.wrapping_add(1), known: true, derived: true };
            } else {
                params[i] = Param::default();
            }
        }
        cur.push(Node::Array(params));
        Ok(())
    }

    fn parse_filter(&mut self, cur: &mut Vec<Node>) -> Result<(), String> {
        self.pos += 3;
        self.consume();
        let mut begin = false;
        let mut end = false;
        let mut pair = '\0';
        loop {
            match self.next() {
                None | Some('\n') => return Err("unterminated filter".to_string()),
                Some(c @ ('"' | '\'')) => {
                    if !begin {
                        begin = true;
                        pair = c;
                        continue;
                    }
                    if self.byte_before_last() != Some(b'\\') && c == pair {
                        end = true;
                    }
                }
                Some(')') => {
                    if begin == end {
                        break;
                    }
                }
                Some(_) => {}
            }
        }
        if self.next() != Some(']') {
            return Err("unclosed array expect ]".to_string());
        }
        let raw = self.consume();
        let text = raw.get(..raw.len().saturating_sub(2)).unwrap_or_default();
        match regex(&FILTER)?.captures(text) {
            None => {
                let left = parse_action(text)?;
                cur.push(Node::Filter { left, right: Vec::new(), op: "exists".to_string() });
            }
            Some(caps) => {
                let group = |i: usize| caps.get(i).map_or("", |m| m.as_str());
                let left = parse_action(group(1))?;
                let right = parse_action(group(3))?;
                cur.push(Node::Filter { left, right, op: group(2).to_string() });
            }
        }
        Ok(())
    }

    fn parse_quote(&mut self, cur: &mut Vec<Node>, end: char) -> Result<(), String> {
        loop {
            match self.next() {
                None | Some('\n') => return Err("unterminated quoted string".to_string()),
                Some(c) if c == end => {
                    if self.byte_before_last() != Some(b'\\') {
                        break;
                    }
                }
                Some(_) => {}
            }
        }
        let value = self.consume();
        let s = unquote_extend(value).ok_or_else(|| format!("unquote string {value} error invalid syntax"))?;
        cur.push(Node::Text(s));
        Ok(())
    }

    fn parse_field(&mut self, cur: &mut Vec<Node>) {
        self.consume();
        while self.advance() {}
        let value = self.consume();
        if value == "*" {
            cur.push(Node::Wildcard);
        } else {
            cur.push(Node::Field(value.replace('\\', "")));
        }
    }

    fn advance(&mut self) -> bool {
        let r = self.next();
        if r == Some('\\') {
            self.next();
        } else if is_terminator(r) {
            self.backup();
            return false;
        }
        true
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for the digit/dot/sign strings the parser produces.
fn parse_go_float(s: &str) -> Option<f64> {
    let digits = s.trim_start_matches(['+', '-']);
    if digits.is_empty() || !digits.chars().all(|c| c == '.' || c.is_ascii_digit()) {
        return None;
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// client-go's `UnquoteExtend`: `strconv.Unquote` that also accepts single quotes.
fn unquote_extend(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let n = bytes.len();
    if n < 2 {
        return None;
    }
    let quote = bytes[0];
    if quote != bytes[n - 1] || (quote != b'"' && quote != b'\'') {
        return None;
    }
    let quote = char::from(quote);
    let body = s.get(1..n - 1)?;
    if !body.contains('\\') && !body.contains(quote) {
        return Some(body.to_string());
    }
    let mut buf: Vec<u8> = Vec::with_capacity(body.len());
    let mut rest = body;
    while !rest.is_empty() {
        rest = unquote_char(rest, quote, &mut buf)?;
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// Go's `strconv.UnquoteChar`: decodes one (possibly escaped) character of `s` into `buf`
/// and returns the rest.
fn unquote_char<'a>(s: &'a str, quote: char, buf: &mut Vec<u8>) -> Option<&'a str> {
    let mut chars = s.chars();
    let c = chars.next()?;
    if c == quote {
        return None;
    }
    if c != '\\' {
        let mut tmp = [0u8; 4];
        buf.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
        return Some(chars.as_str());
    }
    let esc = chars.next()?;
    let rest = chars.as_str();
    let push_char = |buf: &mut Vec<u8>, c: char| {
        let mut tmp = [0u8; 4];
        buf.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
    };
    match esc {
        'a' => buf.push(0x07),
        'b' => buf.push(0x08),
        'f' => buf.push(0x0c),
        'n' => buf.push(b'\n'),
        'r' => buf.push(b'\r'),
        't' => buf.push(b'\t'),
        'v' => buf.push(0x0b),
        '\\' => buf.push(b'\\'),
        '\'' | '"' => {
            if esc != quote {
                return None;
            }
            buf.push(esc as u8);
        }
        'x' | 'u' | 'U' => {
            let n = match esc {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            let hex = rest.get(..n)?;
            if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            let v = u32::from_str_radix(hex, 16).ok()?;
            if esc == 'x' {
                buf.push(u8::try_from(v).ok()?);
            } else {
                push_char(buf, char::from_u32(v)?);
            }
            return rest.get(n..);
        }
        '0'..='7' => {
            let more = rest.get(..2)?;
            if !more.chars().all(|c| ('0'..='7').contains(&c)) {
                return None;
            }
            let mut v = esc as u32 - '0' as u32;
            for c in more.chars() {
                v = v * 8 + (c as u32 - '0' as u32);
            }
            buf.push(u8::try_from(v).ok()?);
            return rest.get(2..);
        }
        _ => return None,
    }
    Some(rest)
}

// ---------------------------------------------------------------------------------------
// Evaluator (port of client-go's jsonpath.go over reflect.Value-like handles)
// ---------------------------------------------------------------------------------------

/// A `reflect.Value` over a document decoded into Go `any`.
#[derive(Debug, Clone)]
enum GoValue<'a> {
    /// The zero `reflect.Value` (`reflect.ValueOf(nil)`).
    Zero,
    /// An `interface{}` slot: a map value or slice element (may hold nil).
    Slot(&'a Value),
    /// A concrete, non-nil decoded value (a `map`, `[]any`, `string`, `float64`, `bool`).
    Concrete(&'a Value),
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    /// A byte of a string (ranging over a Go string with `*` yields `uint8`s).
    Byte(u8),
}

fn root_value(data: &Value) -> GoValue<'_> {
    if data.is_null() { GoValue::Zero } else { GoValue::Concrete(data) }
}

impl<'a> GoValue<'a> {
    /// `template.Indirect`: unwraps an interface slot; `true` when it holds nil.
    fn indirect(&self) -> (GoValue<'a>, bool) {
        match self {
            GoValue::Slot(Value::Null) => (self.clone(), true),
            GoValue::Slot(v) => (GoValue::Concrete(v), false),
            other => (other.clone(), false),
        }
    }

    /// `reflect.ValueOf(v.Interface())`.
    fn interface(&self) -> GoValue<'a> {
        match self {
            GoValue::Slot(Value::Null) => GoValue::Zero,
            GoValue::Slot(v) => GoValue::Concrete(v),
            other => other.clone(),
        }
    }

    /// The matched value as JSON, for the conditions and `json.Marshal`.
    fn to_json(&self) -> Value {
        match self {
            GoValue::Zero => Value::Null,
            GoValue::Slot(v) | GoValue::Concrete(v) => (*v).clone(),
            GoValue::Int(i) => Value::from(*i),
            GoValue::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            GoValue::Bool(b) => Value::Bool(*b),
            GoValue::Str(s) => Value::String(s.clone()),
            GoValue::Byte(b) => Value::from(*b),
        }
    }

    /// `value.Type()` as `%v` prints it.
    fn type_name(&self) -> &'static str {
        match self {
            GoValue::Zero | GoValue::Slot(_) => "<nil>",
            GoValue::Concrete(v) => match v {
                Value::Null => "<nil>",
                Value::Bool(_) => "bool",
                Value::Number(_) => "float64",
                Value::String(_) => "string",
                Value::Array(_) => "[]interface {}",
                Value::Object(_) => "map[string]interface {}",
            },
            GoValue::Int(_) => "int",
            GoValue::Float(_) => "float64",
            GoValue::Bool(_) => "bool",
            GoValue::Str(_) => "string",
            GoValue::Byte(_) => "uint8",
        }
    }

    /// `%v` of the `reflect.Value`.
    fn fmt_v(&self) -> String {
        match self {
            GoValue::Zero => "<invalid reflect.Value>".to_string(),
            GoValue::Slot(v) | GoValue::Concrete(v) => go_v(v),
            GoValue::Int(i) => i.to_string(),
            GoValue::Float(f) => go_float_v(*f),
            GoValue::Bool(b) => b.to_string(),
            GoValue::Str(s) => s.clone(),
            GoValue::Byte(b) => b.to_string(),
        }
    }

    /// The children `*` visits (sorted map keys; bytes of a string).
    fn children(&self) -> Vec<GoValue<'a>> {
        match self {
            GoValue::Concrete(Value::Object(map)) => {
                sorted_entries(map).into_iter().map(|(_, v)| GoValue::Slot(v)).collect()
            }
            GoValue::Concrete(Value::Array(items)) => items.iter().map(GoValue::Slot).collect(),
            GoValue::Concrete(Value::String(s)) => s.bytes().map(GoValue::Byte).collect(),
            GoValue::Str(s) => s.bytes().map(GoValue::Byte).collect(),
            _ => Vec::new(),
        }
    }
}

/// An evaluation error and the values Go returns alongside it (they matter for `exists`
/// filters, which ignore the error).
struct WalkError<'a> {
    values: Vec<GoValue<'a>>,
    msg: String,
}

type Walk<'a> = Result<Vec<GoValue<'a>>, WalkError<'a>>;

fn fail<'a>(values: Vec<GoValue<'a>>, msg: impl Into<String>) -> Walk<'a> {
    Err(WalkError { values, msg: msg.into() })
}

struct State {
    begin_range: usize,
    in_range: usize,
    end_range: usize,
    /// Absolute index (into the top-level node list) of the last `{end}` met.
    last_end: Option<usize>,
    budget: usize,
}

impl State {
    fn new(budget: usize) -> Self {
        State { begin_range: 0, in_range: 0, end_range: 0, last_end: None, budget }
    }
}

/// Go's `FindResults`. `nodes` is the suffix of the top-level list starting at `base`.
fn find_results<'a>(
    data: GoValue<'a>,
    nodes: &[Node],
    base: usize,
    state: &mut State,
) -> Result<Vec<Vec<GoValue<'a>>>, String> {
    let cur = vec![data];
    let mut full = Vec::new();
    let mut i = 0;
    while i < nodes.len() {
        let results = walk(cur.clone(), &nodes[i], state).map_err(|e| e.msg)?;

        if state.end_range > 0 && state.end_range <= state.in_range {
            state.end_range -= 1;
            state.last_end = Some(base + i);
            break;
        }
        if state.begin_range > 0 {
            state.begin_range -= 1;
            state.in_range += 1;
            let inner = nodes.get(i + 1..).unwrap_or_default();
            if results.is_empty() {
                find_results(GoValue::Zero, inner, base + i + 1, state)?;
            } else {
                for value in results {
                    let next = find_results(value.interface(), inner, base + i + 1, state)?;
                    full.extend(next);
                }
            }
            state.in_range -= 1;
            for k in i + 1..nodes.len() {
                if state.last_end == Some(base + k) {
                    i = k;
                    break;
                }
            }
            i += 1;
            continue;
        }
        full.push(results);
        i += 1;
    }
    Ok(full)
}

fn walk<'a>(input: Vec<GoValue<'a>>, node: &Node, state: &mut State) -> Walk<'a> {
    let out = match node {
        Node::List(nodes) => eval_list(input, nodes, state),
        Node::Text(text) => Ok(vec![GoValue::Str(text.clone())]),
        Node::Field(name) => eval_field(input, name),
        Node::Array(params) => eval_array(input, params),
        Node::Filter { left, right, op } => eval_filter(input, left, right, op, state),
        Node::Int(i) => Ok(vec![GoValue::Int(*i); input.len()]),
        Node::Float(f) => Ok(vec![GoValue::Float(*f); input.len()]),
        Node::Bool(b) => Ok(vec![GoValue::Bool(*b); input.len()]),
        Node::Wildcard => Ok(input.iter().flat_map(|v| v.indirect_children()).collect()),
        Node::Recursive => Ok(eval_recursive(&input)),
        Node::Union(lists) => eval_union(input, lists, state),
        Node::Identifier(name) => eval_identifier(input, name, state),
    };
    let produced = match &out {
        Ok(values) => values.len(),
        Err(e) => e.values.len(),
    };
    match state.budget.checked_sub(produced.saturating_add(1)) {
        Some(left) => state.budget = left,
        None => {
            return fail(Vec::new(), "jsonpath evaluation exceeded its work limit");
        }
    }
    out
}

impl<'a> GoValue<'a> {
    fn indirect_children(&self) -> Vec<GoValue<'a>> {
        let (v, is_nil) = self.indirect();
        if is_nil { Vec::new() } else { v.children() }
    }
}

fn eval_list<'a>(input: Vec<GoValue<'a>>, nodes: &[Node], state: &mut State) -> Walk<'a> {
    let mut cur = input;
    for node in nodes {
        cur = walk(cur, node, state)?;
    }
    Ok(cur)
}

fn eval_identifier<'a>(input: Vec<GoValue<'a>>, name: &str, state: &mut State) -> Walk<'a> {
    match name {
        "range" => {
            state.begin_range += 1;
            Ok(input)
        }
        "end" => {
            if state.in_range > 0 {
                state.end_range += 1;
                Ok(Vec::new())
            } else {
                fail(Vec::new(), "not in range, nothing to end")
            }
        }
        other => fail(input, format!("unrecognized identifier {other}")),
    }
}

fn eval_array<'a>(input: Vec<GoValue<'a>>, node_params: &[Param; 3]) -> Walk<'a> {
    let mut result = Vec::new();
    for value in &input {
        let (value, is_nil) = value.indirect();
        if is_nil {
            continue;
        }
        let GoValue::Concrete(Value::Array(items)) = value else {
            let msg = format!("{} is not array or slice", value.type_name());
            return fail(input, msg);
        };
        let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
        let mut params = *node_params;
        if !params[0].known {
            params[0].value = 0;
        }
        if params[0].value < 0 {
            params[0].value = params[0].value.wrapping_add(len);
        }
        if !params[1].known {
            params[1].value = len;
        }
        if params[1].value < 0 || (params[1].value == 0 && params[1].derived) {
            params[1].value = params[1].value.wrapping_add(len);
        }
        let (start, end) = (params[0].value, params[1].value);
        if end == start {
            return Ok(result);
        }
        if start >= len || start < 0 {
            let msg = format!("array index out of bounds: index {start}, length {len}");
            return fail(input, msg);
        }
        if end > len || end < 0 {
            let msg = format!("array index out of bounds: index {}, length {len}", end.wrapping_sub(1));
            return fail(input, msg);
        }
        if start > end {
            let msg = format!("starting index {start} is greater than ending index {end}");
            return fail(input, msg);
        }
        let mut step = 1usize;
        if params[2].known {
            if params[2].value <= 0 {
                return fail(input, "step must be > 0");
            }
            step = usize::try_from(params[2].value).unwrap_or(usize::MAX);
        }
        let (start, end) = (usize::try_from(start).unwrap_or(0), usize::try_from(end).unwrap_or(0));
        if let Some(slice) = items.get(start..end) {
            result.extend(slice.iter().step_by(step).map(GoValue::Slot));
        }
    }
    Ok(result)
}

fn eval_union<'a>(input: Vec<GoValue<'a>>, lists: &[Vec<Node>], state: &mut State) -> Walk<'a> {
    let mut result = Vec::new();
    for list in lists {
        match eval_list(input.clone(), list, state) {
            Ok(values) => result.extend(values),
            Err(e) => return fail(input, e.msg),
        }
    }
    Ok(result)
}

fn eval_field<'a>(input: Vec<GoValue<'a>>, name: &str) -> Walk<'a> {
    if input.is_empty() {
        return Ok(Vec::new());
    }
    let mut results = Vec::new();
    for value in &input {
        let (value, is_nil) = value.indirect();
        if is_nil {
            continue;
        }
        if let GoValue::Concrete(Value::Object(map)) = value
            && let Some(found) = map.get(name)
        {
            results.push(GoValue::Slot(found));
        }
    }
    if results.is_empty() {
        return fail(Vec::new(), format!("{name} is not found"));
    }
    Ok(results)
}

fn eval_recursive<'a>(input: &[GoValue<'a>]) -> Vec<GoValue<'a>> {
    let mut result = Vec::new();
    for value in input {
        let (value, is_nil) = value.indirect();
        if is_nil {
            continue;
        }
        let children = value.children();
        if !children.is_empty() {
            result.push(value);
            result.extend(eval_recursive(&children));
        }
    }
    result
}

fn eval_filter<'a>(input: Vec<GoValue<'a>>, left: &[Node], right: &[Node], op: &str, state: &mut State) -> Walk<'a> {
    let mut results = Vec::new();
    for value in &input {
        let (value, _) = value.indirect();
        let GoValue::Concrete(Value::Array(items)) = value else {
            let msg = format!("{} is not array or slice and cannot be filtered", value.fmt_v());
            return fail(input, msg);
        };
        for item in items {
            let temp = vec![GoValue::Slot(item)];
            let lefts = eval_list(temp.clone(), left, state);
            if op == "exists" {
                let found = match lefts {
                    Ok(values) => !values.is_empty(),
                    Err(e) => !e.values.is_empty(),
                };
                if found {
                    results.push(GoValue::Slot(item));
                }
                continue;
            }
            let lefts = match lefts {
                Ok(values) => values,
                Err(e) => return fail(input, e.msg),
            };
            let left_value = match lefts.as_slice() {
                [] => continue,
                [one] => one.interface(),
                _ => return fail(input, "can only compare one element at a time"),
            };
            let rights = match eval_list(temp, right, state) {
                Ok(values) => values,
                Err(e) => return fail(input, e.msg),
            };
            let right_value = match rights.as_slice() {
                [] => continue,
                [one] => one.interface(),
                _ => return fail(input, "can only compare one element at a time"),
            };
            let (a, b) = (Operand::of(&left_value), Operand::of(&right_value));
            let pass = match op {
                "<" => less(&a, &b),
                ">" => greater(&a, &b),
                "==" => equal(&a, &b),
                "!=" => equal(&a, &b).map(|t| !t),
                "<=" => less_equal(&a, &b),
                ">=" => less(&a, &b).map(|t| !t),
                "=~" => re_match(&left_value, &right_value),
                other => return fail(results, format!("unrecognized filter operator {other}")),
            };
            match pass {
                Ok(true) => results.push(GoValue::Slot(item)),
                Ok(false) => {}
                Err(msg) => return fail(results, msg),
            }
        }
    }
    Ok(results)
}

// ---------------------------------------------------------------------------------------
// Comparisons (client-go's fork of text/template's eq/lt/…)
// ---------------------------------------------------------------------------------------

const BAD_TYPE: &str = "invalid type for comparison";
const INCOMPATIBLE: &str = "incompatible types for comparison";

/// The basic kind of a compared value.
enum Operand<'a> {
    Invalid,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(&'a str),
}

impl<'a> Operand<'a> {
    fn of(value: &'a GoValue<'_>) -> Operand<'a> {
        match value {
            GoValue::Zero | GoValue::Slot(_) => Operand::Invalid,
            GoValue::Concrete(v) => match v {
                Value::Bool(b) => Operand::Bool(*b),
                Value::Number(n) => Operand::Float(number_f64(n)),
                Value::String(s) => Operand::Str(s),
                _ => Operand::Invalid,
            },
            GoValue::Int(i) => Operand::Int(*i),
            GoValue::Float(f) => Operand::Float(*f),
            GoValue::Bool(b) => Operand::Bool(*b),
            GoValue::Str(s) => Operand::Str(s),
            GoValue::Byte(b) => Operand::Uint(u64::from(*b)),
        }
    }
}

fn equal(a: &Operand<'_>, b: &Operand<'_>) -> Result<bool, String> {
    if matches!(a, Operand::Invalid) || matches!(b, Operand::Invalid) {
        return Err(BAD_TYPE.to_string());
    }
    match (a, b) {
        (Operand::Bool(x), Operand::Bool(y)) => Ok(x == y),
        (Operand::Int(x), Operand::Int(y)) => Ok(x == y),
        (Operand::Uint(x), Operand::Uint(y)) => Ok(x == y),
        (Operand::Float(x), Operand::Float(y)) => Ok(x == y),
        (Operand::Str(x), Operand::Str(y)) => Ok(x == y),
        (Operand::Int(x), Operand::Uint(y)) => Ok(u64::try_from(*x).is_ok_and(|x| x == *y)),
        (Operand::Uint(x), Operand::Int(y)) => Ok(u64::try_from(*y).is_ok_and(|y| y == *x)),
        _ => Err(INCOMPATIBLE.to_string()),
    }
}

fn less(a: &Operand<'_>, b: &Operand<'_>) -> Result<bool, String> {
    if matches!(a, Operand::Invalid) || matches!(b, Operand::Invalid) {
        return Err(BAD_TYPE.to_string());
    }
    match (a, b) {
        (Operand::Bool(_), Operand::Bool(_)) => Err(BAD_TYPE.to_string()),
        (Operand::Int(x), Operand::Int(y)) => Ok(x < y),
        (Operand::Uint(x), Operand::Uint(y)) => Ok(x < y),
        (Operand::Float(x), Operand::Float(y)) => Ok(x < y),
        (Operand::Str(x), Operand::Str(y)) => Ok(x.as_bytes() < y.as_bytes()),
        (Operand::Int(x), Operand::Uint(y)) => Ok(u64::try_from(*x).map_or(true, |x| x < *y)),
        (Operand::Uint(x), Operand::Int(y)) => Ok(u64::try_from(*y).is_ok_and(|y| *x < y)),
        _ => Err(INCOMPATIBLE.to_string()),
    }
}

fn less_equal(a: &Operand<'_>, b: &Operand<'_>) -> Result<bool, String> {
    if less(a, b)? {
        return Ok(true);
    }
    equal(a, b)
}

fn greater(a: &Operand<'_>, b: &Operand<'_>) -> Result<bool, String> {
    less_equal(a, b).map(|t| !t)
}

/// `=~`: both sides must be strings; the right side is the pattern.
fn re_match(left: &GoValue<'_>, right: &GoValue<'_>) -> Result<bool, String> {
    let as_str = |v: &GoValue<'_>| -> Option<String> {
        match v {
            GoValue::Concrete(Value::String(s)) => Some(s.clone()),
            GoValue::Str(s) => Some(s.clone()),
            _ => None,
        }
    };
    let (Some(pattern), Some(data)) = (as_str(right), as_str(left)) else {
        return Err(format!(
            "regexp search only support string now but getting pattern: {}, data: {}",
            sharp_v(right),
            sharp_v(left)
        ));
    };
    let re = regex::RegexBuilder::new(&pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|_| format!("error parsing regexp: invalid pattern {}", go_quote(&pattern)))?;
    Ok(re.is_match(&data))
}

/// `%#v` of a compared value.
fn sharp_v(value: &GoValue<'_>) -> String {
    match value {
        GoValue::Zero => "<nil>".to_string(),
        GoValue::Slot(v) | GoValue::Concrete(v) => go_sharp_v(v),
        GoValue::Int(i) => i.to_string(),
        GoValue::Float(f) => go_float_v(*f),
        GoValue::Bool(b) => b.to_string(),
        GoValue::Str(s) => go_quote(s),
        GoValue::Byte(b) => format!("0x{b:x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "data": {"ok": true, "n": 3, "s": "x", "nil": null},
            "items": [
                {"name": "a", "v": 1.5, "tags": ["t1"]},
                {"name": "b", "v": 2},
                {"name": "c", "v": 3}
            ],
            "a-b": "dash",
            "a.b": "dot",
            "empty": []
        })
    }

    fn first(path: &str) -> Result<Value, MatchError> {
        JsonPath::parse(path).expect("parses").first_match(&doc())
    }

    fn eval_err(path: &str) -> String {
        match first(path) {
            Err(MatchError::Eval(msg)) => msg,
            other => panic!("{path}: expected an evaluation error, got {other:?}"),
        }
    }

    fn parse_err(path: &str) -> String {
        match JsonPath::parse(path) {
            Err(msg) => msg,
            Ok(p) => panic!("{path}: expected a parse error, got {p:?}"),
        }
    }

    #[test]
    fn fields_and_roots() {
        assert_eq!(first("{$.data.ok}"), Ok(json!(true)));
        assert_eq!(first("{.data.n}"), Ok(json!(3)));
        assert_eq!(first("{@.data.s}"), Ok(json!("x")));
        assert_eq!(first("{$}"), Ok(doc()));
        assert_eq!(first("{$['a-b']}"), Ok(json!("dash")));
        assert_eq!(first("{.a\\.b}"), Ok(json!("dot")));
        assert_eq!(first("{$.data.nil}"), Ok(Value::Null));
        assert_eq!(first("{ .data.n }"), Ok(json!(3)));
    }

    #[test]
    fn missing_keys_are_errors() {
        assert_eq!(eval_err("{$.data.missing}"), "missing is not found");
        assert_eq!(eval_err("{.nope.deeper}"), "nope is not found");
        // A field of a null value is not found either.
        assert_eq!(eval_err("{.data.nil.x}"), "x is not found");
        // A key present in only some inputs is found (the error needs every input to miss).
        assert_eq!(first("{.items[*].tags}"), Ok(json!(["t1"])));
    }

    #[test]
    fn arrays() {
        assert_eq!(first("{$.items[0].v}"), Ok(json!(1.5)));
        assert_eq!(first("{.items[-1].name}"), Ok(json!("c")));
        assert_eq!(first("{.items[1:].name}"), Ok(json!("b")));
        assert_eq!(first("{.items[*].v}"), Ok(json!(1.5)));
        let p = JsonPath::parse("{.items[0:3:2].name}").expect("parses");
        assert_eq!(p.find_all(&doc()), Ok(vec![vec![json!("a"), json!("c")]]));
        assert_eq!(eval_err("{.items[5]}"), "array index out of bounds: index 5, length 3");
        assert_eq!(eval_err("{.empty[0]}"), "array index out of bounds: index 0, length 0");
        assert_eq!(eval_err("{.data[0]}"), "map[string]interface {} is not array or slice");
        assert_eq!(eval_err("{.items[::0]}"), "step must be > 0");
        // An empty slice is no value, not an error.
        assert_eq!(first("{.empty[*]}"), Err(MatchError::NoValue));
        assert_eq!(first("{.empty[*].v}"), Err(MatchError::NoValue));
    }

    #[test]
    fn unions_wildcards_recursion() {
        let p = JsonPath::parse("{.items[0,2].name}").expect("parses");
        assert_eq!(p.find_all(&doc()), Ok(vec![vec![json!("a"), json!("c")]]));
        let p = JsonPath::parse("{.data['s','n']}").expect("parses");
        assert_eq!(p.find_all(&doc()), Ok(vec![vec![json!("x"), json!(3)]]));
        // Sorted keys: n, nil, ok, s.
        let p = JsonPath::parse("{.data.*}").expect("parses");
        assert_eq!(p.find_all(&doc()), Ok(vec![vec![json!(3), Value::Null, json!(true), json!("x")]]));
        let p = JsonPath::parse("{..name}").expect("parses");
        assert_eq!(p.find_all(&doc()), Ok(vec![vec![json!("a"), json!("b"), json!("c")]]));
        assert_eq!(parse_err("{....a}"), "invalid multiple recursive descent".to_string());
        // `*` over a string yields its bytes as uint8.
        assert_eq!(first("{.data.s.*}"), Ok(json!(120)));
    }

    #[test]
    fn filters() {
        assert_eq!(first("{$.items[?(@.name==\"b\")].v}"), Ok(json!(2)));
        assert_eq!(first("{.items[?(@.name=='c')].v}"), Ok(json!(3)));
        assert_eq!(first("{.items[?(@.v>1.9)].name}"), Ok(json!("b")));
        assert_eq!(first("{.items[?(@.v<=2.0)].name}"), Ok(json!("a")));
        assert_eq!(first("{.items[?(@.name!='a')].name}"), Ok(json!("b")));
        assert_eq!(first("{.items[?(@.tags)].name}"), Ok(json!("a")));
        assert_eq!(first("{.items[?(@.name=~'^[bc]$')].name}"), Ok(json!("b")));
        // A Go int literal against a float64 field is a type error, as in Argo.
        assert_eq!(eval_err("{.items[?(@.v==2)].name}"), INCOMPATIBLE);
        // A missing key in any element aborts the filter (AllowMissingKeys is false).
        assert_eq!(eval_err("{.items[?(@.tags[0]=='t1')].name}"), "tags is not found");
        assert_eq!(first("{.items[?(@.name=='zzz')].name}"), Err(MatchError::NoValue));
        assert_eq!(
            eval_err("{.data[?(@.x==1)]}"),
            "map[n:3 nil:<nil> ok:true s:x] is not array or slice and cannot be filtered"
        );
        assert_eq!(
            eval_err("{.items[?(@.v=~'x')]}"),
            "regexp search only support string now but getting pattern: \"x\", data: 1.5"
        );
    }

    #[test]
    fn text_literals_and_ranges() {
        assert_eq!(first("plain"), Ok(json!("plain")));
        assert_eq!(first("x{.data.n}"), Ok(json!("x")));
        assert_eq!(first("{\"quoted\\tstr\"}"), Ok(json!("quoted\tstr")));
        assert_eq!(first("{5}"), Ok(json!(5)));
        assert_eq!(first("{2.5}"), Ok(json!(2.5)));
        assert_eq!(first("{true}"), Ok(json!(true)));
        let p = JsonPath::parse("{range .items[*]}{.name}{end}").expect("parses");
        assert_eq!(p.find_all(&doc()), Ok(vec![vec![json!("a")], vec![json!("b")], vec![json!("c")]]));
        assert_eq!(first("{range .items[*]}{.v}{end}"), Ok(json!(1.5)));
        assert_eq!(eval_err("{end}"), "not in range, nothing to end");
        assert_eq!(eval_err("{foo}"), "unrecognized identifier foo");
    }

    #[test]
    fn parse_errors() {
        assert_eq!(parse_err("{.a"), "unclosed action");
        assert_eq!(parse_err("{.a[0}"), "unterminated array");
        assert_eq!(parse_err("{.a[x]}"), "invalid array index x");
        assert_eq!(parse_err("{#}"), "unrecognized character in action: U+0023 '#'");
        assert_eq!(parse_err("{\"abc}"), "unterminated quoted string");
        assert_eq!(parse_err("{.a[?(@.b==1}"), "unterminated filter");
        assert_eq!(parse_err("{-}"), "cannot parse number -");
        assert_eq!(parse_err("{.a[9999999999999999999]}"), "array index 9999999999999999999 is not a number");
    }

    #[test]
    fn null_document() {
        let p = JsonPath::parse("{$}").expect("parses");
        assert_eq!(p.first_match(&Value::Null), Ok(Value::Null));
        let p = JsonPath::parse("{.a}").expect("parses");
        assert_eq!(p.first_match(&Value::Null), Err(MatchError::Eval("a is not found".to_string())));
    }

    #[test]
    fn work_limit_stops_blowups() {
        let big = Value::Array((0..200).map(Value::from).collect());
        let doc = json!({ "a": big });
        let p = JsonPath::parse("{.a[*]}").expect("parses");
        assert_eq!(p.first_match_within(&doc, 1_000), Ok(json!(0)));
        match p.first_match_within(&doc, 150) {
            Err(MatchError::Eval(msg)) => assert!(msg.contains("work limit"), "{msg}"),
            other => panic!("expected the work limit, got {other:?}"),
        }
    }
}
