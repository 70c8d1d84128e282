//! Measures single-threaded evaluation throughput of a typical Argo condition.
//!
//! `cargo run -p augur-expr --release --example throughput`

use std::hint::black_box;
use std::time::Instant;

use augur_expr::{Env, Type, TypeEnv, Value, compile};

const N: u64 = 5_000_000;

fn bench(src: &str, types: &TypeEnv, env: &Env) {
    let program = compile(src, types).expect("compiles");
    assert!(program.run(env).is_ok());
    let start = Instant::now();
    let mut trues = 0u64;
    for _ in 0..N {
        if let Ok(Value::Bool(true)) = program.run(black_box(env)) {
            trues += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!("{src:<45} {N} evals in {secs:.3}s = {:>6.1}M evals/s ({trues} true)", N as f64 / secs / 1e6);
}

fn main() {
    let mut types = TypeEnv::new();
    types.var("result", Type::array(Type::Float));
    let mut env = Env::new(0);
    env.set("result", Value::array([Value::Float(0.995), Value::Float(0.5)]));

    bench("result[0] >= 0.99", &types, &env);
    bench("len(result) == 0 || result[0] >= 0.99", &types, &env);
    bench("all(result, # > 0.4)", &types, &env);
}
