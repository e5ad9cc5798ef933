//! Hand-made pickles: the opcodes torch.save emits, and hostile inputs.

use super::*;

/// A tiny pickle writer: just enough to spell the test inputs opcode by opcode.
#[derive(Clone)]
pub(crate) struct P(pub Vec<u8>);

impl P {
    pub fn new(proto: u8) -> Self {
        P(vec![0x80, proto])
    }
    pub fn op(mut self, b: u8) -> Self {
        self.0.push(b);
        self
    }
    pub fn raw(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    pub fn s(self, s: &str) -> Self {
        self.op(b'X')
            .raw(&(s.len() as u32).to_le_bytes())
            .raw(s.as_bytes())
    }
    pub fn k(self, i: u8) -> Self {
        self.op(b'K').op(i)
    }
    pub fn global(self, module: &str, name: &str) -> Self {
        self.op(b'c').raw(format!("{module}\n{name}\n").as_bytes())
    }
    pub fn ints(self, v: &[u8]) -> Self {
        v.iter().fold(self.op(b'('), |p, &i| p.k(i)).op(b't')
    }
    /// `_rebuild_tensor_v2(('storage', torch.<ty>, key, 'cpu', numel), offset, size, stride, False, OrderedDict())`
    pub fn tensor(
        self,
        ty: &str,
        key: &str,
        numel: u8,
        offset: u8,
        size: &[u8],
        stride: &[u8],
    ) -> Self {
        self.global("torch._utils", "_rebuild_tensor_v2")
            .op(b'(')
            .op(b'(')
            .s("storage")
            .global("torch", ty)
            .s(key)
            .s("cpu")
            .k(numel)
            .op(b't')
            .op(b'Q')
            .k(offset)
            .ints(size)
            .ints(stride)
            .op(0x89)
            .global("collections", "OrderedDict")
            .op(b')')
            .op(b'R')
            .op(b't')
            .op(b'R')
    }
    pub fn stop(self) -> Vec<u8> {
        self.op(b'.').0
    }
}

fn entries<'a>(p: &'a Pickle, v: &Value) -> Vec<(String, &'a Value)> {
    p.dict(v)
        .expect("a dict")
        .iter()
        .map(|(k, v)| match k {
            Value::Str(s) => (s.to_string(), v),
            other => (format!("{other:?}"), v),
        })
        .collect()
}

fn official_like() -> Vec<u8> {
    P::new(2)
        .op(b'}')
        .op(b'q')
        .op(0)
        .op(b'(')
        .s("model_state")
        .global("collections", "OrderedDict")
        .op(b')')
        .op(b'R')
        .op(b'(')
        .s("w")
        .tensor("FloatStorage", "0", 6, 0, &[2, 3], &[3, 1])
        .s("t")
        .tensor("FloatStorage", "0", 6, 1, &[3, 2], &[1, 3])
        .s("n")
        .tensor("LongStorage", "1", 1, 0, &[], &[])
        .op(b'u')
        .op(b'}')
        .s("_metadata")
        .op(b'}')
        .op(b's')
        .op(b'b')
        .s("epoch")
        .k(3)
        .s("cfg")
        .s("TRAIN:\n  ENABLE: True\n")
        .op(b'u')
        .stop()
}

#[test]
fn reads_a_torch_save_style_pickle() {
    let p = parse(&official_like()).unwrap();
    let top = entries(&p, &p.root);
    let keys: Vec<&str> = top.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["model_state", "epoch", "cfg"]);
    assert!(matches!(top[1].1, Value::Int(3)));
    let sd = entries(&p, top[0].1);
    assert_eq!(
        sd.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["w", "t", "n"]
    );
    let Value::Tensor(t) = sd[1].1 else {
        panic!("{:?}", sd[1].1)
    };
    assert_eq!(
        (t.offset, &t.size[..], &t.stride[..]),
        (1, &[3, 2][..], &[1, 3][..])
    );
    assert_eq!(
        (t.storage.key.as_str(), t.storage.numel, t.kind.clone()),
        ("0", 6, Ok(Kind::Float))
    );
    let Value::Tensor(n) = sd[2].1 else { panic!() };
    assert_eq!((n.kind.clone(), n.size.len()), (Ok(Kind::Int64), 0));
}

#[test]
fn protocol_4_framing_memoize_and_stack_global() {
    let mut b = P::new(4).op(0x95).raw(&[0; 8]).op(b'}').op(0x94).op(b'(');
    b = b.op(0x8c).op(1).raw(b"a").op(0x94); // memo 1 = 'a'
    b = b
        .op(0x8c)
        .op(11)
        .raw(b"collections")
        .op(0x8c)
        .op(11)
        .raw(b"OrderedDict")
        .op(0x93)
        .op(0x94);
    b = b.op(b')').op(b'R'); // OrderedDict()
    b = b.op(0x8c).op(1).raw(b"b").op(b'h').op(1); // 'b': BINGET 1 ('a')
    let p = parse(&b.op(b'u').stop()).unwrap();
    let top = entries(&p, &p.root);
    assert_eq!(
        top.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert!(matches!(top[0].1, Value::Dict(_)));
    assert!(matches!(top[1].1, Value::Str(s) if &**s == "a"));
}

#[test]
fn repeated_keys_replace_like_python() {
    let b = P::new(2)
        .op(b'}')
        .op(b'(')
        .s("a")
        .k(1)
        .s("b")
        .k(2)
        .s("a")
        .k(3)
        .op(b'u')
        .stop();
    let p = parse(&b).unwrap();
    let top = entries(&p, &p.root);
    assert_eq!(top.len(), 2);
    assert!(matches!(
        (top[0].0.as_str(), top[0].1),
        ("a", Value::Int(3))
    ));
}

#[test]
fn scalars() {
    let b = P::new(2)
        .op(b'(')
        .op(b'J')
        .raw(&(-5i32).to_le_bytes())
        .op(b'M')
        .raw(&[0x34, 0x12])
        .op(0x8a)
        .raw(&[2, 0xd4, 0xfe]) // LONG1 -300
        .op(0x8a)
        .raw(&[9, 0, 0, 0, 0, 0, 0, 0, 0, 1])
        .op(b'G')
        .raw(&1.5f64.to_be_bytes())
        .raw(b"I01\n")
        .raw(b"I-7\n")
        .raw(b"L12L\n")
        .raw(b"F0.25\n")
        .op(b'N')
        .op(b'C')
        .raw(&[2, 0, 1])
        .op(b'U')
        .raw(&[2, b'h', b'i'])
        .op(0x8a)
        .op(0)
        .op(b'l')
        .stop();
    let p = parse(&b).unwrap();
    let Value::List(id) = p.root else { panic!() };
    let got: Vec<String> = p.nodes[id].items.iter().map(|v| p.describe(v)).collect();
    let want = [
        "int -5",
        "int 4660",
        "int -300",
        "a big int",
        "float 1.5",
        "bool true",
        "int -7",
        "int 12",
        "float 0.25",
        "None",
        "bytes (2 long)",
        "str \"hi\"",
        "int 0",
    ];
    assert_eq!(got, want);
}

#[test]
fn unknown_globals_become_opaque_objects_that_accept_items() {
    // A yacs CfgNode-like dict subclass built by NEWOBJ, filled by SETITEMS, BUILD with state;
    // a REDUCE of an unknown function; a set built by `__builtin__.set([1, 2])`.
    let b = P::new(2)
        .op(b'}')
        .op(b'(')
        .s("cfg")
        .global("yacs.config", "CfgNode")
        .op(b')')
        .op(0x81)
        .op(b'(')
        .s("LR")
        .op(b'G')
        .raw(&0.1f64.to_be_bytes())
        .op(b'u')
        .op(b'}')
        .op(b'b')
        .s("path")
        .global("pathlib", "PurePosixPath")
        .s("/x")
        .op(0x85)
        .op(b'R')
        .s("set")
        .global("__builtin__", "set")
        .op(b']')
        .op(b'(')
        .k(1)
        .k(2)
        .op(b'e')
        .op(0x85)
        .op(b'R')
        .op(b'u')
        .stop();
    let p = parse(&b).unwrap();
    let got: Vec<String> = entries(&p, &p.root)
        .iter()
        .map(|(_, v)| p.describe(v))
        .collect();
    assert_eq!(
        got,
        [
            "object of class yacs.config.CfgNode",
            "object of class pathlib.PurePosixPath",
            "object of class builtins.set"
        ]
    );
}

#[test]
fn tensor_variants_v3_parameter_and_subclass() {
    let v3 = P::new(2)
        .op(b'(')
        .global("torch._utils", "_rebuild_tensor_v3")
        .op(b'(')
        .op(b'(')
        .s("storage")
        .global("torch.storage", "UntypedStorage")
        .s("0")
        .s("cpu")
        .k(4)
        .op(b't')
        .op(b'Q')
        .k(0)
        .ints(&[4])
        .ints(&[1])
        .op(0x89)
        .op(b'}')
        .global("torch", "float8_e4m3fn")
        .op(b't')
        .op(b'R');
    let param = v3
        .global("torch._utils", "_rebuild_parameter")
        .tensor("HalfStorage", "1", 2, 0, &[2], &[1])
        .op(0x88)
        .op(b'}')
        .op(0x87)
        .op(b'R');
    let sub = param
        .global("torch._tensor", "_rebuild_from_type_v2")
        .op(b'(')
        .global("torch._utils", "_rebuild_tensor_v2")
        .global("torch.nn.parameter", "Buffer")
        .op(b'(')
        .op(b'(')
        .s("storage")
        .global("torch", "QInt8Storage")
        .s("2")
        .s("cpu")
        .k(1)
        .op(b't')
        .op(b'Q')
        .k(0)
        .op(b')')
        .op(b')')
        .op(0x89)
        .op(b'}')
        .op(b't')
        .op(b'}')
        .op(b't')
        .op(b'R')
        .op(b'l');
    let p = parse(&sub.stop()).unwrap();
    let Value::List(id) = p.root else { panic!() };
    let kinds: Vec<_> = p.nodes[id]
        .items
        .iter()
        .map(|v| match v {
            Value::Tensor(t) => t.kind.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            Ok(Kind::Float8e4m3fn),
            Ok(Kind::Half),
            Err("torch.QInt8Storage".to_string())
        ]
    );
}

fn malformed(b: &[u8]) -> String {
    match parse(b) {
        Err(PickleError {
            kind: PickleErrorKind::Malformed(m),
            ..
        }) => m,
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_pickles_are_errors() {
    assert!(malformed(&P::new(2).op(b's').stop()).contains("underflow"));
    assert!(malformed(&P::new(2).k(1).k(2).k(3).op(b's').stop()).contains("SETITEM on int 1"));
    assert!(malformed(&P::new(2).op(b'}').op(b'(').k(1).op(b'u').stop()).contains("odd"));
    assert!(malformed(&P::new(2).op(b'h').op(7).stop()).contains("memo 7"));
    assert!(malformed(&P::new(2).k(1).op(b'Q').stop()).contains("not a torch storage"));
    assert!(malformed(&P::new(2).k(1).op(b')').op(b'R').stop()).contains("not a class"));
    assert!(
        malformed(&P::new(2).op(b'X').raw(&[0xff, 0xff, 0xff, 0xff]).stop()).contains("more bytes")
    );
    assert!(malformed(&P::new(2).op(b'}').0).contains("STOP"));
    let short = P::new(2)
        .global("torch._utils", "_rebuild_tensor_v2")
        .op(b')')
        .op(b'R')
        .stop();
    assert!(malformed(&short).contains("6 arguments"));
    let e = parse(&P::new(2).op(b'(').op(0x82).op(1).stop()).unwrap_err();
    assert_eq!(
        e,
        PickleError {
            offset: 3,
            kind: PickleErrorKind::Unsupported(0x82)
        }
    );
}

#[test]
fn every_truncation_is_an_error() {
    let full = official_like();
    assert!(parse(&full).is_ok());
    for n in 0..full.len() {
        assert!(parse(&full[..n]).is_err(), "prefix of {n} bytes parsed");
    }
}

/// xorshift64*: deterministic "random" bytes without a dependency.
fn rng(seed: u64) -> impl FnMut() -> u8 {
    let mut x = seed | 1;
    move || {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
    }
}

#[test]
fn random_and_mutated_input_never_panics() {
    let mut next = rng(7);
    for len in [1, 2, 8, 64, 512] {
        for _ in 0..500 {
            let b: Vec<u8> = (0..len).map(|_| next()).collect();
            let _ = parse(&b);
        }
    }
    let full = official_like();
    for i in 0..full.len() {
        for v in [0u8, 0x28, 0x2e, 0x7f, 0x80, 0xff, next()] {
            let mut b = full.clone();
            b[i] = v;
            let _ = parse(&b);
        }
    }
}

#[test]
fn deep_nesting_and_cycles_do_not_overflow_the_stack() {
    let n = 200_000;
    let mut lists = P::new(2).0;
    lists.extend(std::iter::repeat_n(b']', n));
    lists.extend(std::iter::repeat_n(b'a', n - 1));
    lists.push(b'.');
    assert!(parse(&lists).is_ok());
    let mut tuples = P::new(2).op(b')').0;
    tuples.extend(std::iter::repeat_n(0x85, n));
    tuples.push(b'.');
    assert!(parse(&tuples).is_ok());
    let cycle = P::new(2)
        .op(b']')
        .op(b'q')
        .op(0)
        .op(b'h')
        .op(0)
        .op(b'a')
        .stop();
    let p = parse(&cycle).unwrap();
    assert_eq!(p.describe(&p.root), "list of 1");
}
