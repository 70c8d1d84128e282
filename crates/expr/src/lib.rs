//! augur's implementation of the expr-lang/expr (v1.17) condition language, as used by Argo
//! Rollouts for `successCondition` / `failureCondition`, including Go-style static type checking.
//!
//! ```
//! use augur_expr::{compile, Env, Type, TypeEnv, Value};
//!
//! let mut types = TypeEnv::new();
//! types.var("result", Type::array(Type::Float));
//! let program = compile("result[0] >= 0.99", &types).unwrap();
//!
//! let mut env = Env::new(0);
//! env.set("result", Value::array([Value::Float(0.995)]));
//! assert_eq!(program.run(&env).unwrap(), Value::Bool(true));
//!
//! // Mismatched static types are compile errors, like in Go:
//! let mut types = TypeEnv::new();
//! types.var("result", Type::Float);
//! let err = compile("result == \"1.1\"", &types).unwrap_err();
//! assert!(err.is_compile());
//! assert_eq!(err.to_string(), "invalid operation: == (mismatched types float64 and string)");
//! ```

mod builtins;
mod checker;
mod eval;
mod gotime;
mod json;
mod lexer;
mod parser;
mod value;

use std::fmt;
use std::sync::Arc;

pub use value::{Type, Value};

/// The signature of a host function implementation.
pub type HostFn = dyn Fn(&[Value], &Env) -> Result<Value, String> + Send + Sync;

/// A host function (a Go func in the env). `params` are the static parameter types
/// (`Type::Any` accepts anything), `variadic` makes the last param repeatable; `ret` is the
/// static return type.
#[derive(Clone)]
pub struct Function {
    /// Name used in expressions and error messages.
    pub name: String,
    /// Static parameter types (for a variadic function the last one is the element type).
    pub params: Vec<Type>,
    /// Whether the last parameter is repeatable.
    pub variadic: bool,
    /// Static return type.
    pub ret: Type,
    /// The implementation. An `Err` becomes a runtime error with that message.
    pub call: Arc<HostFn>,
}

impl Function {
    /// Convenience constructor for a non-variadic function.
    pub fn new(
        name: impl Into<String>,
        params: Vec<Type>,
        ret: Type,
        call: impl Fn(&[Value], &Env) -> Result<Value, String> + Send + Sync + 'static,
    ) -> Self {
        Function { name: name.into(), params, variadic: false, ret, call: Arc::new(call) }
    }
}

impl fmt::Debug for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Function")
            .field("name", &self.name)
            .field("params", &self.params)
            .field("variadic", &self.variadic)
            .field("ret", &self.ret)
            .finish_non_exhaustive()
    }
}

/// Compile-time environment: variable names with static types, plus host functions.
#[derive(Clone, Debug, Default)]
pub struct TypeEnv {
    vars: Vec<(String, Type)>,
    funcs: Vec<Arc<Function>>,
}

impl TypeEnv {
    /// An empty environment.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares (or re-declares) a variable with its static type.
    pub fn var(&mut self, name: impl AsRef<str>, ty: Type) -> &mut Self {
        let name = name.as_ref();
        match self.vars.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = ty,
            None => self.vars.push((name.to_string(), ty)),
        }
        self
    }

    /// Declares (or replaces) a host function.
    pub fn func(&mut self, f: Function) -> &mut Self {
        self.funcs.retain(|g| g.name != f.name);
        self.funcs.push(Arc::new(f));
        self
    }

    /// By-value builder form of [`TypeEnv::var`].
    #[must_use]
    pub fn with_var(mut self, name: impl AsRef<str>, ty: Type) -> Self {
        self.var(name, ty);
        self
    }

    /// By-value builder form of [`TypeEnv::func`].
    #[must_use]
    pub fn with_func(mut self, f: Function) -> Self {
        self.func(f);
        self
    }

    /// The static type of a declared variable.
    pub fn var_type(&self, name: &str) -> Option<&Type> {
        self.vars.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    pub(crate) fn function(&self, name: &str) -> Option<&Arc<Function>> {
        self.funcs.iter().find(|f| f.name == name)
    }
}

/// Runtime environment: variable values (same names as the [`TypeEnv`]) and the time returned
/// by `now()`. Variables that are declared but not set evaluate to `nil`.
#[derive(Clone, Debug)]
pub struct Env {
    now: i64,
    vars: Vec<(Box<str>, Value)>,
}

impl Env {
    /// An environment whose `now()` is `now_unix_nanos` (UTC).
    pub fn new(now_unix_nanos: i64) -> Self {
        Env { now: now_unix_nanos, vars: Vec::new() }
    }

    /// Sets (or replaces) a variable.
    pub fn set(&mut self, name: impl AsRef<str>, value: impl Into<Value>) -> &mut Self {
        let name = name.as_ref();
        let value = value.into();
        match self.vars.iter_mut().find(|(n, _)| &**n == name) {
            Some(slot) => slot.1 = value,
            None => self.vars.push((name.into(), value)),
        }
        self
    }

    /// By-value builder form of [`Env::set`].
    #[must_use]
    pub fn with(mut self, name: impl AsRef<str>, value: impl Into<Value>) -> Self {
        self.set(name, value);
        self
    }

    /// The value of a variable.
    #[inline]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.vars.iter().find(|(n, _)| &**n == name).map(|(_, v)| v)
    }

    /// `now()` as unix nanoseconds.
    pub fn now(&self) -> i64 {
        self.now
    }
}

/// Which stage produced an [`Error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Lexing/parsing failed.
    Parse,
    /// Static type checking failed.
    Type,
    /// Evaluation failed.
    Runtime,
}

/// A compile (parse/type) or runtime error. `Display` prints the message only, like the bare
/// message Argo reports (no position suffix).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    fn new(kind: ErrorKind, message: String) -> Self {
        Error { kind, message }
    }

    /// The stage that failed.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message (same as `Display`).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// True for parse and type-check errors.
    pub fn is_compile(&self) -> bool {
        matches!(self.kind, ErrorKind::Parse | ErrorKind::Type)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// A parsed and type-checked expression. Immutable; `run` may be called concurrently.
#[derive(Clone, Debug)]
pub struct Program {
    ir: eval::Ir,
    output: Type,
    locals: usize,
}

/// Parses and statically type-checks `source` against `env`.
pub fn compile(source: &str, env: &TypeEnv) -> Result<Program, Error> {
    let overridden = |name: &str| env.var_type(name).is_some() || env.function(name).is_some();
    let ast = parser::parse(source, &overridden).map_err(|m| Error::new(ErrorKind::Parse, m))?;
    let mut checker = checker::Checker::new(env);
    let (output, ir) = checker.check(&ast).map_err(|m| Error::new(ErrorKind::Type, m))?;
    if let Some(m) = checker.fold_err {
        return Err(Error::new(ErrorKind::Type, m));
    }
    Ok(Program { ir, output, locals: checker.n_locals })
}

impl Program {
    /// Evaluates the program.
    #[inline]
    pub fn run(&self, env: &Env) -> Result<Value, Error> {
        let mut cx = eval::Ctx { env, scopes: Vec::new(), locals: Vec::new() };
        if self.locals > 0 {
            cx.locals.resize(self.locals, Value::Nil);
        }
        match eval::eval(&self.ir, &mut cx) {
            Ok(v) => Ok(v.into_owned()),
            Err(eval::Flow::ChainNil) => Ok(Value::Nil),
            Err(eval::Flow::Err(m)) => Err(Error::new(ErrorKind::Runtime, m)),
        }
    }

    /// The static type of the result (`Type::Any` when only known at runtime).
    pub fn output_type(&self) -> &Type {
        &self.output
    }
}

#[cfg(test)]
mod tests;
