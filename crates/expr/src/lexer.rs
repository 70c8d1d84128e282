//! Tokenizer, mirroring expr-lang's `parser/lexer` state machine.

use std::fmt;

use crate::value::go_quote;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Identifier,
    Number,
    String,
    Operator,
    Bracket,
    Eof,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Identifier => "Identifier",
            Kind::Number => "Number",
            Kind::String => "String",
            Kind::Operator => "Operator",
            Kind::Bracket => "Bracket",
            Kind::Eof => "EOF",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub(crate) kind: Kind,
    pub(crate) value: String,
}

impl Token {
    pub(crate) fn is(&self, kind: Kind, value: &str) -> bool {
        self.kind == kind && self.value == value
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.value.is_empty() {
            f.write_str(self.kind.name())
        } else {
            write!(f, "{}({})", self.kind.name(), go_quote(&self.value))
        }
    }
}

pub(crate) fn is_alphabetic(c: char) -> bool {
    c == '_' || c == '$' || c.is_alphabetic()
}

pub(crate) fn is_alphanumeric(c: char) -> bool {
    is_alphabetic(c) || c.is_numeric()
}

struct Lexer {
    src: Vec<char>,
    start: usize,
    end: usize,
    tokens: Vec<Token>,
    err: Option<String>,
}

enum State {
    Root,
    Number,
    Dot,
    Identifier,
    Not,
    QuestionMark,
    Slash,
    Pointer,
    Done,
}

/// Splits the source into tokens. The error string is the first lexing error.
pub(crate) fn lex(source: &str) -> Result<Vec<Token>, String> {
    let mut l = Lexer { src: source.chars().collect(), start: 0, end: 0, tokens: Vec::new(), err: None };
    let mut state = State::Root;
    loop {
        state = match state {
            State::Root => l.root(),
            State::Number => l.number(),
            State::Dot => l.dot(),
            State::Identifier => l.identifier(),
            State::Not => l.not(),
            State::QuestionMark => l.question_mark(),
            State::Slash => l.slash(),
            State::Pointer => l.pointer(),
            State::Done => break,
        };
        if l.err.is_some() {
            break;
        }
    }
    match l.err {
        Some(e) => Err(e),
        None => Ok(l.tokens),
    }
}

impl Lexer {
    fn next(&mut self) -> Option<char> {
        let c = self.src.get(self.end).copied();
        self.end += 1;
        c
    }

    fn peek(&mut self) -> Option<char> {
        let c = self.next();
        self.backup();
        c
    }

    fn backup(&mut self) {
        self.end -= 1;
    }

    fn word(&self) -> String {
        let end = self.end.min(self.src.len());
        let start = self.start.min(end);
        self.src[start..end].iter().collect()
    }

    fn emit(&mut self, kind: Kind) {
        let w = self.word();
        self.emit_value(kind, w);
    }

    fn emit_value(&mut self, kind: Kind, value: String) {
        self.tokens.push(Token { kind, value });
        self.start = self.end;
    }

    fn skip(&mut self) {
        self.start = self.end;
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.next() {
            Some(c) if valid.contains(c) => true,
            _ => {
                self.backup();
                false
            }
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while let Some(c) = self.next() {
            if !valid.contains(c) {
                break;
            }
        }
        self.backup();
    }

    fn error(&mut self, msg: String) -> State {
        if self.err.is_none() {
            self.err = Some(msg);
        }
        State::Done
    }

    fn root(&mut self) -> State {
        let Some(r) = self.next() else {
            self.tokens.push(Token { kind: Kind::Eof, value: String::new() });
            return State::Done;
        };
        match r {
            c if c.is_whitespace() => self.skip(),
            '\'' | '"' => {
                self.scan_string(r);
                if self.err.is_some() {
                    return State::Done;
                }
                match unescape(&self.word()) {
                    Ok(s) => self.emit_value(Kind::String, s),
                    Err(e) => return self.error(e),
                }
            }
            '`' => return self.scan_raw_string(),
            '0'..='9' => {
                self.backup();
                return State::Number;
            }
            '?' => return State::QuestionMark,
            '/' => return State::Slash,
            '#' => return State::Pointer,
            '|' => {
                self.accept("|");
                self.emit(Kind::Operator);
            }
            ':' => {
                self.accept(":");
                self.emit(Kind::Operator);
            }
            '(' | '[' | '{' | ')' | ']' | '}' => self.emit(Kind::Bracket),
            ',' | ';' | '%' | '+' | '-' | '^' => self.emit(Kind::Operator),
            '&' | '!' | '=' | '*' | '<' | '>' => {
                self.accept("&=*");
                self.emit(Kind::Operator);
            }
            '.' => {
                self.backup();
                return State::Dot;
            }
            c if is_alphanumeric(c) => {
                self.backup();
                return State::Identifier;
            }
            c => return self.error(format!("unrecognized character: {}", go_unicode(c))),
        }
        State::Root
    }

    fn number(&mut self) -> State {
        if !self.scan_number() {
            let w = self.word();
            return self.error(format!("bad number syntax: {}", go_quote(&w)));
        }
        self.emit(Kind::Number);
        State::Root
    }

    fn scan_number(&mut self) -> bool {
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        let end = self.end;
        if self.accept(".") {
            if self.peek() == Some('.') {
                self.end = end;
                return true;
            }
            self.accept_run(digits);
        }
        if self.accept("eE") {
            self.accept("+-");
            self.accept_run(digits);
        }
        if self.peek().is_some_and(is_alphanumeric) {
            self.next();
            return false;
        }
        true
    }

    fn dot(&mut self) -> State {
        self.next();
        if self.accept("0123456789") {
            self.backup();
            return State::Number;
        }
        self.accept(".");
        self.emit(Kind::Operator);
        State::Root
    }

    fn identifier(&mut self) -> State {
        loop {
            match self.next() {
                Some(c) if is_alphanumeric(c) => {}
                _ => {
                    self.backup();
                    let w = self.word();
                    match w.as_str() {
                        "not" => return State::Not,
                        "in" | "or" | "and" | "matches" | "contains" | "startsWith" | "endsWith" | "let" | "if"
                        | "else" => self.emit(Kind::Operator),
                        _ => self.emit(Kind::Identifier),
                    }
                    return State::Root;
                }
            }
        }
    }

    fn not(&mut self) -> State {
        self.emit(Kind::Operator);
        // skipSpaces
        while self.peek() == Some(' ') {
            self.next();
        }
        self.skip();
        let end = self.end;
        loop {
            match self.next() {
                Some(c) if is_alphanumeric(c) => {}
                _ => {
                    self.backup();
                    break;
                }
            }
        }
        match self.word().as_str() {
            "in" | "matches" | "contains" | "startsWith" | "endsWith" => {
                self.emit(Kind::Operator);
            }
            _ => self.end = end,
        }
        State::Root
    }

    fn question_mark(&mut self) -> State {
        self.accept(".?");
        self.emit(Kind::Operator);
        State::Root
    }

    fn slash(&mut self) -> State {
        if self.accept("/") {
            loop {
                match self.next() {
                    None | Some('\n') => break,
                    _ => {}
                }
            }
            self.skip();
            return State::Root;
        }
        if self.accept("*") {
            loop {
                match self.next() {
                    None => return self.error("unclosed comment".into()),
                    Some('*') if self.accept("/") => break,
                    _ => {}
                }
            }
            self.skip();
            return State::Root;
        }
        self.emit(Kind::Operator);
        State::Root
    }

    fn pointer(&mut self) -> State {
        self.accept("#");
        self.emit(Kind::Operator);
        loop {
            match self.next() {
                Some(c) if is_alphanumeric(c) => {}
                _ => {
                    self.backup();
                    if !self.word().is_empty() {
                        self.emit(Kind::Identifier);
                    }
                    return State::Root;
                }
            }
        }
    }

    fn scan_escape(&mut self, quote: char) -> Option<char> {
        let ch = self.next();
        match ch {
            Some(c) if "abfnrtv\\".contains(c) || c == quote => self.next(),
            Some(c @ '0'..='7') => self.scan_digits(Some(c), 8, 3),
            Some('x') => {
                let c = self.next();
                self.scan_digits(c, 16, 2)
            }
            Some('u') => {
                let c = self.next();
                self.scan_digits(c, 16, 4)
            }
            Some('U') => {
                let c = self.next();
                self.scan_digits(c, 16, 8)
            }
            _ => {
                self.error("invalid char escape".into());
                ch
            }
        }
    }

    fn scan_digits(&mut self, mut ch: Option<char>, base: u32, mut n: usize) -> Option<char> {
        while n > 0 && ch.and_then(|c| c.to_digit(16)).is_some_and(|d| d < base) {
            ch = self.next();
            n -= 1;
        }
        if n > 0 {
            self.error("invalid char escape".into());
        }
        ch
    }

    fn scan_string(&mut self, quote: char) {
        let mut ch = self.next();
        while ch != Some(quote) {
            if self.err.is_some() {
                return;
            }
            match ch {
                None | Some('\n') => {
                    self.error("literal not terminated".into());
                    return;
                }
                Some('\\') => ch = self.scan_escape(quote),
                _ => ch = self.next(),
            }
        }
    }

    fn scan_raw_string(&mut self) -> State {
        loop {
            match self.next() {
                None => return self.error("literal not terminated".into()),
                Some('`') => break,
                _ => {}
            }
        }
        let s: String = self.src[self.start + 1..self.end - 1].iter().collect();
        self.emit_value(Kind::String, s);
        State::Root
    }
}

/// Go's `%#U` formatting of a rune.
fn go_unicode(c: char) -> String {
    if c.is_control() { format!("U+{:04X}", c as u32) } else { format!("U+{:04X} '{c}'", c as u32) }
}

/// Unquotes and unescapes a quoted string literal (expr's `unescape`).
fn unescape(value: &str) -> Result<String, String> {
    let value = value.replace("\r\n", "\n").replace('\r', "\n");
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    let fail = || Err("unable to unescape string".to_string());
    if n < 2 || chars[0] != chars[n - 1] || (chars[0] != '"' && chars[0] != '\'') {
        return fail();
    }
    let s = &chars[1..n - 1];
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c != '\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let Some(&e) = s.get(i + 1) else {
            return Err("unable to unescape string, found '\\' as last character".into());
        };
        i += 2;
        let simple = match e {
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            '\\' => Some('\\'),
            '\'' => Some('\''),
            '"' => Some('"'),
            '`' => Some('`'),
            '?' => Some('?'),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            continue;
        }
        match e {
            'x' | 'X' | 'u' | 'U' => {
                let len = match e {
                    'x' | 'X' => 2,
                    'u' => 4,
                    _ => 8,
                };
                if s.len() < i + len {
                    return fail();
                }
                let mut v: u32 = 0;
                for &h in &s[i..i + len] {
                    let Some(d) = h.to_digit(16) else {
                        return fail();
                    };
                    v = (v << 4) | d;
                }
                i += len;
                if e == 'x' || e == 'X' {
                    // A single byte; Go appends it raw. Keep valid UTF-8 by mapping to U+00XX.
                    out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                } else {
                    match char::from_u32(v) {
                        Some(c) => out.push(c),
                        None if v <= 0x10FFFF => out.push('\u{fffd}'),
                        None => return fail(),
                    }
                }
            }
            '0'..='3' => {
                if s.len() < i + 2 {
                    return Err("unable to unescape octal sequence in string".into());
                }
                let mut v = e as u32 - '0' as u32;
                for &o in &s[i..i + 2] {
                    if !('0'..='7').contains(&o) {
                        return Err("unable to unescape octal sequence in string".into());
                    }
                    v = v * 8 + (o as u32 - '0' as u32);
                }
                i += 2;
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
            }
            _ => return fail(),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        lex(s).unwrap().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn tokens() {
        assert_eq!(
            toks("a.b >= 0.99 && !c"),
            [
                "Identifier(\"a\")",
                "Operator(\".\")",
                "Identifier(\"b\")",
                "Operator(\">=\")",
                "Number(\"0.99\")",
                "Operator(\"&&\")",
                "Operator(\"!\")",
                "Identifier(\"c\")",
                "EOF"
            ]
        );
        assert_eq!(
            toks("x not in [1..2] ?? #index"),
            [
                "Identifier(\"x\")",
                "Operator(\"not\")",
                "Operator(\"in\")",
                "Bracket(\"[\")",
                "Number(\"1\")",
                "Operator(\"..\")",
                "Number(\"2\")",
                "Bracket(\"]\")",
                "Operator(\"??\")",
                "Operator(\"#\")",
                "Identifier(\"index\")",
                "EOF"
            ]
        );
        assert_eq!(toks("'a\\nb'"), ["String(\"a\\nb\")", "EOF"]);
        assert_eq!(toks("`a\\n`"), ["String(\"a\\\\n\")", "EOF"]);
        assert_eq!(toks("1 // c\n/* d */ 2"), ["Number(\"1\")", "Number(\"2\")", "EOF"]);
    }

    #[test]
    fn errors() {
        assert_eq!(lex("1 @ 2").unwrap_err(), "unrecognized character: U+0040 '@'");
        assert_eq!(lex("\"abc").unwrap_err(), "literal not terminated");
        assert_eq!(lex("\"a\\qb\"").unwrap_err(), "invalid char escape");
        assert_eq!(lex("12ab").unwrap_err(), "bad number syntax: \"12a\"");
        assert_eq!(lex("/* x").unwrap_err(), "unclosed comment");
    }
}
