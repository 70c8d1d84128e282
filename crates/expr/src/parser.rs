//! Recursive-descent parser, mirroring expr-lang's `parser/parser.go` (precedence climbing).

use crate::lexer::{Kind, Token, is_alphabetic, is_alphanumeric, lex};

/// Maximum AST depth.
pub(crate) const MAX_DEPTH: u32 = 256;

/// Maximum parser recursion (nesting of parentheses, brackets, calls, unary operators...).
/// Lower than `MAX_DEPTH` because every level costs several parser frames.
pub(crate) const MAX_RECURSION: u32 = 128;

#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub(crate) kind: NodeKind,
    pub(crate) depth: u32,
}

#[derive(Clone, Debug)]
pub(crate) enum NodeKind {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Ident(String),
    /// `#` (empty name), `#index`, `#acc`.
    Pointer(String),
    Unary {
        op: String,
        node: Box<Node>,
    },
    Binary {
        op: String,
        left: Box<Node>,
        right: Box<Node>,
    },
    Chain(Box<Node>),
    Member {
        node: Box<Node>,
        prop: Box<Node>,
        optional: bool,
        method: bool,
    },
    Slice {
        node: Box<Node>,
        from: Option<Box<Node>>,
        to: Option<Box<Node>>,
    },
    Call {
        callee: Box<Node>,
        args: Vec<Node>,
    },
    Builtin {
        name: String,
        args: Vec<Node>,
    },
    Predicate(Box<Node>),
    Cond {
        cond: Box<Node>,
        a: Box<Node>,
        b: Box<Node>,
    },
    Array(Vec<Node>),
    Map(Vec<(Node, Node)>),
    Let {
        name: String,
        value: Box<Node>,
        body: Box<Node>,
    },
}

impl NodeKind {
    fn child_depth(&self) -> u32 {
        let d = |n: &Node| n.depth;
        let v = |ns: &[Node]| ns.iter().map(|n| n.depth).max().unwrap_or(0);
        match self {
            NodeKind::Nil
            | NodeKind::Bool(_)
            | NodeKind::Int(_)
            | NodeKind::Float(_)
            | NodeKind::Str(_)
            | NodeKind::Ident(_)
            | NodeKind::Pointer(_) => 0,
            NodeKind::Unary { node, .. } => d(node),
            NodeKind::Chain(n) | NodeKind::Predicate(n) => d(n),
            NodeKind::Binary { left, right, .. } => d(left).max(d(right)),
            NodeKind::Member { node, prop, .. } => d(node).max(d(prop)),
            NodeKind::Slice { node, from, to } => {
                d(node).max(from.as_deref().map_or(0, d)).max(to.as_deref().map_or(0, d))
            }
            NodeKind::Call { callee, args } => d(callee).max(v(args)),
            NodeKind::Builtin { args, .. } | NodeKind::Array(args) => v(args),
            NodeKind::Cond { cond, a, b } => d(cond).max(d(a)).max(d(b)),
            NodeKind::Map(pairs) => pairs.iter().map(|(k, v)| k.depth.max(v.depth)).max().unwrap_or(0),
            NodeKind::Let { value, body, .. } => d(value).max(d(body)),
        }
    }
}

/// Operators and their (precedence, right-associative).
fn binary_op(op: &str) -> Option<(u32, bool)> {
    Some(match op {
        "|" => (0, false),
        "or" | "||" => (10, false),
        "and" | "&&" => (15, false),
        "==" | "!=" | "<" | ">" | ">=" | "<=" | "in" | "matches" | "contains" | "startsWith" | "endsWith" => {
            (20, false)
        }
        ".." => (25, false),
        "+" | "-" => (30, false),
        "*" | "/" | "%" => (60, false),
        "**" | "^" => (100, true),
        "??" => (500, false),
        _ => return None,
    })
}

fn unary_op(op: &str) -> Option<u32> {
    match op {
        "not" | "!" => Some(50),
        "-" | "+" => Some(90),
        _ => None,
    }
}

fn is_comparison(op: &str) -> bool {
    matches!(op, "<" | ">" | ">=" | "<=")
}

fn allowed_negate_suffix(op: &str) -> bool {
    matches!(op, "contains" | "matches" | "startsWith" | "endsWith" | "in")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ArgSpec {
    Expr,
    Predicate,
    OptionalPredicate,
    OptionalExpr,
}

fn predicate_args(name: &str) -> Option<&'static [ArgSpec]> {
    use ArgSpec::*;
    Some(match name {
        "all" | "none" | "any" | "one" | "filter" | "map" | "find" | "findIndex" | "findLast" | "findLastIndex"
        | "groupBy" => &[Expr, Predicate],
        "count" | "sum" => &[Expr, OptionalPredicate],
        "sortBy" | "reduce" => &[Expr, Predicate, OptionalExpr],
        _ => return None,
    })
}

/// Names expr-lang parses as builtins (when not overridden by the environment).
pub(crate) const BUILTIN_NAMES: &[&str] = &[
    "len",
    "type",
    "abs",
    "ceil",
    "floor",
    "round",
    "int",
    "float",
    "string",
    "trim",
    "trimPrefix",
    "trimSuffix",
    "upper",
    "lower",
    "split",
    "splitAfter",
    "replace",
    "repeat",
    "join",
    "indexOf",
    "lastIndexOf",
    "hasPrefix",
    "hasSuffix",
    "max",
    "min",
    "mean",
    "median",
    "toJSON",
    "fromJSON",
    "toBase64",
    "fromBase64",
    "now",
    "duration",
    "date",
    "timezone",
    "first",
    "last",
    "get",
    "take",
    "keys",
    "values",
    "toPairs",
    "fromPairs",
    "reverse",
    "uniq",
    "concat",
    "flatten",
    "sort",
    "bitand",
    "bitor",
    "bitxor",
    "bitnand",
    "bitshl",
    "bitshr",
    "bitushr",
    "bitnot",
];

struct Parser<'e> {
    tokens: Vec<Token>,
    pos: usize,
    current: Token,
    predicate_depth: u32,
    recursion: u32,
    overridden: &'e dyn Fn(&str) -> bool,
}

type PResult<T> = Result<T, String>;

#[cold]
fn too_deep() -> String {
    "expression is too deeply nested".to_string()
}

/// Parses a full expression. `overridden(name)` tells whether the environment defines `name`
/// (which then shadows a builtin of the same name).
pub(crate) fn parse(source: &str, overridden: &dyn Fn(&str) -> bool) -> PResult<Node> {
    let tokens = lex(source)?;
    let current = tokens.first().cloned().ok_or_else(|| "empty input".to_string())?;
    let mut p = Parser { tokens, pos: 0, current, predicate_depth: 0, recursion: 0, overridden };
    let node = p.parse_expression(0)?;
    if p.current.kind != Kind::Eof {
        return Err(format!("unexpected token {}", p.current));
    }
    Ok(node)
}

/// What the binary-operator loop decided to do next.
enum OpStep {
    Stop,
    Pipe,
    Comparison(String, u32),
    Binary(String, u32, bool, bool),
}

// The functions on the recursive path are kept small (helpers are `#[inline(never)]`) so that
// deeply nested input needs little stack per level, also in debug builds.
impl Parser<'_> {
    #[inline(never)]
    fn mk(&self, kind: NodeKind) -> PResult<Node> {
        let depth = kind.child_depth() + 1;
        if depth > MAX_DEPTH {
            return Err(too_deep());
        }
        Ok(Node { kind, depth })
    }

    #[inline(never)]
    fn binary_node(&self, op: String, left: Node, right: Node, negate: bool) -> PResult<Node> {
        let node = self.mk(NodeKind::Binary { op, left: Box::new(left), right: Box::new(right) })?;
        if negate {
            return self.mk(NodeKind::Unary { op: "not".into(), node: Box::new(node) });
        }
        Ok(node)
    }

    #[inline(never)]
    fn next(&mut self) -> PResult<()> {
        self.pos += 1;
        match self.tokens.get(self.pos) {
            Some(t) => {
                self.current = t.clone();
                Ok(())
            }
            None => Err("unexpected end of expression".into()),
        }
    }

    fn is(&self, kind: Kind, value: &str) -> bool {
        self.current.is(kind, value)
    }

    #[inline(never)]
    fn expect(&mut self, kind: Kind, value: Option<&str>) -> PResult<()> {
        if self.current.kind == kind && value.is_none_or(|v| self.current.value == v) {
            return self.next();
        }
        Err(self.unexpected())
    }

    #[cold]
    #[inline(never)]
    fn unexpected(&self) -> String {
        format!("unexpected token {}", self.current)
    }

    fn parse_expression(&mut self, precedence: u32) -> PResult<Node> {
        self.recursion += 1;
        if self.recursion > MAX_RECURSION {
            return Err(too_deep());
        }
        let r = self.parse_expression_inner(precedence);
        self.recursion -= 1;
        r
    }

    fn parse_expression_inner(&mut self, precedence: u32) -> PResult<Node> {
        if precedence == 0 && self.current.kind == Kind::Operator {
            if self.current.value == "let" {
                return self.parse_let();
            }
            if self.current.value == "if" {
                return self.parse_if();
            }
        }
        let mut left = self.parse_primary()?;
        let mut prev_coalesce = false;
        loop {
            let step = self.next_op(precedence, prev_coalesce)?;
            left = match step {
                OpStep::Stop => break,
                OpStep::Pipe => {
                    prev_coalesce = false;
                    self.parse_pipe(left)?
                }
                OpStep::Comparison(op, prec) => {
                    prev_coalesce = false;
                    self.parse_comparison(left, op, prec)?
                }
                OpStep::Binary(op, prec, right_assoc, negate) => {
                    prev_coalesce = op == "??";
                    let right = self.parse_expression(if right_assoc { prec } else { prec + 1 })?;
                    self.binary_node(op, left, right, negate)?
                }
            };
        }
        if precedence == 0 {
            left = self.parse_conditional(left)?;
        }
        Ok(left)
    }

    /// Decides (and consumes) the next binary operator, if it binds at `precedence`.
    #[inline(never)]
    fn next_op(&mut self, precedence: u32, prev_coalesce: bool) -> PResult<OpStep> {
        if self.current.kind != Kind::Operator {
            return Ok(OpStep::Stop);
        }
        let mut op_token = self.current.clone();
        let negate = op_token.value == "not";
        if negate {
            let saved_pos = self.pos;
            self.next()?;
            if !allowed_negate_suffix(&self.current.value) {
                return Err(self.unexpected());
            }
            match binary_op(&self.current.value) {
                Some((prec, _)) if prec >= precedence => op_token = self.current.clone(),
                _ => {
                    self.pos = saved_pos;
                    self.current = op_token;
                    return Ok(OpStep::Stop);
                }
            }
        }
        let Some((prec, right_assoc)) = binary_op(&op_token.value) else {
            return Ok(OpStep::Stop);
        };
        if prec < precedence {
            return Ok(OpStep::Stop);
        }
        self.next()?;
        if op_token.value == "|" {
            return Ok(OpStep::Pipe);
        }
        if prev_coalesce && op_token.value != "??" {
            return Err(format!(
                "Operator ({}) and coalesce expressions (??) cannot be mixed. Wrap either by parentheses.",
                op_token.value
            ));
        }
        if is_comparison(&op_token.value) {
            return Ok(OpStep::Comparison(op_token.value, prec));
        }
        Ok(OpStep::Binary(op_token.value, prec, right_assoc, negate))
    }

    fn parse_pipe(&mut self, left: Node) -> PResult<Node> {
        let ident = self.current.clone();
        self.expect(Kind::Identifier, None)?;
        self.parse_call(&ident, vec![left], true)
    }

    fn parse_comparison(&mut self, mut left: Node, mut op: String, prec: u32) -> PResult<Node> {
        let mut root: Option<Node> = None;
        loop {
            let comparator = self.parse_expression(prec + 1)?;
            root = Some(self.comparison_node(root, op, left, &comparator)?);
            left = comparator;
            if !(self.current.kind == Kind::Operator && is_comparison(&self.current.value)) {
                break;
            }
            op = self.current.value.clone();
            self.next()?;
        }
        root.ok_or_else(|| self.unexpected())
    }

    #[inline(never)]
    fn comparison_node(&self, root: Option<Node>, op: String, left: Node, right: &Node) -> PResult<Node> {
        let cmp = self.binary_node(op, left, right.clone(), false)?;
        match root {
            None => Ok(cmp),
            Some(r) => self.binary_node("&&".into(), r, cmp, false),
        }
    }

    fn parse_let(&mut self) -> PResult<Node> {
        self.expect(Kind::Operator, Some("let"))?;
        let name = self.current.value.clone();
        self.expect(Kind::Identifier, None)?;
        self.expect(Kind::Operator, Some("="))?;
        let value = self.parse_expression(0)?;
        self.expect(Kind::Operator, Some(";"))?;
        let body = self.parse_expression(0)?;
        self.mk(NodeKind::Let { name, value: Box::new(value), body: Box::new(body) })
    }

    fn parse_if(&mut self) -> PResult<Node> {
        self.next()?;
        let cond = self.parse_expression(0)?;
        let a = self.parse_braced()?;
        self.expect(Kind::Operator, Some("else"))?;
        let b = if self.is(Kind::Operator, "if") { self.parse_if()? } else { self.parse_braced()? };
        self.cond_node(cond, a, b)
    }

    fn parse_braced(&mut self) -> PResult<Node> {
        self.expect(Kind::Bracket, Some("{"))?;
        let n = self.parse_expression(0)?;
        self.expect(Kind::Bracket, Some("}"))?;
        Ok(n)
    }

    #[inline(never)]
    fn cond_node(&self, cond: Node, a: Node, b: Node) -> PResult<Node> {
        self.mk(NodeKind::Cond { cond: Box::new(cond), a: Box::new(a), b: Box::new(b) })
    }

    fn parse_conditional(&mut self, mut node: Node) -> PResult<Node> {
        while self.is(Kind::Operator, "?") {
            self.next()?;
            let (a, b) = if !self.is(Kind::Operator, ":") {
                let a = self.parse_expression(0)?;
                self.expect(Kind::Operator, Some(":"))?;
                (a, self.parse_expression(0)?)
            } else {
                self.next()?;
                (node.clone(), self.parse_expression(0)?)
            };
            node = self.cond_node(node, a, b)?;
        }
        Ok(node)
    }

    fn parse_primary(&mut self) -> PResult<Node> {
        if self.current.kind == Kind::Operator {
            if let Some(prec) = unary_op(&self.current.value) {
                return self.parse_unary(prec);
            }
            if self.current.value == "#" || self.current.value == "." {
                return self.parse_pointer();
            }
            if self.current.value == "::" {
                return self.parse_qualified_call();
            }
        }
        if self.is(Kind::Bracket, "(") {
            self.next()?;
            let expr = self.parse_expression(0)?;
            self.expect(Kind::Bracket, Some(")"))?;
            return self.parse_postfix(expr);
        }
        self.parse_secondary()
    }

    fn parse_unary(&mut self, prec: u32) -> PResult<Node> {
        let op = self.current.value.clone();
        self.next()?;
        let expr = self.parse_expression(prec)?;
        let node = self.mk(NodeKind::Unary { op, node: Box::new(expr) })?;
        self.parse_postfix(node)
    }

    fn parse_pointer(&mut self) -> PResult<Node> {
        if self.predicate_depth == 0 {
            return Err("cannot use pointer accessor outside predicate".into());
        }
        let mut name = String::new();
        if self.current.value == "#" {
            self.next()?;
            if self.current.kind == Kind::Identifier {
                name = self.current.value.clone();
                self.next()?;
            }
        }
        let node = self.mk(NodeKind::Pointer(name))?;
        self.parse_postfix(node)
    }

    fn parse_qualified_call(&mut self) -> PResult<Node> {
        self.next()?;
        let t = self.current.clone();
        self.expect(Kind::Identifier, None)?;
        let call = self.parse_call(&t, Vec::new(), false)?;
        self.parse_postfix(call)
    }

    fn parse_secondary(&mut self) -> PResult<Node> {
        let node = match self.current.kind {
            Kind::Identifier => {
                let token = self.current.clone();
                self.next()?;
                match token.value.as_str() {
                    "true" => return self.mk(NodeKind::Bool(true)),
                    "false" => return self.mk(NodeKind::Bool(false)),
                    "nil" => return self.mk(NodeKind::Nil),
                    _ => {
                        if self.is(Kind::Bracket, "(") {
                            self.parse_call(&token, Vec::new(), true)?
                        } else {
                            self.mk(NodeKind::Ident(token.value))?
                        }
                    }
                }
            }
            Kind::Number => {
                let kind = parse_number(&self.current.value)?;
                self.next()?;
                return self.mk(kind);
            }
            Kind::String => {
                let kind = NodeKind::Str(self.current.value.clone());
                self.next()?;
                self.mk(kind)?
            }
            _ => {
                if self.is(Kind::Bracket, "[") {
                    self.parse_array()?
                } else if self.is(Kind::Bracket, "{") {
                    self.parse_map()?
                } else {
                    return Err(self.unexpected());
                }
            }
        };
        self.parse_postfix(node)
    }

    fn parse_call(&mut self, token: &Token, args: Vec<Node>, check_overrides: bool) -> PResult<Node> {
        let name = token.value.clone();
        let overridden = check_overrides && (self.overridden)(&name);
        if !overridden && let Some(specs) = predicate_args(&name) {
            return self.parse_predicate_call(name, args, specs);
        }
        if !overridden && BUILTIN_NAMES.contains(&name.as_str()) {
            let args = self.parse_arguments(args)?;
            return self.mk(NodeKind::Builtin { name, args });
        }
        let callee = self.mk(NodeKind::Ident(name))?;
        let args = self.parse_arguments(args)?;
        self.mk(NodeKind::Call { callee: Box::new(callee), args })
    }

    fn parse_predicate_call(&mut self, name: String, mut args: Vec<Node>, specs: &[ArgSpec]) -> PResult<Node> {
        self.expect(Kind::Bracket, Some("("))?;
        let specs = specs.get(args.len()..).unwrap_or(&[]);
        for (i, spec) in specs.iter().enumerate() {
            if self.is(Kind::Bracket, ")") {
                if matches!(spec, ArgSpec::OptionalExpr | ArgSpec::OptionalPredicate) {
                    break;
                }
                return Err(format!("expected at least {} arguments", specs.len()));
            }
            if i > 0 {
                self.expect(Kind::Operator, Some(","))?;
            }
            let node = match spec {
                ArgSpec::Expr | ArgSpec::OptionalExpr => self.parse_expression(0)?,
                ArgSpec::Predicate | ArgSpec::OptionalPredicate => self.parse_predicate()?,
            };
            args.push(node);
        }
        if self.is(Kind::Operator, ",") {
            self.next()?;
        }
        self.expect(Kind::Bracket, Some(")"))?;
        self.mk(NodeKind::Builtin { name, args })
    }

    fn parse_arguments(&mut self, mut args: Vec<Node>) -> PResult<Vec<Node>> {
        let offset = args.len();
        self.expect(Kind::Bracket, Some("("))?;
        while !self.is(Kind::Bracket, ")") {
            if args.len() > offset {
                self.expect(Kind::Operator, Some(","))?;
            }
            if self.is(Kind::Bracket, ")") {
                break;
            }
            args.push(self.parse_expression(0)?);
        }
        self.expect(Kind::Bracket, Some(")"))?;
        Ok(args)
    }

    fn parse_predicate(&mut self) -> PResult<Node> {
        // A predicate nests several parser frames deeper than other constructs; count it twice.
        self.recursion += 1;
        let r = self.parse_predicate_inner();
        self.recursion -= 1;
        r
    }

    fn parse_predicate_inner(&mut self) -> PResult<Node> {
        let braces = self.is(Kind::Bracket, "{");
        if braces {
            self.next()?;
        }
        self.predicate_depth += 1;
        let node = self.parse_expression(0);
        self.predicate_depth -= 1;
        let node = node?;
        if braces {
            self.expect(Kind::Bracket, Some("}"))?;
        }
        self.mk(NodeKind::Predicate(Box::new(node)))
    }

    fn parse_array(&mut self) -> PResult<Node> {
        let mut nodes = Vec::new();
        self.expect(Kind::Bracket, Some("["))?;
        while !self.is(Kind::Bracket, "]") {
            if !nodes.is_empty() {
                self.expect(Kind::Operator, Some(","))?;
                if self.is(Kind::Bracket, "]") {
                    break;
                }
            }
            nodes.push(self.parse_expression(0)?);
        }
        self.expect(Kind::Bracket, Some("]"))?;
        self.mk(NodeKind::Array(nodes))
    }

    fn parse_map(&mut self) -> PResult<Node> {
        self.expect(Kind::Bracket, Some("{"))?;
        let mut pairs = Vec::new();
        while !self.is(Kind::Bracket, "}") {
            if !pairs.is_empty() {
                self.expect(Kind::Operator, Some(","))?;
                if self.is(Kind::Bracket, "}") {
                    break;
                }
                if self.is(Kind::Operator, ",") {
                    return Err(self.unexpected());
                }
            }
            let key = self.parse_map_key()?;
            self.expect(Kind::Operator, Some(":"))?;
            let value = self.parse_expression(0)?;
            pairs.push((key, value));
        }
        self.expect(Kind::Bracket, Some("}"))?;
        self.mk(NodeKind::Map(pairs))
    }

    fn parse_map_key(&mut self) -> PResult<Node> {
        if matches!(self.current.kind, Kind::Number | Kind::String | Kind::Identifier) {
            let k = self.mk(NodeKind::Str(self.current.value.clone()))?;
            self.next()?;
            return Ok(k);
        }
        if self.is(Kind::Bracket, "(") {
            return self.parse_expression(0);
        }
        Err(format!(
            "a map key must be a quoted string, a number, a identifier, or an expression enclosed in parentheses (unexpected token {})",
            self.current
        ))
    }

    fn parse_postfix(&mut self, mut node: Node) -> PResult<Node> {
        loop {
            if !matches!(self.current.kind, Kind::Operator | Kind::Bracket) {
                break;
            }
            let v = self.current.value.as_str();
            if v == "." || v == "?." {
                let optional = v == "?.";
                self.next()?;
                if optional && self.is(Kind::Bracket, "[") {
                    node = self.parse_index(node, true)?;
                } else {
                    node = self.parse_property(node, optional)?;
                }
            } else if v == "[" {
                node = self.parse_index(node, false)?;
            } else {
                break;
            }
        }
        Ok(node)
    }

    /// `.name` / `?.name` / `.name(args)` (the `.` has been consumed).
    fn parse_property(&mut self, node: Node, optional: bool) -> PResult<Node> {
        let prop_token = self.current.clone();
        self.next()?;
        if prop_token.kind != Kind::Identifier
            && (prop_token.kind != Kind::Operator || !is_valid_identifier(&prop_token.value))
        {
            return Err("expected name".into());
        }
        let prop = self.mk(NodeKind::Str(prop_token.value))?;
        let (inner, is_chain) = match node.kind {
            NodeKind::Chain(inner) => (*inner, true),
            other => (Node { kind: other, depth: node.depth }, false),
        };
        let method = self.is(Kind::Bracket, "(");
        let member = self.mk(NodeKind::Member { node: Box::new(inner), prop: Box::new(prop), optional, method })?;
        let mut node = if method {
            let args = self.parse_arguments(Vec::new())?;
            self.mk(NodeKind::Call { callee: Box::new(member), args })?
        } else {
            member
        };
        if is_chain || optional {
            node = self.mk(NodeKind::Chain(Box::new(node)))?;
        }
        Ok(node)
    }

    /// Parses `[...]` after `node` (current token is `[`): index or slice.
    fn parse_index(&mut self, node: Node, optional: bool) -> PResult<Node> {
        self.next()?;
        if self.is(Kind::Operator, ":") {
            self.next()?;
            let to = self.parse_slice_end()?;
            return self.slice_node(node, None, to);
        }
        let from = self.parse_expression(0)?;
        if self.is(Kind::Operator, ":") {
            self.next()?;
            let to = self.parse_slice_end()?;
            return self.slice_node(node, Some(from), to);
        }
        let mut n =
            self.mk(NodeKind::Member { node: Box::new(node), prop: Box::new(from), optional, method: false })?;
        if optional {
            n = self.mk(NodeKind::Chain(Box::new(n)))?;
        }
        self.expect(Kind::Bracket, Some("]"))?;
        Ok(n)
    }

    fn parse_slice_end(&mut self) -> PResult<Option<Node>> {
        if self.is(Kind::Bracket, "]") {
            return Ok(None);
        }
        Ok(Some(self.parse_expression(0)?))
    }

    #[inline(never)]
    fn slice_node(&mut self, node: Node, from: Option<Node>, to: Option<Node>) -> PResult<Node> {
        let n = self.mk(NodeKind::Slice { node: Box::new(node), from: from.map(Box::new), to: to.map(Box::new) })?;
        self.expect(Kind::Bracket, Some("]"))?;
        Ok(n)
    }
}

fn is_valid_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if is_alphabetic(c) => chars.all(is_alphanumeric),
        _ => false,
    }
}

/// Go `strconv` number parsing as done by expr's parser.
fn parse_number(raw: &str) -> PResult<NodeKind> {
    let value = raw.replace('_', "");
    let lower = value.to_ascii_lowercase();
    let parse_int = |digits: &str, radix: u32, what: &str| -> PResult<NodeKind> {
        match u64::from_str_radix(digits, radix) {
            Ok(n) if n <= i64::MAX as u64 => Ok(NodeKind::Int(n as i64)),
            Ok(_) => Err(format!("invalid {what} literal: strconv.ParseInt: parsing \"{value}\": value out of range")),
            Err(e) if matches!(e.kind(), std::num::IntErrorKind::PosOverflow) => {
                Err(format!("invalid {what} literal: strconv.ParseInt: parsing \"{value}\": value out of range"))
            }
            Err(_) => Err(format!("invalid {what} literal: strconv.ParseInt: parsing \"{value}\": invalid syntax")),
        }
    };
    if lower.starts_with("0x") {
        return parse_int(&value[2..], 16, "hex");
    }
    if lower.contains('.') || lower.contains('e') {
        return match value.parse::<f64>() {
            Ok(f) if f.is_infinite() => {
                Err(format!("invalid float literal: strconv.ParseFloat: parsing \"{value}\": value out of range"))
            }
            Ok(f) => Ok(NodeKind::Float(f)),
            Err(_) => Err(format!("invalid float literal: strconv.ParseFloat: parsing \"{value}\": invalid syntax")),
        };
    }
    if lower.starts_with("0b") {
        return parse_int(&value[2..], 2, "binary");
    }
    if lower.starts_with("0o") {
        return parse_int(&value[2..], 8, "octal");
    }
    parse_int(&value, 10, "integer")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PResult<Node> {
        parse(s, &|_| false)
    }

    #[test]
    fn parse_errors() {
        let cases = [
            ("1 +", "unexpected token EOF"),
            ("(1", "unexpected token EOF"),
            ("1 2", "unexpected token Number(\"2\")"),
            ("foo.", "unexpected end of expression"),
            ("a ?? b || c", "Operator (||) and coalesce expressions (??) cannot be mixed. Wrap either by parentheses."),
            ("# > 1", "cannot use pointer accessor outside predicate"),
            ("all(x)", "expected at least 2 arguments"),
            ("a not b", "unexpected token Identifier(\"b\")"),
            (
                "99999999999999999999",
                "invalid integer literal: strconv.ParseInt: parsing \"99999999999999999999\": value out of range",
            ),
            ("1e400", "invalid float literal: strconv.ParseFloat: parsing \"1e400\": value out of range"),
            (
                "{[1]: 2}",
                "a map key must be a quoted string, a number, a identifier, or an expression enclosed in parentheses (unexpected token Bracket(\"[\"))",
            ),
        ];
        for (src, msg) in cases {
            assert_eq!(p(src).unwrap_err(), msg, "{src}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let src = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(p(&src).unwrap_err().contains("too deeply nested"));
        let src = format!("x{}", ".a".repeat(10_000));
        assert!(p(&src).unwrap_err().contains("too deeply nested"));
        let src = format!("1{}", " + 1".repeat(10_000));
        assert!(p(&src).unwrap_err().contains("too deeply nested"));
        let src = "-".repeat(10_000) + "1";
        assert!(p(&src).unwrap_err().contains("too deeply nested"));
        let src = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(p(&src).unwrap_err().contains("too deeply nested"));
    }
}
