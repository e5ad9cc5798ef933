//! Seeded corpora of malformed inputs for the fuzz tests: a small PRNG (xorshift64*, so a seed
//! gives the same cases on every machine) and mutations of text files that real files suffer:
//! truncation, a flipped or inserted byte, a deleted, duplicated, swapped or garbled line, a
//! field replaced by a value of another kind, invalid UTF-8, CRLF line ends.

/// xorshift64*: small, fast and the same everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Values of every kind a field may wrongly hold.
const ODD_VALUES: &[&str] = &[
    "",
    "-1",
    "0",
    "1e309",
    "-9223372036854775809",
    "18446744073709551616",
    "NaN",
    "nan",
    "\"\"",
    "\"x\"",
    "null",
    "true",
    "[]",
    "{}",
    "[1,",
    "\"\\ud800\"",
    "3.5",
    "１",
    "\u{0}",
    "9999999999",
    ",",
    " ",
    "\t",
    "\"",
    "'",
    "../../etc/passwd",
    "a b c",
];

/// One mutation of `text`, chosen by `rng`; returns the new bytes and what was done.
pub fn mutate(rng: &mut Rng, text: &[u8]) -> (Vec<u8>, String) {
    let mut lines: Vec<Vec<u8>> = text.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    let n = lines.len();
    let mut out = text.to_vec();
    let what = match rng.below(12) {
        0 => {
            let at = rng.below(text.len() + 1);
            out.truncate(at);
            format!("truncated at byte {at}")
        }
        1 if !out.is_empty() => {
            let at = rng.below(out.len());
            out[at] ^= 1 << rng.below(8);
            format!("flipped a bit of byte {at}")
        }
        2 => {
            let at = rng.below(out.len() + 1);
            let b = rng.next_u64() as u8;
            out.insert(at, b);
            format!("inserted byte {b:#04x} at {at}")
        }
        3 if n > 1 => {
            let i = rng.below(n);
            lines.remove(i);
            out = lines.join(&b'\n');
            format!("deleted line {}", i + 1)
        }
        4 => {
            let i = rng.below(n);
            let l = lines[i].clone();
            lines.insert(i, l);
            out = lines.join(&b'\n');
            format!("duplicated line {}", i + 1)
        }
        5 if n > 1 => {
            let (i, j) = (rng.below(n), rng.below(n));
            lines.swap(i, j);
            out = lines.join(&b'\n');
            format!("swapped lines {} and {}", i + 1, j + 1)
        }
        6 => {
            let i = rng.below(n);
            let garbage: Vec<u8> = (0..rng.below(40)).map(|_| rng.next_u64() as u8).collect();
            lines.insert(i, garbage);
            out = lines.join(&b'\n');
            format!("inserted a garbage line before line {}", i + 1)
        }
        7 => {
            // A token (a run between delimiters) replaced by an odd value.
            let spans = token_spans(&out);
            if spans.is_empty() {
                out.extend_from_slice(b"?");
                "appended ?".into()
            } else {
                let (a, b) = *rng.pick(&spans);
                let v = rng.pick(ODD_VALUES).as_bytes().to_vec();
                let old = String::from_utf8_lossy(&out[a..b]).into_owned();
                out.splice(a..b, v.clone());
                format!("replaced `{old}` by `{}`", String::from_utf8_lossy(&v))
            }
        }
        8 => {
            let at = rng.below(out.len() + 1);
            out.splice(at..at, [0xff, 0xfe, 0x80]);
            format!("inserted invalid UTF-8 at {at}")
        }
        9 => {
            out = lines.join(&b"\r\n"[..]);
            "CRLF line ends".into()
        }
        10 => {
            // A line cut in two.
            let i = rng.below(n);
            let cut = rng.below(lines[i].len() + 1);
            let tail = lines[i].split_off(cut);
            lines.insert(i + 1, tail);
            out = lines.join(&b'\n');
            format!("split line {} at {cut}", i + 1)
        }
        _ => {
            out.clear();
            "emptied".into()
        }
    };
    (out, what)
}

/// Byte ranges of the runs between delimiters (space, comma, tab, quotes, brackets, colon).
fn token_spans(text: &[u8]) -> Vec<(usize, usize)> {
    let delim = |b: u8| b" ,\t\n\r\"[]{}:".contains(&b);
    let mut spans = Vec::new();
    let mut start = None;
    for (i, &b) in text.iter().enumerate() {
        match (delim(b), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

/// Whether `message` names `file` and a line of it: `file:N:` (or `file:N`), or serde's
/// `line N` after the file name.
pub fn names_file_and_line(message: &str, file: &str) -> bool {
    let Some(at) = message.find(file) else {
        return false;
    };
    let rest = &message[at + file.len()..];
    let numbered = |s: &str| s.chars().next().is_some_and(|c| c.is_ascii_digit());
    rest.strip_prefix(':').is_some_and(numbered)
        || rest
            .match_indices("line ")
            .any(|(i, _)| numbered(&rest[i + 5..]))
}

/// Runs `f`, turning a panic into `Err` with its message, so a corpus reports every panic.
pub fn no_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic".into())
    })
}
