//! Static type checker (mirroring expr-lang's `checker/checker.go`) that also lowers the AST to
//! the evaluator's IR.

use std::sync::Arc;

use crate::builtins::{self, Bf, Sig};
use crate::eval::{BinOp, Ir, Pk, PointerKind, compile_regex};
use crate::parser::{Node, NodeKind};
use crate::value::{Type, Value};
use crate::{Function, TypeEnv};

type CResult = Result<(Type, Ir), String>;

struct PredScope {
    collection: Type,
    vars: Vec<(&'static str, Type)>,
}

pub(crate) struct Checker<'e> {
    env: &'e TypeEnv,
    scopes: Vec<PredScope>,
    lets: Vec<(String, Type, usize)>,
    pub(crate) n_locals: usize,
    /// Error found by expr's constant folder (reported only if type checking succeeds).
    pub(crate) fold_err: Option<String>,
}

/// How expr's checker prints a nature (`nil` has no reflect type and prints as "unknown").
fn tn(t: &Type) -> String {
    match t {
        Type::Nil => "unknown".into(),
        other => other.to_string(),
    }
}

/// expr's `Nature.ComparableTo`.
fn comparable(l: &Type, r: &Type) -> bool {
    l.is_unknown()
        || r.is_unknown()
        || matches!(l, Type::Nil)
        || matches!(r, Type::Nil)
        || (l.is_number() && r.is_number())
        || (l.is_time() && r.is_time())
        || (l.is_array() && r.is_array())
        || l.assignable_to(r)
}

/// expr's `Nature.MaybeCompatible`.
fn maybe_compatible(l: &Type, r: &Type, checks: &[fn(&Type) -> bool]) -> bool {
    let any_of = |t: &Type| checks.iter().any(|c| c(t));
    let (lu, ru) = (l.is_unknown(), r.is_unknown());
    (lu && (ru || any_of(r))) || (ru && any_of(l))
}

fn promote(l: &Type, r: &Type) -> Type {
    if l.is_unknown() || r.is_unknown() {
        Type::Any
    } else if l.is_float() || r.is_float() {
        Type::Float
    } else {
        Type::Int
    }
}

/// expr's `arrayNode`: `[]T` when all elements have the same kind, else `[]interface {}`.
fn array_literal_type(types: Vec<Type>) -> Type {
    let same = types.windows(2).all(|w| w[0].kind() == w[1].kind());
    match types.into_iter().last() {
        Some(p) if same && !matches!(p, Type::Nil) => Type::array(p),
        _ => Type::array(Type::Any),
    }
}

fn boxed(ir: Ir) -> Box<Ir> {
    Box::new(ir)
}

/// An argument slot for sequential, lazily-visited argument checking.
enum ArgState {
    Pending,
    Done(Type, Ir),
}

impl<'e> Checker<'e> {
    pub(crate) fn new(env: &'e TypeEnv) -> Self {
        Checker { env, scopes: Vec::new(), lets: Vec::new(), n_locals: 0, fold_err: None }
    }

    pub(crate) fn check(&mut self, node: &Node) -> CResult {
        match &node.kind {
            NodeKind::Nil => Ok((Type::Nil, Ir::Const(Value::Nil))),
            NodeKind::Bool(b) => Ok((Type::Bool, Ir::Const(Value::Bool(*b)))),
            NodeKind::Int(i) => Ok((Type::Int, Ir::Const(Value::Int(*i)))),
            NodeKind::Float(f) => Ok((Type::Float, Ir::Const(Value::Float(*f)))),
            NodeKind::Str(s) => Ok((Type::String, Ir::Const(Value::string(s)))),
            NodeKind::Ident(name) => self.ident(name),
            NodeKind::Pointer(name) => self.pointer(name),
            NodeKind::Unary { op, node } => self.unary(op, node),
            NodeKind::Binary { op, left, right } => self.binary(op, left, right),
            NodeKind::Chain(inner) => {
                let (t, ir) = self.check(inner)?;
                Ok((t, Ir::Chain(boxed(ir))))
            }
            NodeKind::Member { node, prop, optional, method } => self.member(node, prop, *optional, *method),
            NodeKind::Slice { node, from, to } => self.slice(node, from.as_deref(), to.as_deref()),
            NodeKind::Call { callee, args } => self.call(callee, args),
            NodeKind::Builtin { name, args } => self.builtin(name, args),
            NodeKind::Predicate(_) => Err("predicate should has one input and one output param".into()),
            NodeKind::Cond { cond, a, b } => self.conditional(cond, a, b),
            NodeKind::Array(items) => self.array(items),
            NodeKind::Map(pairs) => self.map_literal(pairs),
            NodeKind::Let { name, value, body } => self.let_expr(name, value, body),
        }
    }

    fn array(&mut self, items: &[Node]) -> CResult {
        let mut irs = Vec::with_capacity(items.len());
        let mut types = Vec::with_capacity(items.len());
        for it in items {
            let (t, ir) = self.check(it)?;
            types.push(t);
            irs.push(ir);
        }
        Ok((array_literal_type(types), Ir::Array(irs)))
    }

    fn map_literal(&mut self, pairs: &[(Node, Node)]) -> CResult {
        let mut irs = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            let (_, ki) = self.check(k)?;
            let (_, vi) = self.check(v)?;
            irs.push((ki, vi));
        }
        Ok((Type::map(Type::Any), Ir::Map(irs)))
    }

    fn let_expr(&mut self, name: &str, value: &Node, body: &Node) -> CResult {
        self.check_redeclare(name)?;
        let (vt, vir) = self.check(value)?;
        let slot = self.n_locals;
        self.n_locals += 1;
        self.lets.push((name.to_string(), vt, slot));
        let r = self.check(body);
        self.lets.pop();
        let (bt, bir) = r?;
        Ok((bt, Ir::Let { slot, value: boxed(vir), body: boxed(bir) }))
    }

    #[inline(never)]
    fn check_redeclare(&self, name: &str) -> Result<(), String> {
        if self.env.var_type(name).is_some() {
            return Err(format!("cannot redeclare {name}"));
        }
        if self.env.function(name).is_some() {
            return Err(format!("cannot redeclare function {name}"));
        }
        if builtins::lookup(name).is_some() {
            return Err(format!("cannot redeclare builtin {name}"));
        }
        if self.lets.iter().any(|(n, _, _)| n == name) {
            return Err(format!("cannot redeclare variable {name}"));
        }
        Ok(())
    }

    fn ident(&mut self, name: &str) -> CResult {
        if let Some((_, t, slot)) = self.lets.iter().rev().find(|(n, _, _)| n == name) {
            return Ok((t.clone(), Ir::Local(*slot)));
        }
        if let Some(t) = self.env.var_type(name) {
            return Ok((t.clone(), Ir::Var(name.into())));
        }
        if self.env.function(name).is_some() || builtins::lookup(name).is_some() {
            return Err(format!("cannot use function {name} as a value (call it)"));
        }
        Err(format!("unknown name {name}"))
    }

    fn pointer(&mut self, name: &str) -> CResult {
        let Some(scope) = self.scopes.last() else {
            return Err("cannot use pointer accessor outside predicate".into());
        };
        if name.is_empty() {
            return match &scope.collection {
                Type::Any => Ok((Type::Any, Ir::Pointer(PointerKind::Item))),
                Type::Array(e) => Ok(((**e).clone(), Ir::Pointer(PointerKind::Item))),
                other => Err(format!("cannot use {} as array", tn(other))),
            };
        }
        for (n, t) in &scope.vars {
            if *n == name {
                let kind = if name == "index" { PointerKind::Index } else { PointerKind::Acc };
                return Ok((t.clone(), Ir::Pointer(kind)));
            }
        }
        Err(format!("unknown pointer #{name}"))
    }

    fn unary(&mut self, op: &str, node: &Node) -> CResult {
        let (t, ir) = self.check(node)?;
        unary_op(op, t, ir)
    }

    fn binary(&mut self, op: &str, left: &Node, right: &Node) -> CResult {
        let (l, li) = self.check(left)?;
        let (r, ri) = self.check(right)?;
        if op == "%"
            && matches!(left.kind, NodeKind::Int(_))
            && matches!(right.kind, NodeKind::Int(0))
            && self.fold_err.is_none()
        {
            self.fold_err = Some("integer divide by zero".into());
        }
        binary_op(op, l, li, r, ri, right)
    }
}

#[inline(never)]
fn unary_op(op: &str, t: Type, ir: Ir) -> CResult {
    match op {
        "!" | "not" => {
            if t.is_bool() || t.is_unknown() {
                return Ok((Type::Bool, Ir::Not(boxed(ir))));
            }
        }
        "-" | "+" => {
            if t.is_number() || t.is_unknown() {
                let rt = if t.is_unknown() { Type::Any } else { t.clone() };
                let ir = if op == "-" { Ir::Neg(boxed(ir)) } else { ir };
                return Ok((rt, ir));
            }
        }
        _ => return Err(format!("unknown operator ({op})")),
    }
    Err(format!("invalid operation: {op} (mismatched type {})", tn(&t)))
}

#[inline(never)]
fn binary_op(op: &str, l: Type, li: Ir, r: Type, ri: Ir, right: &Node) -> CResult {
    let bin = |o: BinOp, t: Type| Ok((t, Ir::Bin(o, boxed(li.clone()), boxed(ri.clone()))));
    let is_num: fn(&Type) -> bool = Type::is_number;
    let is_int: fn(&Type) -> bool = Type::is_integer;
    let is_str: fn(&Type) -> bool = Type::is_string;
    let is_time: fn(&Type) -> bool = Type::is_time;
    let is_dur: fn(&Type) -> bool = Type::is_duration;
    let is_bool: fn(&Type) -> bool = Type::is_bool;
    match op {
        "==" | "!=" => {
            if comparable(&l, &r) {
                return bin(if op == "==" { BinOp::Eq } else { BinOp::Ne }, Type::Bool);
            }
        }
        "or" | "||" | "and" | "&&" => {
            if (l.is_bool() && r.is_bool()) || maybe_compatible(&l, &r, &[is_bool]) {
                let ir =
                    if op == "or" || op == "||" { Ir::Or(boxed(li), boxed(ri)) } else { Ir::And(boxed(li), boxed(ri)) };
                return Ok((Type::Bool, ir));
            }
        }
        "<" | ">" | ">=" | "<=" => {
            if (l.is_number() && r.is_number())
                || (l.is_string() && r.is_string())
                || (l.is_time() && r.is_time())
                || (l.is_duration() && r.is_duration())
                || maybe_compatible(&l, &r, &[is_num, is_str, is_time, is_dur])
            {
                let o = match op {
                    "<" => BinOp::Lt,
                    ">" => BinOp::Gt,
                    ">=" => BinOp::Ge,
                    _ => BinOp::Le,
                };
                return bin(o, Type::Bool);
            }
        }
        "-" => {
            if l.is_number() && r.is_number() {
                return bin(BinOp::Sub, promote(&l, &r));
            }
            if l.is_time() && r.is_time() {
                return bin(BinOp::Sub, Type::Duration);
            }
            if l.is_time() && r.is_duration() {
                return bin(BinOp::Sub, Type::Time);
            }
            if l.is_duration() && r.is_duration() {
                return bin(BinOp::Sub, Type::Duration);
            }
            if maybe_compatible(&l, &r, &[is_num, is_time, is_dur]) {
                return bin(BinOp::Sub, Type::Any);
            }
        }
        "*" => {
            if l.is_number() && r.is_number() {
                return bin(BinOp::Mul, promote(&l, &r));
            }
            if maybe_compatible(&l, &r, &[is_num, is_dur]) {
                return bin(BinOp::Mul, Type::Any);
            }
        }
        "/" => {
            if (l.is_number() && r.is_number()) || maybe_compatible(&l, &r, &[is_num]) {
                return bin(BinOp::Div, Type::Float);
            }
        }
        "**" | "^" => {
            if (l.is_number() && r.is_number()) || maybe_compatible(&l, &r, &[is_num]) {
                return bin(BinOp::Pow, Type::Float);
            }
        }
        "%" => {
            if (l.is_integer() && r.is_integer()) || maybe_compatible(&l, &r, &[is_int]) {
                return bin(BinOp::Mod, Type::Int);
            }
        }
        "+" => {
            if l.is_number() && r.is_number() {
                return bin(BinOp::Add, promote(&l, &r));
            }
            if l.is_string() && r.is_string() {
                return bin(BinOp::Add, Type::String);
            }
            if (l.is_time() && r.is_duration()) || (l.is_duration() && r.is_time()) {
                return bin(BinOp::Add, Type::Time);
            }
            if l.is_duration() && r.is_duration() {
                return bin(BinOp::Add, Type::Duration);
            }
            if maybe_compatible(&l, &r, &[is_num, is_str, is_time, is_dur]) {
                return bin(BinOp::Add, Type::Any);
            }
        }
        "in" => {
            if (l.is_string() || l.is_unknown()) && r.is_struct() {
                return bin(BinOp::In, Type::Bool);
            }
            if r.is_map() {
                if !l.is_unknown() && !l.assignable_to(&Type::String) {
                    return Err(format!("cannot use {} as type string in map key", tn(&l)));
                }
                return bin(BinOp::In, Type::Bool);
            }
            if let Type::Array(elem) = &r {
                if !comparable(&l, elem) {
                    return Err(format!("cannot use {} as type {} in array", tn(&l), tn(elem)));
                }
                return bin(BinOp::In, Type::Bool);
            }
            if l.is_unknown() && (r.is_string() || r.is_array() || r.is_map()) {
                return bin(BinOp::In, Type::Bool);
            }
            if r.is_unknown() {
                return bin(BinOp::In, Type::Bool);
            }
        }
        "matches" => {
            let mut constant = None;
            if let NodeKind::Str(pattern) = &right.kind {
                constant = Some(compile_regex(pattern)?);
            }
            if (l.is_string() && r.is_string()) || maybe_compatible(&l, &r, &[is_str]) {
                return Ok((
                    Type::Bool,
                    match constant {
                        Some(re) => Ir::MatchesConst(boxed(li), re),
                        None => Ir::Bin(BinOp::Matches, boxed(li), boxed(ri)),
                    },
                ));
            }
        }
        "contains" | "startsWith" | "endsWith" => {
            if (l.is_string() && r.is_string()) || maybe_compatible(&l, &r, &[is_str]) {
                let o = match op {
                    "contains" => BinOp::Contains,
                    "startsWith" => BinOp::StartsWith,
                    _ => BinOp::EndsWith,
                };
                return bin(o, Type::Bool);
            }
        }
        ".." => {
            if (l.is_integer() && r.is_integer()) || maybe_compatible(&l, &r, &[is_int]) {
                return bin(BinOp::Range, Type::array(Type::Int));
            }
        }
        "??" => {
            let t = match (&l, &r) {
                (Type::Nil, Type::Nil) => Type::Nil,
                (Type::Nil, r) => r.clone(),
                (l, Type::Nil) => l.clone(),
                (l, r) if r.assignable_to(l) => l.clone(),
                _ => Type::Any,
            };
            return Ok((t, Ir::Coalesce(boxed(li), boxed(ri))));
        }
        _ => return Err(format!("unknown operator ({op})")),
    }
    Err(format!("invalid operation: {op} (mismatched types {} and {})", tn(&l), tn(&r)))
}

impl Checker<'_> {
    /// Static member access; returns (type, zero value for missing map keys).
    fn member_type(&self, base: &Type, prop: &Type, prop_node: &Node, method: bool) -> Result<(Type, Value), String> {
        if base.is_unknown() {
            return Ok((Type::Any, Value::Nil));
        }
        let name = match &prop_node.kind {
            NodeKind::Str(s) => Some(s.as_str()),
            _ => None,
        };
        if let Some(n) = name
            && matches!(base, Type::Nil)
        {
            return Err(format!("type nil has no field {n}"));
        }
        match base {
            Type::Map(elem) => {
                if !prop.assignable_to(&Type::String) && !prop.is_unknown() {
                    return Err(format!("cannot use {} to get an element from {}", tn(prop), base));
                }
                return Ok(((**elem).clone(), elem.zero_value()));
            }
            Type::Array(elem) => {
                if !prop.is_integer() && !prop.is_unknown() {
                    return Err(format!("array elements can only be selected using an integer (got {})", tn(prop)));
                }
                return Ok(((**elem).clone(), Value::Nil));
            }
            Type::Struct(fields) => {
                if let Some(n) = name {
                    if let Some((_, t)) = fields.iter().find(|(f, _)| f == n) {
                        return Ok((t.clone(), t.zero_value()));
                    }
                    let what = if method { "method" } else { "field" };
                    return Err(format!("type {base} has no {what} {n}"));
                }
            }
            _ => {}
        }
        if let Some(n) = name {
            let what = if method { "method" } else { "field" };
            return Err(format!("type {} has no {what} {n}", tn(base)));
        }
        Err(format!("type {}[{}] is undefined", tn(base), tn(prop)))
    }

    fn member(&mut self, node: &Node, prop: &Node, optional: bool, method: bool) -> CResult {
        let (base, bi) = self.check(node)?;
        let (pt, pi) = self.check(prop)?;
        self.member_ir(base, bi, pt, pi, prop, optional, method)
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn member_ir(&self, base: Type, bi: Ir, pt: Type, pi: Ir, prop: &Node, optional: bool, method: bool) -> CResult {
        if let NodeKind::Str(name) = &prop.kind
            && builtins::method_sig(&base, name).is_some()
        {
            return Err(format!("method {name} of {base} must be called: {name}()"));
        }
        let (t, zero) = self.member_type(&base, &pt, prop, method)?;
        Ok((t, Ir::Member { base: boxed(bi), prop: boxed(pi), optional, zero }))
    }

    fn slice(&mut self, node: &Node, from: Option<&Node>, to: Option<&Node>) -> CResult {
        let (t, bi) = self.check(node)?;
        if !t.is_unknown() && !matches!(t, Type::String | Type::Array(_)) {
            return Err(format!("cannot slice {}", tn(&t)));
        }
        let mut check_index = |n: Option<&Node>| -> Result<Option<Box<Ir>>, String> {
            let Some(n) = n else { return Ok(None) };
            let (it, ii) = self.check(n)?;
            if !t.is_unknown() && !it.is_integer() && !it.is_unknown() {
                return Err(format!("non-integer slice index {}", tn(&it)));
            }
            Ok(Some(boxed(ii)))
        };
        let from = check_index(from)?;
        let to = check_index(to)?;
        Ok((t.clone(), Ir::Slice { base: boxed(bi), from, to }))
    }

    fn conditional(&mut self, cond: &Node, a: &Node, b: &Node) -> CResult {
        let (ct, ci) = self.check(cond)?;
        check_condition_type(&ct)?;
        let (t1, ai) = self.check(a)?;
        let (t2, bi) = self.check(b)?;
        Ok((conditional_type(&t1, &t2), Ir::Cond(boxed(ci), boxed(ai), boxed(bi))))
    }
}

#[inline(never)]
fn check_condition_type(ct: &Type) -> Result<(), String> {
    if !ct.is_bool() && !ct.is_unknown() {
        return Err(format!("non-bool expression (type {}) used as condition", tn(ct)));
    }
    Ok(())
}

#[inline(never)]
fn conditional_type(t1: &Type, t2: &Type) -> Type {
    match (t1, t2) {
        (Type::Nil, Type::Nil) => Type::Nil,
        (Type::Nil, t) | (t, Type::Nil) => t.clone(),
        (t1, t2) if t1.assignable_to(t2) => {
            if let (Type::Array(e1), Type::Array(e2)) = (t1, t2)
                && e1 != e2
            {
                Type::array(Type::Any)
            } else {
                t1.clone()
            }
        }
        _ => Type::Any,
    }
}

impl Checker<'_> {
    // -----------------------------------------------------------------------------------------
    // Calls
    // -----------------------------------------------------------------------------------------

    fn visit_arg(&mut self, args: &[Node], states: &mut [ArgState], i: usize) -> Result<(Type, Ir), String> {
        if let ArgState::Done(t, ir) = &states[i] {
            return Ok((t.clone(), ir.clone()));
        }
        let (t, ir) = self.check(&args[i])?;
        states[i] = ArgState::Done(t.clone(), ir.clone());
        Ok((t, ir))
    }

    /// expr's `checkArguments` for one signature. `Ok(Err(msg))` is a signature mismatch (the
    /// next overload may still match); `Err(msg)` is an error inside an argument (final).
    fn check_sig(
        &mut self,
        name: &str,
        params: &[Type],
        variadic: bool,
        args: &[Node],
        states: &mut [ArgState],
    ) -> Result<Result<Vec<Ir>, String>, String> {
        let n = params.len();
        let variadic = variadic && n > 0;
        let count_err = if variadic {
            (args.len() + 1 < n).then(|| format!("not enough arguments to call {name}"))
        } else if args.len() > n {
            Some(format!("too many arguments to call {name}"))
        } else if args.len() < n {
            Some(format!("not enough arguments to call {name}"))
        } else {
            None
        };
        if let Some(e) = count_err {
            for i in 0..args.len() {
                self.visit_arg(args, states, i)?;
            }
            return Ok(Err(e));
        }
        let mut irs = Vec::with_capacity(args.len());
        for i in 0..args.len() {
            let (t, mut ir) = self.visit_arg(args, states, i)?;
            let p = if variadic && i + 1 >= n { &params[n - 1] } else { &params[i] };
            if p.is_float() && t.is_integer() {
                ir.ints_to_floats();
                irs.push(ir);
                continue;
            }
            if p.is_integer() && t.is_integer() {
                irs.push(ir);
                continue;
            }
            if matches!(t, Type::Nil) {
                if p.is_unknown() {
                    irs.push(ir);
                    continue;
                }
                return Ok(Err(format!("cannot use nil as argument (type {p}) to call {name}")));
            }
            if !t.assignable_to(p) && !t.is_unknown() {
                return Ok(Err(format!("cannot use {} as argument (type {p}) to call {name} ", tn(&t))));
            }
            irs.push(ir);
        }
        Ok(Ok(irs))
    }

    fn check_overloads(&mut self, name: &str, sigs: &[Sig], args: &[Node]) -> Result<(Type, Vec<Ir>), String> {
        let mut states: Vec<ArgState> = args.iter().map(|_| ArgState::Pending).collect();
        let mut last_err = format!("no matching overload for {name}");
        for s in sigs {
            match self.check_sig(name, &s.params, false, args, &mut states)? {
                Ok(irs) => return Ok((s.ret.clone(), irs)),
                Err(e) => last_err = e,
            }
        }
        Err(last_err)
    }

    fn call(&mut self, callee: &Node, args: &[Node]) -> CResult {
        match &callee.kind {
            NodeKind::Ident(name) => {
                let shadowed = self.lets.iter().any(|(n, _, _)| n == name) || self.env.var_type(name).is_some();
                if !shadowed && let Some(f) = self.env.function(name) {
                    let f: Arc<Function> = f.clone();
                    let mut states: Vec<ArgState> = args.iter().map(|_| ArgState::Pending).collect();
                    let irs = self.check_sig(&f.name, &f.params, f.variadic, args, &mut states)??;
                    return Ok((f.ret.clone(), Ir::Call { func: f, args: irs }));
                }
                let (t, ci) = self.check(callee)?;
                self.call_value(name, t, ci, args)
            }
            NodeKind::Member { node, prop, optional, method } => {
                let (base, bi) = self.check(node)?;
                let (pt, pi) = self.check(prop)?;
                let name = match &prop.kind {
                    NodeKind::Str(s) => s.clone(),
                    _ => "function".into(),
                };
                if let Some(s) = builtins::method_sig(&base, &name) {
                    let mut states: Vec<ArgState> = args.iter().map(|_| ArgState::Pending).collect();
                    let irs = self.check_sig(&name, &s.params, false, args, &mut states)??;
                    return Ok((
                        s.ret,
                        Ir::Method { base: boxed(bi), name: name.into(), args: irs, optional: *optional },
                    ));
                }
                if base.is_unknown() {
                    let irs = self.check_args_plain(args)?;
                    return Ok((
                        Type::Any,
                        Ir::Method { base: boxed(bi), name: name.into(), args: irs, optional: *optional },
                    ));
                }
                let (t, zero) = self.member_type(&base, &pt, prop, *method)?;
                let ci = Ir::Member { base: boxed(bi), prop: boxed(pi), optional: *optional, zero };
                self.call_value(&name, t, ci, args)
            }
            _ => {
                let (t, ci) = self.check(callee)?;
                self.call_value("function", t, ci, args)
            }
        }
    }

    fn check_args_plain(&mut self, args: &[Node]) -> Result<Vec<Ir>, String> {
        args.iter().map(|a| self.check(a).map(|(_, ir)| ir)).collect()
    }

    /// Calling a value that is not a known function.
    fn call_value(&mut self, name: &str, t: Type, ci: Ir, args: &[Node]) -> CResult {
        match t {
            Type::Any => {
                let irs = self.check_args_plain(args)?;
                Ok((Type::Any, Ir::CallValue { callee: boxed(ci), args: irs }))
            }
            Type::Nil => Err(format!("{name} is nil; cannot call nil as function")),
            other => Err(format!("{} is not callable", tn(&other))),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Builtins
    // -----------------------------------------------------------------------------------------

    fn builtin(&mut self, name: &str, args: &[Node]) -> CResult {
        let pk = match name {
            "all" => Some(Pk::All),
            "any" => Some(Pk::Any),
            "none" => Some(Pk::None),
            "one" => Some(Pk::One),
            "filter" => Some(Pk::Filter),
            "map" => Some(Pk::Map),
            "count" => Some(Pk::Count),
            "sum" => Some(Pk::Sum),
            "find" => Some(Pk::Find),
            "findIndex" => Some(Pk::FindIndex),
            "findLast" => Some(Pk::FindLast),
            "findLastIndex" => Some(Pk::FindLastIndex),
            "groupBy" => Some(Pk::GroupBy),
            "sortBy" => Some(Pk::SortBy),
            "reduce" => Some(Pk::Reduce),
            _ => None,
        };
        if let Some(pk) = pk {
            return self.predicate_builtin(name, pk, args);
        }
        if name == "get" {
            return self.builtin_get(args);
        }
        let Some(f) = builtins::lookup(name) else {
            return Err(format!("unknown builtin {name}"));
        };
        if let Some(sigs) = builtins::overloads(name) {
            let (t, irs) = self.check_overloads(name, &sigs, args)?;
            return Ok((t, Ir::Builtin { f, args: irs }));
        }
        let mut types = Vec::with_capacity(args.len());
        let mut irs = Vec::with_capacity(args.len());
        for a in args {
            let (t, ir) = self.check(a)?;
            types.push(t);
            irs.push(ir);
        }
        match builtins::validate(name, &types) {
            Some(Ok(t)) => Ok((t, Ir::Builtin { f, args: irs })),
            Some(Err(e)) => Err(e),
            None => Err(format!("builtin {name} is not supported")),
        }
    }

    fn builtin_get(&mut self, args: &[Node]) -> CResult {
        if args.len() != 2 {
            return Err(format!("invalid number of arguments (expected 2, got {})", args.len()));
        }
        let (base, bi) = self.check(&args[0])?;
        let (prop, pi) = self.check(&args[1])?;
        let (t, zero) = match &base {
            Type::Any => (Type::Any, Value::Nil),
            Type::Array(e) => {
                if !prop.is_integer() && !prop.is_unknown() {
                    return Err(format!("non-integer slice index {}", tn(&prop)));
                }
                ((**e).clone(), Value::Nil)
            }
            Type::Map(e) => {
                if !prop.assignable_to(&Type::String) && !prop.is_unknown() {
                    return Err(format!("cannot use {} to get an element from {}", tn(&prop), base));
                }
                ((**e).clone(), e.zero_value())
            }
            other => return Err(format!("type {} does not support indexing", tn(other))),
        };
        Ok((t, Ir::Builtin { f: Bf::Get(zero), args: vec![bi, pi] }))
    }

    fn predicate_builtin(&mut self, name: &str, pk: Pk, args: &[Node]) -> CResult {
        let Some(first) = args.first() else {
            return Err(format!("expected at least 2 arguments to call {name}"));
        };
        let (coll, ci) = self.check(first)?;
        if !coll.is_array() && !coll.is_unknown() {
            return Err(format!("builtin {name} takes only array (got {})", tn(&coll)));
        }
        let elem = coll.elem();
        if matches!(pk, Pk::Count | Pk::Sum) && args.len() == 1 {
            let t = if pk == Pk::Count { Type::Int } else { elem };
            return Ok((t, Ir::Pred { kind: pk, coll: boxed(ci), body: None, extra: None }));
        }
        let Some(pred) = args.get(1) else {
            return Err("predicate should has one input and one output param".into());
        };
        let NodeKind::Predicate(body) = &pred.kind else {
            return Err("predicate should has one input and one output param".into());
        };
        let vars = match pk {
            Pk::Map => vec![("index", Type::Int)],
            Pk::Reduce => vec![("index", Type::Int), ("acc", Type::Any)],
            _ => Vec::new(),
        };
        self.scopes.push(PredScope { collection: coll.clone(), vars });
        let r = self.check(body);
        self.scopes.pop();
        let (out, bi) = r?;
        let extra = match args.get(2) {
            Some(e) => Some(boxed(self.check(e)?.1)),
            None => None,
        };
        if matches!(out, Type::Nil) {
            return Err("predicate should has one input and one output param".into());
        }
        let needs_bool = matches!(
            pk,
            Pk::All
                | Pk::Any
                | Pk::None
                | Pk::One
                | Pk::Filter
                | Pk::Count
                | Pk::Find
                | Pk::FindIndex
                | Pk::FindLast
                | Pk::FindLastIndex
        );
        if needs_bool && !out.is_bool() && !out.is_unknown() {
            return Err(format!("predicate should return boolean (got {})", tn(&out)));
        }
        let t = match pk {
            Pk::All | Pk::Any | Pk::None | Pk::One => Type::Bool,
            Pk::Count | Pk::FindIndex | Pk::FindLastIndex => Type::Int,
            Pk::Filter => Type::array(elem),
            Pk::Map => Type::array(out),
            Pk::Sum | Pk::Reduce => out,
            Pk::Find | Pk::FindLast => elem,
            Pk::GroupBy => Type::map(Type::array(elem)),
            Pk::SortBy => coll,
        };
        Ok((t, Ir::Pred { kind: pk, coll: boxed(ci), body: Some(boxed(bi)), extra }))
    }
}
