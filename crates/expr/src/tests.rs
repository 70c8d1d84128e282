//! End-to-end tests: expected values and messages follow expr-lang v1.17's documented behaviour
//! and its source (checker/checker.go, vm/runtime, builtin/builtin.go, parser/parser.go).

use super::*;

/// 2024-03-01T12:30:00Z
const T: i64 = 1_709_296_200 * 1_000_000_000;
/// 2024-03-01T13:30:00Z
const NOW: i64 = T + 3_600 * 1_000_000_000;
const SEC: i64 = 1_000_000_000;

fn f(x: f64) -> Value {
    Value::Float(x)
}
fn i(x: i64) -> Value {
    Value::Int(x)
}
fn s(x: &str) -> Value {
    Value::string(x)
}
fn arr(items: Vec<Value>) -> Value {
    Value::Array(items.into())
}

fn argo_functions(types: &mut TypeEnv) {
    types
        .func(Function::new("isNaN", vec![Type::Float], Type::Bool, |a, _| match a[0] {
            Value::Float(x) => Ok(Value::Bool(x.is_nan())),
            _ => Err("not a float".into()),
        }))
        .func(Function::new("isInf", vec![Type::Float], Type::Bool, |a, _| match a[0] {
            Value::Float(x) => Ok(Value::Bool(x.is_infinite())),
            _ => Err("not a float".into()),
        }))
        .func(Function::new("asFloat", vec![Type::Any], Type::Float, |a, _| match &a[0] {
            Value::Float(x) => Ok(Value::Float(*x)),
            Value::Int(x) => Ok(Value::Float(*x as f64)),
            Value::String(v) => v
                .parse::<f64>()
                .map(Value::Float)
                .map_err(|_| format!("strconv.ParseFloat: parsing {v:?}: invalid syntax")),
            other => Err(format!("cannot convert {other} to float")),
        }))
        .func(Function::new("isNil", vec![Type::Any], Type::Bool, |a, _| Ok(Value::Bool(a[0].is_nil()))))
        .func(Function::new("default", vec![Type::Any, Type::Any], Type::Any, |a, _| {
            Ok(if a[0].is_nil() { a[1].clone() } else { a[0].clone() })
        }))
        .func(Function {
            name: "sumAll".into(),
            params: vec![Type::Int],
            variadic: true,
            ret: Type::Int,
            call: Arc::new(|a, _| Ok(Value::Int(a.iter().map(|v| if let Value::Int(x) = v { *x } else { 0 }).sum()))),
        });
}

fn fixture() -> (TypeEnv, Env) {
    let item = Type::structure([("Name", Type::String), ("Value", Type::Float)]);
    let mut types = TypeEnv::new();
    types
        .var("f", Type::Float)
        .var("i", Type::Int)
        .var("s", Type::String)
        .var("b", Type::Bool)
        .var("n", Type::Any)
        .var("a", Type::Any)
        .var("nan", Type::Float)
        .var("arr", Type::array(Type::Float))
        .var("result", Type::array(Type::Float))
        .var("ints", Type::array(Type::Int))
        .var("strs", Type::array(Type::String))
        .var("m", Type::map(Type::Any))
        .var("mf", Type::map(Type::Float))
        .var("anyarr", Type::Any)
        .var("anymap", Type::Any)
        .var("items", Type::Any)
        .var("st", item.clone())
        .var("sts", Type::array(item))
        .var("t", Type::Time)
        .var("d", Type::Duration)
        .var("values", Type::Any);
    argo_functions(&mut types);

    let mut env = Env::new(NOW);
    env.set("f", 0.5)
        .set("i", 3i64)
        .set("s", "hello")
        .set("b", true)
        .set("n", Value::Nil)
        .set("a", 1.5)
        .set("nan", f64::NAN)
        .set("arr", arr(vec![f(1.0), f(2.0), f(3.0)]))
        .set("result", arr(vec![f(0.995), f(0.5)]))
        .set("ints", arr(vec![i(1), i(2), i(3)]))
        .set("strs", arr(vec![s("a"), s("b")]))
        .set("m", Value::map([("a", f(1.0)), ("b", s("x")), ("c", Value::Nil), ("nested", Value::map([("k", i(2))]))]))
        .set("mf", Value::map([("x", f(1.5))]))
        .set("anyarr", arr(vec![i(1), i(2)]))
        .set("anymap", Value::map([("a", Value::map([("b", i(1))]))]))
        .set(
            "items",
            arr(vec![Value::map([("name", s("a")), ("v", i(1))]), Value::map([("name", s("b")), ("v", i(2))])]),
        )
        .set("st", Value::map([("Name", s("x")), ("Value", f(2.5))]))
        .set(
            "sts",
            arr(vec![
                Value::map([("Name", s("x")), ("Value", f(2.5))]),
                Value::map([("Name", s("y")), ("Value", f(0.5))]),
            ]),
        )
        .set("t", Value::Time(T))
        .set("d", Value::Duration(90 * SEC))
        .set("values", arr(vec![i(7)]));
    (types, env)
}

#[track_caller]
fn check(src: &str, expected: Value) {
    let (types, env) = fixture();
    let program = match compile(src, &types) {
        Ok(p) => p,
        Err(e) => panic!("compile {src:?}: {e}"),
    };
    match program.run(&env) {
        Ok(v) => assert_eq!(v, expected, "{src}"),
        Err(e) => panic!("run {src:?}: {e}"),
    }
}

/// Compile (parse or type) error with this exact message.
#[track_caller]
fn compile_err(src: &str, msg: &str) {
    let (types, _) = fixture();
    match compile(src, &types) {
        Ok(_) => panic!("{src:?} compiled, expected error {msg:?}"),
        Err(e) => {
            assert!(e.is_compile(), "{src}");
            assert_eq!(e.to_string(), msg, "{src}");
        }
    }
}

/// Compiles fine, fails at runtime with this exact message.
#[track_caller]
fn runtime_err(src: &str, msg: &str) {
    let (types, env) = fixture();
    let program = match compile(src, &types) {
        Ok(p) => p,
        Err(e) => panic!("compile {src:?}: {e}"),
    };
    match program.run(&env) {
        Ok(v) => panic!("{src:?} evaluated to {v:?}, expected error {msg:?}"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Runtime, "{src}");
            assert_eq!(e.to_string(), msg, "{src}");
        }
    }
}

#[test]
fn arithmetic_and_precedence() {
    let cases = [
        ("1 + 2 * 3", i(7)),
        ("(1 + 2) * 3", i(9)),
        ("10 - 2 - 3", i(5)),
        ("2 ** 3 ** 2", f(512.0)),
        ("2 ^ 3", f(8.0)),
        ("-2 ** 2", f(-4.0)),
        ("7 / 2", f(3.5)),
        ("6 / 3", f(2.0)),
        ("7 % 3", i(1)),
        ("-7 % 3", i(-1)),
        ("1 + 2.5", f(3.5)),
        ("3 - 1.5", f(1.5)),
        ("2 * 1.5", f(3.0)),
        ("i * 2", i(6)),
        ("i / 2", f(1.5)),
        ("f + i", f(3.5)),
        ("-i", i(-3)),
        ("+i", i(3)),
        ("--1", i(1)),
        ("9223372036854775807 + 1", i(i64::MIN)),
        ("-9223372036854775807 - 2", i(i64::MAX)),
        ("1 / 0", f(f64::INFINITY)),
        ("-1 / 0", f(f64::NEG_INFINITY)),
        ("'a' + 'b'", s("ab")),
        ("1 + 2 == 3", Value::Bool(true)),
        ("2 * 3 % 4", i(2)),
        ("0x1F + 1_000", i(1031)),
        ("1e3", f(1000.0)),
        (".5 + 0.25", f(0.75)),
        ("0b101 + 0o17", i(20)),
    ];
    for (src, want) in cases {
        check(src, want);
    }
    let (types, env) = fixture();
    let v = compile("0 / 0", &types).unwrap().run(&env).unwrap();
    assert!(matches!(v, Value::Float(x) if x.is_nan()));
}

#[test]
fn comparisons_and_logic() {
    let t = Value::Bool(true);
    let fl = Value::Bool(false);
    let cases = [
        ("1 == 1.0", t.clone()),
        ("1 != 2", t.clone()),
        ("'abc' < 'abd'", t.clone()),
        ("'b' >= 'a'", t.clone()),
        ("1 < 2 < 3", t.clone()),
        ("3 > 2 > 1", t.clone()),
        ("1 < 3 < 2", fl.clone()),
        ("1 <= 1", t.clone()),
        ("2.5 > 2", t.clone()),
        ("true && false || true", t.clone()),
        ("true and not false", t.clone()),
        ("false or false", fl.clone()),
        ("!true", fl.clone()),
        ("not (1 > 2)", t.clone()),
        ("not true == false", t.clone()),
        ("nan > 0.5", fl.clone()),
        ("nan < 0.5", fl.clone()),
        ("nan >= nan", fl.clone()),
        ("nan == nan", fl.clone()),
        ("nan != nan", t.clone()),
        ("n == nil", t.clone()),
        ("nil == nil", t.clone()),
        ("f == nil", fl.clone()),
        ("arr == nil", fl.clone()),
        ("m.c == nil", t.clone()),
        ("[1, 2] == [1, 2]", t.clone()),
        ("[1] == [1.0]", t.clone()),
        ("{a: 1} == {a: 1}", t.clone()),
        ("{a: 1} == {a: 1.0}", fl.clone()),
        ("a == 'x'", fl.clone()),
        ("a == 1.5", t.clone()),
        ("anyarr == [1, 2]", t.clone()),
        ("t < now()", t.clone()),
        ("d > duration('1m')", t.clone()),
        ("d == duration('90s')", t.clone()),
        ("false && n > 1", fl.clone()),
        ("true || n > 1", t.clone()),
    ];
    for (src, want) in cases {
        check(src, want);
    }
}

#[test]
fn membership_and_string_operators() {
    let t = Value::Bool(true);
    let fl = Value::Bool(false);
    let cases = [
        ("1 in [1, 2]", t.clone()),
        ("1.0 in ints", t.clone()),
        ("3 not in [1, 2]", t.clone()),
        ("'a' in {a: 1}", t.clone()),
        ("'z' in m", fl.clone()),
        ("'c' in m", t.clone()),
        ("'Name' in st", t.clone()),
        ("'a' in n", fl.clone()),
        ("'hello' contains 'ell'", t.clone()),
        ("s startsWith 'he'", t.clone()),
        ("s endsWith 'lo'", t.clone()),
        ("s not contains 'x'", t.clone()),
        ("'abc' matches '^a.c$'", t.clone()),
        ("'abc' not matches 'x'", t.clone()),
        ("s matches 'l+'", t.clone()),
        ("n matches 'x'", fl.clone()),
        ("n contains 'x'", fl.clone()),
        ("s matches ('^' + 'h')", t.clone()),
        ("1..3", arr(vec![i(1), i(2), i(3)])),
        ("3..1", arr(vec![])),
        ("2 in 1..3", t.clone()),
    ];
    for (src, want) in cases {
        check(src, want);
    }
}

#[test]
fn ternary_coalesce_optional_chaining() {
    let cases = [
        ("true ? 1 : 2", i(1)),
        ("false ? 1 : 2", i(2)),
        ("false ? 1 : true ? 2 : 3", i(2)),
        ("f > 0 ? 'pos' : 'neg'", s("pos")),
        ("if f > 0 { 'pos' } else { 'neg' }", s("pos")),
        ("if f > 1 { 1 } else if f > 0 { 2 } else { 3 }", i(2)),
        ("nil ?? 5", i(5)),
        ("n ?? 'x'", s("x")),
        ("f ?? 1", f(0.5)),
        ("m.c ?? 'fallback'", s("fallback")),
        ("n?.a ?? 7", i(7)),
        ("m?.a", f(1.0)),
        ("n?.a", Value::Nil),
        ("n?.a.b", Value::Nil),
        ("n?.[0]", Value::Nil),
        ("anymap.a.b", i(1)),
        ("anymap?.x?.y", Value::Nil),
        ("anymap.a?.b", i(1)),
        ("m.nested.k", i(2)),
        ("m['nested']['k']", i(2)),
        ("m.missing", Value::Nil),
        ("mf.missing", f(0.0)),
        ("mf.x", f(1.5)),
        ("st.Value", f(2.5)),
        ("sts[1].Name", s("y")),
        ("let x = 2; x * 3", i(6)),
        ("let x = f; let y = x * 2; y + 1", f(2.0)),
        ("(n ?? 1) > 0", Value::Bool(true)),
        ("1 + n ?? 2", i(3)),
        ("n ?? m.c ?? 'z'", s("z")),
        ("b ?: false", Value::Bool(true)),
        ("1 < 2 == true", Value::Bool(true)),
        ("1 not in [2] && true", Value::Bool(true)),
        ("t?.Year()", i(2024)),
        ("n?.Year()", Value::Nil),
    ];
    for (src, want) in cases {
        check(src, want);
    }
}

#[test]
fn indexing_and_slices() {
    let cases = [
        ("[1, 2, 3][1]", i(2)),
        ("arr[0]", f(1.0)),
        ("arr[-1]", f(3.0)),
        ("arr[-3]", f(1.0)),
        ("arr[1:]", arr(vec![f(2.0), f(3.0)])),
        ("arr[:2]", arr(vec![f(1.0), f(2.0)])),
        ("arr[-2:]", arr(vec![f(2.0), f(3.0)])),
        ("arr[:]", arr(vec![f(1.0), f(2.0), f(3.0)])),
        ("arr[5:]", arr(vec![])),
        ("arr[2:1]", arr(vec![])),
        ("arr[1:-1]", arr(vec![f(2.0)])),
        ("'hello'[1:3]", s("el")),
        ("s[:1]", s("h")),
        ("anyarr[1]", i(2)),
        ("anyarr[1.9]", i(2)),
        ("a != nil && anymap['a'].b == 1", Value::Bool(true)),
        ("{a: 1, 'b': 2}.b", i(2)),
        ("{1: 'x'}['1']", s("x")),
        ("{(s): 1}.hello", i(1)),
        ("[1, 'a', nil][1]", s("a")),
        ("[][0:0]", arr(vec![])),
    ];
    for (src, want) in cases {
        check(src, want);
    }
}

#[test]
fn string_literals() {
    let cases = [
        ("'a\\tb'", s("a\tb")),
        ("\"\\\"q\\\"\"", s("\"q\"")),
        ("`raw\\n`", s("raw\\n")),
        ("'\\u00e9'", s("\u{e9}")),
        ("'\\x41'", s("A")),
        ("'\\101'", s("A")),
        ("'it\\'s'", s("it's")),
        ("\"multi word\"", s("multi word")),
    ];
    for (src, want) in cases {
        check(src, want);
    }
}

#[test]
fn builtins_numbers_and_strings() {
    let cases = [
        ("len(arr)", i(3)),
        ("len('h\u{e9}llo')", i(6)),
        ("len(m)", i(4)),
        ("len(n ?? [])", i(0)),
        ("abs(-1)", i(1)),
        ("abs(-1.5)", f(1.5)),
        ("ceil(1.2)", f(2.0)),
        ("floor(1.8)", f(1.0)),
        ("round(1.5)", f(2.0)),
        ("round(2.5)", f(3.0)),
        ("ceil(1)", f(1.0)),
        ("int(1.9)", i(1)),
        ("int(-1.9)", i(-1)),
        ("int('42')", i(42)),
        ("float('1.5')", f(1.5)),
        ("float(1)", f(1.0)),
        ("string(1.5)", s("1.5")),
        ("string(arr)", s("[1 2 3]")),
        ("string(1000000.0)", s("1e+06")),
        ("string(nil)", s("<nil>")),
        ("string(true)", s("true")),
        ("string(m.nested)", s("map[k:2]")),
        ("string(d)", s("1m30s")),
        ("string(t)", s("2024-03-01 12:30:00 +0000 UTC")),
        ("upper('abc')", s("ABC")),
        ("lower('ABC')", s("abc")),
        ("trim('  a  ')", s("a")),
        ("trim('xxaxx', 'x')", s("a")),
        ("trimPrefix('abc', 'a')", s("bc")),
        ("trimSuffix('abc', 'c')", s("ab")),
        ("split('a,b,c', ',')", arr(vec![s("a"), s("b"), s("c")])),
        ("split('a,b,c', ',', 2)", arr(vec![s("a"), s("b,c")])),
        ("join(['a', 'b'], '-')", s("a-b")),
        ("join(strs)", s("ab")),
        ("replace('aaa', 'a', 'b')", s("bbb")),
        ("replace('aaa', 'a', 'b', 2)", s("bba")),
        ("repeat('ab', 3)", s("ababab")),
        ("indexOf('hello', 'l')", i(2)),
        ("lastIndexOf('hello', 'l')", i(3)),
        ("indexOf('hello', 'z')", i(-1)),
        ("hasPrefix('hello', 'he')", Value::Bool(true)),
        ("hasSuffix('hello', 'he')", Value::Bool(false)),
        ("max(1, 2.5, 2)", f(2.5)),
        ("max(arr)", f(3.0)),
        ("min(ints)", i(1)),
        ("min(3, 1, 2)", i(1)),
        ("max([])", Value::Nil),
        ("mean(arr)", f(2.0)),
        ("mean([])", f(0.0)),
        ("mean(1, 2)", f(1.5)),
        ("median([3, 1, 2])", f(2.0)),
        ("median([1, 2, 3, 4])", f(2.5)),
        ("type(1)", s("int")),
        ("type(1.5)", s("float")),
        ("type(nil)", s("nil")),
        ("type([])", s("array")),
        ("type(m)", s("map")),
        ("toJSON({a: 1, b: [true, nil]})", s("{\n  \"a\": 1,\n  \"b\": [\n    true,\n    null\n  ]\n}")),
        ("toJSON(0.5)", s("0.5")),
        ("fromJSON('{\"a\": [1, 2]}').a[1]", f(2.0)),
        ("fromJSON('null')", Value::Nil),
        ("toBase64('hi')", s("aGk=")),
        ("fromBase64('aGk=')", s("hi")),
        ("bitand(12, 10)", i(8)),
        ("bitshl(1, 4)", i(16)),
        ("bitnot(0)", i(-1)),
        ("int(d)", i(90 * SEC)),
        ("toJSON(t)", s("\"2024-03-01T12:30:00Z\"")),
        ("toJSON(d)", s("90000000000")),
        ("len({})", i(0)),
        ("upper('\\u00e9')", s("\u{c9}")),
        ("abs(i)", i(3)),
        ("max(d, duration('1h'))", Value::Duration(3_600 * SEC)),
    ];
    for (src, want) in cases {
        check(src, want);
    }
}

#[test]
fn builtins_collections() {
    let cases = [
        ("sum(arr)", f(6.0)),
        ("sum(ints)", i(6)),
        ("sum([])", i(0)),
        ("sum(arr, # * 2)", f(12.0)),
        ("first(arr)", f(1.0)),
        ("last(arr)", f(3.0)),
        ("first([])", Value::Nil),
        ("last(n)", Value::Nil),
        ("take(arr, 2)", arr(vec![f(1.0), f(2.0)])),
        ("take(arr, 10)", arr(vec![f(1.0), f(2.0), f(3.0)])),
        ("sort(keys({b: 1, a: 2}))", arr(vec![s("a"), s("b")])),
        ("sort(::values({a: 2, b: 1}))", arr(vec![i(1), i(2)])),
        ("reverse([1, 2, 3])", arr(vec![i(3), i(2), i(1)])),
        ("uniq([1, 2, 1, 3])", arr(vec![i(1), i(2), i(3)])),
        ("concat([1], [2, 3])", arr(vec![i(1), i(2), i(3)])),
        ("flatten([1, [2, [3]]])", arr(vec![i(1), i(2), i(3)])),
        ("sort([3, 1, 2])", arr(vec![i(1), i(2), i(3)])),
        ("sort([3, 1, 2], 'desc')", arr(vec![i(3), i(2), i(1)])),
        ("sort(['b', 'a'])", arr(vec![s("a"), s("b")])),
        ("get(m, 'a')", f(1.0)),
        ("get(arr, 10)", Value::Nil),
        ("get(arr, -1)", f(3.0)),
        ("get(m, 'zz')", Value::Nil),
        ("get(mf, 'zz')", f(0.0)),
        ("toPairs({a: 1})", arr(vec![arr(vec![s("a"), i(1)])])),
        ("fromPairs([['a', 1]]).a", i(1)),
        ("len(groupBy(ints, # % 2))", i(2)),
    ];
    for (src, want) in cases {
        check(src, want);
    }
}

#[test]
fn predicates_and_closures() {
    let t = Value::Bool(true);
    let fl = Value::Bool(false);
    let cases = [
        ("all(arr, # > 0)", t.clone()),
        ("all(arr, # > 1)", fl.clone()),
        ("all(result, # > 0.4)", t.clone()),
        ("all(result, {# > 0.4})", t.clone()),
        ("any(arr, # > 2)", t.clone()),
        ("none(arr, # > 5)", t.clone()),
        ("one(arr, # == 2)", t.clone()),
        ("one(arr, # > 1)", fl.clone()),
        ("all([], false)", t.clone()),
        ("any([], true)", fl.clone()),
        ("count(ints, # > 1)", i(2)),
        ("count([true, false, true])", i(2)),
        ("filter(arr, # > 1)", arr(vec![f(2.0), f(3.0)])),
        ("map(ints, # * 2)", arr(vec![i(2), i(4), i(6)])),
        ("map(ints, #index)", arr(vec![i(0), i(1), i(2)])),
        ("map(ints, {# + #index})", arr(vec![i(1), i(3), i(5)])),
        ("find(arr, # > 1)", f(2.0)),
        ("findIndex(arr, # > 1)", i(1)),
        ("findLast(arr, # < 3)", f(2.0)),
        ("findLastIndex(arr, # < 3)", i(1)),
        ("find(arr, # > 10)", Value::Nil),
        ("findIndex(arr, # > 10)", i(-1)),
        ("map(filter(items, .v > 1), .name)", arr(vec![s("b")])),
        ("map(items, {#.name})", arr(vec![s("a"), s("b")])),
        ("filter(sts, .Value > 1)[0].Name", s("x")),
        ("all(sts, {.Name != ''})", t.clone()),
        ("any(ints, {any(arr, # == 2.0) && # == 1})", t.clone()),
        ("map(ints, map([10, 20], # + 1))", arr(vec![arr(vec![i(11), i(21)]); 3])),
        ("arr | filter(# > 1) | len()", i(2)),
        ("ints | map(# + 1)", arr(vec![i(2), i(3), i(4)])),
        ("'a,b' | split(',')", arr(vec![s("a"), s("b")])),
        ("reduce(ints, #acc + #)", i(6)),
        ("reduce(ints, #acc + #, 10)", i(16)),
        ("map(sortBy(items, .v, 'desc'), .name)", arr(vec![s("b"), s("a")])),
        ("len(filter(anyarr, # > 1))", i(1)),
    ];
    for (src, want) in cases {
        check(src, want);
    }
}

#[test]
fn time_and_duration() {
    let cases = [
        ("now()", Value::Time(NOW)),
        ("now() - t", Value::Duration(3_600 * SEC)),
        ("t + d", Value::Time(T + 90 * SEC)),
        ("t - d", Value::Time(T - 90 * SEC)),
        ("d + d", Value::Duration(180 * SEC)),
        ("d * 2", Value::Duration(180 * SEC)),
        ("duration('5m')", Value::Duration(300 * SEC)),
        ("duration('1h') > duration('30m')", Value::Bool(true)),
        ("now() - t > duration('30m')", Value::Bool(true)),
        ("date('2024-03-01T12:30:00Z') == t", Value::Bool(true)),
        ("date('2024-03-01T14:30:00+02:00') == t", Value::Bool(true)),
        ("date('2024-03-01')", Value::Time(1_709_251_200 * SEC)),
        ("date('2024-03-01 12:30:00') == t", Value::Bool(true)),
        ("date('01/02/2024', '01/02/2006')", Value::Time(1_704_153_600 * SEC)),
        ("date('Fri, 01 Mar 2024 12:30:00 UTC') == t", Value::Bool(true)),
        ("(now() - t).Hours()", f(1.0)),
        ("d.Seconds()", f(90.0)),
        ("d.Minutes()", f(1.5)),
        ("t.Year()", i(2024)),
        ("t.Month()", i(3)),
        ("t.Unix()", i(1_709_296_200)),
        ("t.Format('2006-01-02')", s("2024-03-01")),
        ("now().Sub(t) == duration('1h')", Value::Bool(true)),
        ("t.Before(now())", Value::Bool(true)),
    ];
    for (src, want) in cases {
        check(src, want);
    }
}

#[test]
fn host_functions() {
    let t = Value::Bool(true);
    let fl = Value::Bool(false);
    let cases = [
        ("isNaN(nan)", t.clone()),
        ("isNaN(f)", fl.clone()),
        ("isNaN(1)", fl.clone()),
        ("isNaN(1 + 2 * 3)", fl.clone()),
        ("isNaN(a)", fl.clone()),
        ("isInf(1 / 0)", t.clone()),
        ("asFloat('1.5')", f(1.5)),
        ("asFloat(result[0]) >= 0.99", t.clone()),
        ("default(n, 5)", i(5)),
        ("default(f, 5)", f(0.5)),
        ("isNil(n)", t.clone()),
        ("default(n, 0) > 1", fl.clone()),
        ("sumAll()", i(0)),
        ("sumAll(1, 2, 3)", i(6)),
        ("result[0] >= 0.99", t.clone()),
        ("len(result) == 0 || result[0] > 0.5", t.clone()),
        ("values[0]", i(7)),
    ];
    for (src, want) in cases {
        check(src, want);
    }
}

#[test]
fn compile_time_type_errors() {
    let cases = [
        ("f == '1.1'", "invalid operation: == (mismatched types float64 and string)"),
        ("asFloat(result) == \"1.1\"", "invalid operation: == (mismatched types float64 and string)"),
        ("f > 'a'", "invalid operation: > (mismatched types float64 and string)"),
        ("f.foo", "type float64 has no field foo"),
        ("isNaN('x')", "cannot use string as argument (type float64) to call isNaN "),
        ("isNaN()", "not enough arguments to call isNaN"),
        ("isNaN(1, 2)", "too many arguments to call isNaN"),
        ("isNaN(nil)", "cannot use nil as argument (type float64) to call isNaN"),
        ("unknownVar > 1", "unknown name unknownVar"),
        ("foo(1)", "unknown name foo"),
        ("b.Name()", "type bool has no method Name"),
        ("f()", "float64 is not callable"),
        ("arr['x']", "array elements can only be selected using an integer (got string)"),
        ("mf[1]", "cannot use int to get an element from map[string]float64"),
        ("s[0]", "type string[int] is undefined"),
        ("st.Missing", "type struct { Name string; Value float64 } has no field Missing"),
        ("arr > 1", "invalid operation: > (mismatched types []float64 and int)"),
        ("'a' + 1", "invalid operation: + (mismatched types string and int)"),
        ("f % 2", "invalid operation: % (mismatched types float64 and int)"),
        ("b + 1", "invalid operation: + (mismatched types bool and int)"),
        ("1 && true", "invalid operation: && (mismatched types int and bool)"),
        ("b == 1", "invalid operation: == (mismatched types bool and int)"),
        ("t > 1", "invalid operation: > (mismatched types time.Time and int)"),
        ("t == d", "invalid operation: == (mismatched types time.Time and time.Duration)"),
        ("nil > 1", "invalid operation: > (mismatched types unknown and int)"),
        ("-'a'", "invalid operation: - (mismatched type string)"),
        ("!1", "invalid operation: ! (mismatched type int)"),
        ("not 'x'", "invalid operation: not (mismatched type string)"),
        ("1 in ['a']", "cannot use int as type string in array"),
        ("1 in m", "cannot use int as type string in map key"),
        ("'a' in 'abc'", "invalid operation: in (mismatched types string and string)"),
        ("1 ? 2 : 3", "non-bool expression (type int) used as condition"),
        ("s[1.5:]", "non-integer slice index float64"),
        ("f[1:]", "cannot slice float64"),
        ("1..2.5", "invalid operation: .. (mismatched types int and float64)"),
        ("len(f)", "invalid argument for len (type float64)"),
        ("len(1, 2)", "invalid number of arguments (expected 1, got 2)"),
        ("abs('x')", "invalid argument for abs (type string)"),
        ("ceil(s)", "invalid argument for ceil (type string)"),
        ("int(b)", "invalid argument for int (type bool)"),
        ("max()", "not enough arguments to call max"),
        ("max('a', 1)", "invalid argument for max (type string)"),
        ("upper(1)", "cannot use int as argument (type string) to call upper "),
        ("upper()", "not enough arguments to call upper"),
        ("trim(1)", "not enough arguments to call trim"),
        ("join(arr, ',')", "too many arguments to call join"),
        ("first(f)", "cannot get first element from float64"),
        ("keys(arr)", "cannot get keys from []float64"),
        ("now(1)", "invalid number of arguments (expected 0, got 1)"),
        ("duration(1)", "cannot use int as argument (type string) to call duration "),
        ("all(f, # > 1)", "builtin all takes only array (got float64)"),
        ("all(arr, #)", "predicate should return boolean (got float64)"),
        ("filter(ints, #index > 0)", "unknown pointer #index"),
        ("map(arr, nil)", "predicate should has one input and one output param"),
        ("get(f, 1)", "type float64 does not support indexing"),
        ("let f = 1; f", "cannot redeclare f"),
        ("let x = 1; let x = 2; x", "cannot redeclare variable x"),
        ("d.Foo()", "type time.Duration has no method Foo"),
        ("t.Sub(1)", "cannot use int as argument (type time.Time) to call Sub "),
        ("i % 0 + 1 % 0", "integer divide by zero"),
        ("n ?? 1 > 0", "Operator (>) and coalesce expressions (??) cannot be mixed. Wrap either by parentheses."),
        ("f matches 'x'", "invalid operation: matches (mismatched types float64 and string)"),
        ("s contains 1", "invalid operation: contains (mismatched types string and int)"),
        ("arr.foo", "array elements can only be selected using an integer (got string)"),
        ("sum(f)", "builtin sum takes only array (got float64)"),
        ("count(arr, # + 1)", "predicate should return boolean (got float64)"),
        ("sort(arr, 1)", "too many arguments to call sort"),
        ("timezone('UTC')", "unknown builtin timezone"),
    ];
    for (src, msg) in cases {
        compile_err(src, msg);
    }
}

#[test]
fn runtime_errors_for_any_values() {
    let cases = [
        ("a > 'a'", "invalid operation: float64 > string"),
        ("n > 1", "invalid operation: <nil> > int"),
        ("n + 1", "invalid operation: <nil> + int"),
        ("a.foo", "cannot fetch foo from float64"),
        ("n.a", "cannot fetch a from <nil>"),
        ("n[0]", "cannot fetch 0 from <nil>"),
        ("arr[5]", "index out of range: 5 (array length is 3)"),
        ("arr[-4]", "index out of range: -1 (array length is 3)"),
        ("anyarr['x']", "invalid operation: int(string)"),
        ("a % 2", "invalid operation: float64 % int"),
        ("i % 0", "runtime error: integer divide by zero"),
        ("-n", "invalid operation: - <nil>"),
        ("!a", "interface conversion: interface {} is float64, not bool"),
        ("a && true", "interface conversion: interface {} is float64, not bool"),
        ("n ? 1 : 2", "interface conversion: interface {} is nil, not bool"),
        ("'a' in a", "operator \"in\" not defined on float64"),
        ("1 in anymap", "reflect.Value.MapIndex: value of type int is not assignable to type string"),
        ("a matches 'x'", "interface conversion: interface {} is float64, not []uint8"),
        ("a contains 'x'", "interface conversion: interface {} is float64, not string"),
        ("len(a)", "invalid argument for len (type float64)"),
        ("int('x')", "invalid operation: int(x)"),
        ("float('abc')", "invalid operation: float(abc)"),
        ("repeat('a', -1)", "invalid argument for repeat (expected positive integer, got -1)"),
        ("repeat('ab', 1000000)", "memory budget exceeded"),
        ("1..2000000", "memory budget exceeded"),
        ("all(a, # > 1)", "reflect: call of reflect.Value.Len on float64 Value"),
        ("all(n, # > 1)", "reflect: call of reflect.Value.Len on zero Value"),
        ("all(anyarr, #)", "interface conversion: interface {} is int, not bool"),
        ("upper(a)", "interface conversion: interface {} is float64, not string"),
        ("join(anyarr)", "interface conversion: interface {} is int, not string"),
        ("max(1, a, 's')", "invalid argument for max (type string)"),
        ("sum(['a'])", "invalid operation: string + int"),
        ("date('x')", "invalid date x"),
        ("date('2024-13-01', '2006-01-02')", "parsing time \"2024-13-01\": month out of range"),
        ("duration('5x')", "time: unknown unit \"x\" in duration \"5x\""),
        ("fromJSON('{')", "unexpected end of JSON input"),
        ("fromBase64('!!!!')", "illegal base64 data at input byte 0"),
        ("sort([1, 'a'])", "invalid operation: string < int"),
        ("toJSON(nan)", "json: unsupported value: NaN"),
        ("asFloat('x')", "strconv.ParseFloat: parsing \"x\": invalid syntax"),
        ("isNaN(anyarr)", "interface conversion: interface {} is []interface {}, not float64"),
        ("d > 5", "invalid operation: time.Duration > int"),
        ("a.Hours()", "cannot fetch Hours from float64"),
        ("anymap.a()", "invalid operation: cannot call non-function of type map[string]interface {}"),
        ("{(1): 2}", "interface conversion: interface {} is int, not string"),
        ("reduce([], #acc)", "runtime error: index out of range [0] with length 0"),
        ("-d", "invalid operation: - time.Duration"),
        ("d ** 2", "invalid operation: float(time.Duration)"),
        ("count(ints)", "interface conversion: interface {} is int, not bool"),
        ("m.foo()", "invalid operation: cannot call nil"),
        ("m[a]", "reflect.Value.MapIndex: value of type float64 is not assignable to type string"),
        ("a[1:]", "invalid argument for len (type float64)"),
        ("a[0:1]", "cannot slice 0"),
    ];
    for (src, msg) in cases {
        runtime_err(src, msg);
    }
}

#[test]
fn same_expression_typed_vs_any() {
    // With a statically typed float the comparison is a compile error; with `interface {}`
    // it evaluates (to false) at runtime, exactly like expr with Argo's environment.
    compile_err("f == 'x'", "invalid operation: == (mismatched types float64 and string)");
    check("a == 'x'", Value::Bool(false));
    compile_err("f < 'x'", "invalid operation: < (mismatched types float64 and string)");
    runtime_err("a < 'x'", "invalid operation: float64 < string");
    compile_err("f.x", "type float64 has no field x");
    runtime_err("a.x", "cannot fetch x from float64");
}

#[test]
fn parse_errors() {
    let cases = [
        ("1 +", "unexpected token EOF"),
        ("(1", "unexpected token EOF"),
        ("1 2", "unexpected token Number(\"2\")"),
        ("f.", "unexpected end of expression"),
        ("# > 1", "cannot use pointer accessor outside predicate"),
        ("1 ?? 2 + 3", "Operator (+) and coalesce expressions (??) cannot be mixed. Wrap either by parentheses."),
        ("all(arr)", "expected at least 2 arguments"),
        ("1 @ 2", "unrecognized character: U+0040 '@'"),
        ("'abc", "literal not terminated"),
        ("\"a\\qb\"", "invalid char escape"),
        ("f(,)", "unexpected token Operator(\",\")"),
        ("[1,,2]", "unexpected token Operator(\",\")"),
        ("a not b", "unexpected token Identifier(\"b\")"),
        ("1 === 2", "unexpected token Operator(\"=\")"),
    ];
    for (src, msg) in cases {
        compile_err(src, msg);
    }
    let (types, _) = fixture();
    assert_eq!(compile("1 +", &types).unwrap_err().kind(), ErrorKind::Parse);
    assert_eq!(compile("f == 's'", &types).unwrap_err().kind(), ErrorKind::Type);
}

#[test]
fn invalid_constant_regex_is_a_compile_error() {
    let (types, _) = fixture();
    let e = compile("s matches '('", &types).unwrap_err();
    assert!(e.is_compile());
    assert!(e.to_string().starts_with("error parsing regexp:"), "{e}");
    // A dynamic pattern is only compiled (and fails) at runtime.
    let (_, env) = fixture();
    let p = compile("s matches ('(' + '')", &types).unwrap();
    let e = p.run(&env).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Runtime);
    assert!(e.to_string().starts_with("error parsing regexp:"), "{e}");
}

#[test]
fn output_types() {
    let (types, _) = fixture();
    let cases = [
        ("result[0] >= 0.99", Type::Bool),
        ("f + 1", Type::Float),
        ("i + 1", Type::Int),
        ("i / 2", Type::Float),
        ("a + 1", Type::Any),
        ("arr", Type::array(Type::Float)),
        ("filter(arr, # > 1)", Type::array(Type::Float)),
        ("map(ints, # > 1)", Type::array(Type::Bool)),
        ("[1, 2]", Type::array(Type::Int)),
        ("[1, 'a']", Type::array(Type::Any)),
        ("{a: 1}", Type::map(Type::Any)),
        ("now() - t", Type::Duration),
        ("len(s)", Type::Int),
        ("n ?? 1", Type::Any),
        ("nil ?? 1", Type::Int),
        ("default(n, 1)", Type::Any),
        ("st.Name", Type::String),
        ("true ? 1 : 'a'", Type::Any),
        ("true ? 1 : nil", Type::Int),
    ];
    for (src, want) in cases {
        let p = compile(src, &types).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert_eq!(p.output_type(), &want, "{src}");
    }
}

#[test]
fn builtin_names_can_be_shadowed_by_the_environment() {
    // `values` is a variable in the fixture, so `values[0]` indexes it; calling it is a
    // runtime error like in expr (the env value is not a function).
    check("values[0] + 1", i(8));
    runtime_err("values(m)", "invalid operation: cannot call non-function of type []interface {}");
    // `::values` forces the builtin.
    check("::values({a: 1})", arr(vec![i(1)]));
}

#[test]
fn undeclared_at_runtime_is_nil_and_program_is_reusable() {
    let mut types = TypeEnv::new();
    types.var("result", Type::array(Type::Float));
    let p = compile("result[0] >= 0.99", &types).unwrap();
    for (v, want) in [(0.995, true), (0.5, false), (f64::NAN, false)] {
        let mut env = Env::new(0);
        env.set("result", arr(vec![f(v)]));
        assert_eq!(p.run(&env).unwrap(), Value::Bool(want));
    }
    let empty = Env::new(0);
    assert_eq!(p.run(&empty).unwrap_err().to_string(), "cannot fetch 0 from <nil>");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let (types, _) = fixture();
    let inputs = [
        format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000)),
        format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000)),
        "-".repeat(50_000) + "1",
        "!".repeat(50_000) + "true",
        format!("1{}", " + 1".repeat(10_000)),
        format!("m{}", ".a".repeat(10_000)),
        format!("m{}", "?.a".repeat(10_000)),
        format!("arr{}", "[0]".repeat(10_000)),
        format!("{}1{}", "abs(".repeat(10_000), ")".repeat(10_000)),
        format!("{}1{}", "{a: ".repeat(10_000), "}".repeat(10_000)),
        format!("{}true{}", "all(arr, ".repeat(5_000), ")".repeat(5_000)),
        "true ? 1 : ".repeat(10_000) + "2",
    ];
    for src in &inputs {
        let e = compile(src, &types).unwrap_err();
        assert!(e.is_compile());
        assert_eq!(e.to_string(), "expression is too deeply nested");
    }
    // Moderate nesting is fine.
    check(&format!("{}1{}", "(".repeat(100), ")".repeat(100)), i(1));
    check(&format!("1{}", " + 1".repeat(200)), i(201));
}

/// Tiny deterministic PRNG for the garbage-input test.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

#[test]
fn garbage_input_never_panics() {
    let (types, env) = fixture();
    let fixed = [
        "",
        " ",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "1 +",
        "a..b",
        ".",
        "..",
        "?.",
        "#",
        "##",
        "::",
        "::x",
        "'",
        "\"",
        "`",
        "\\",
        "1e",
        "0x",
        "0b2",
        "@",
        "f[",
        "arr[1:",
        "m?.[",
        "all(",
        "all(arr,",
        "{a:",
        "let",
        "let x",
        "let x = 1",
        "if",
        "if b {",
        "1 ? 2",
        "not",
        "not in",
        "a not",
        "$",
        "$env",
        "1..",
        "..1",
        "f(,)",
        "[,]",
        "{,}",
        "map(,)",
        "#index",
        "1 | 2",
        "arr | ",
        "| len()",
        "?",
        "? :",
        ": ?",
        "1 ?: 2",
        "b ?: false",
        "nil.x",
        "nil[0]",
        "nil()",
        "[](",
        "{}.x",
        "''.x",
        "1.x",
        "1..2..3",
        "---",
        "!!!",
        "**",
        "1 ** ",
        "\u{0}",
        "\u{ffff}",
        "é",
        "'\\u{12}'",
        "'\\U0010FFFF'",
        "'\\Uffffffff'",
        "0x8000000000000000",
        "1e999",
        "-9223372036854775808",
        "9223372036854775808",
        "arr[9223372036854775807]",
        "arr[-9223372036854775808]",
        "arr[-9223372036854775807:9223372036854775807]",
        "1..9223372036854775807",
        "-9223372036854775807-1..0",
        "repeat('x', 9223372036854775807)",
        "split('a', '', -1)",
        "take(arr, -1)",
        "bitshl(1, 99)",
        "bitshr(-1, 99)",
        "int(1e300)",
        "abs(-9223372036854775807 - 1)",
        "-9223372036854775807 - 1 % -1",
        "date('99999-01-01', '2006-01-02')",
        "date('0001-01-01', '2006-01-02')",
        "duration('9999999999999999999h')",
        "duration('-')",
        "fromJSON('[[[[')",
        "toBase64(fromBase64('===='))",
        "sort(n)",
        "flatten(n)",
        "concat()",
        "reduce([])",
        "sortBy(arr, #, 'up')",
        "groupBy(anyarr, [#])",
        "t.Format('')",
        "d.Round(0)",
        "now().Truncate(0)",
        "a?.b?.c?.d()",
        "st.Name()",
        "m.a.b.c",
        "anymap.a.b.c",
    ];
    let run_one = |src: &str| {
        if let Ok(p) = compile(src, &types) {
            let _ = p.run(&env);
        }
    };
    for src in fixed {
        run_one(src);
    }
    let alphabet = [
        "1", "2.5", "'s'", "\"x\"", "`r`", "nil", "true", "f", "i", "s", "a", "n", "arr", "m", "anymap", "t", "d", "(",
        ")", "[", "]", "{", "}", ",", ":", "?", "??", "?.", ".", "..", "#", "#index", "+", "-", "*", "/", "%", "**",
        "==", "!=", "<", ">=", "&&", "||", "!", "not", "in", "matches", "contains", "|", "all", "map", "filter", "len",
        "max", "abs", "date", "now", "let", "=", ";", "if", "else", " ", "x",
    ];
    let mut rng = Lcg(42);
    for _ in 0..20_000 {
        let len = 1 + rng.next() % 12;
        let mut src = String::new();
        for _ in 0..len {
            src.push_str(alphabet[(rng.next() % alphabet.len() as u64) as usize]);
            if rng.next().is_multiple_of(3) {
                src.push(' ');
            }
        }
        run_one(&src);
    }
}

#[test]
fn error_api() {
    let (types, env) = fixture();
    let e = compile("f == 's'", &types).unwrap_err();
    assert!(e.is_compile());
    assert_eq!(e.message(), "invalid operation: == (mismatched types float64 and string)");
    let e = compile("n.x", &types).unwrap().run(&env).unwrap_err();
    assert!(!e.is_compile());
    let boxed: Box<dyn std::error::Error> = Box::new(e);
    assert_eq!(boxed.to_string(), "cannot fetch x from <nil>");
}

#[test]
fn public_types_are_thread_safe() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Program>();
    assert_send_sync::<Env>();
    assert_send_sync::<TypeEnv>();
    assert_send_sync::<Error>();
    assert_send_sync::<Value>();
    assert_send_sync::<Function>();
}
