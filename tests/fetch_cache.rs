//! `vbench fetch` downloads into a cache — resumable, atomic, sha256 recorded and verified —
//! tested against a local HTTP server on 127.0.0.1, with a broken and a truncated transfer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use vbench_eval::weights::{sha256_file, FetchOutcome, WeightsCache, WeightsError};

#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    Normal,
    /// Announce the full length, send this many bytes, close.
    DropAfter(usize),
    /// Every response, ranged or not, announces the full length and sends only this many bytes.
    AlwaysShort(usize),
    NotFound,
}

struct Server {
    url: String,
    mode: Arc<Mutex<Mode>>,
    ranges: Arc<Mutex<Vec<Option<String>>>>,
}

fn blob() -> Vec<u8> {
    // 300 kB of deterministic, incompressible-looking bytes.
    let mut x = 0x1234_5678_9abc_def0u64;
    (0..300_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn serve(body: Vec<u8>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/model_zoo/kinetics/X3D_XS.pyth",
        listener.local_addr().unwrap()
    );
    let mode = Arc::new(Mutex::new(Mode::Normal));
    let ranges = Arc::new(Mutex::new(Vec::new()));
    let (m, r) = (mode.clone(), ranges.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut reader = BufReader::new(s.try_clone().unwrap());
            let mut range = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    range = Some(v.trim().trim_end_matches('-').to_string());
                }
            }
            r.lock().unwrap().push(range.clone());
            let mode = *m.lock().unwrap();
            let start: usize = range.as_deref().and_then(|v| v.parse().ok()).unwrap_or(0);
            let _ = match mode {
                Mode::NotFound => s.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                ),
                Mode::AlwaysShort(n) => {
                    let head = if start > 0 {
                        format!(
                            "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {}-{}/{}\r\nConnection: close\r\n\r\n",
                            body.len() - start,
                            start,
                            body.len() - 1,
                            body.len()
                        )
                    } else {
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                    };
                    s.write_all(head.as_bytes())
                        .and_then(|_| s.write_all(&body[start..start + n]))
                }
                _ if start > 0 => {
                    let head = format!(
                        "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {}-{}/{}\r\nConnection: close\r\n\r\n",
                        body.len() - start,
                        start,
                        body.len() - 1,
                        body.len()
                    );
                    s.write_all(head.as_bytes())
                        .and_then(|_| s.write_all(&body[start..]))
                }
                Mode::Normal => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    s.write_all(head.as_bytes())
                        .and_then(|_| s.write_all(&body))
                }
                Mode::DropAfter(n) => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    s.write_all(head.as_bytes())
                        .and_then(|_| s.write_all(&body[..n]))
                }
            };
            let _ = s.flush();
            let _ = s.shutdown(std::net::Shutdown::Both);
            let _ = reader.read(&mut [0u8; 1]);
        }
    });
    Server { url, mode, ranges }
}

fn sha256_hex(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("b");
    std::fs::write(&p, bytes).unwrap();
    sha256_file(&p).unwrap()
}

#[test]
fn fetch_downloads_records_sha_and_uses_the_cache() {
    let body = blob();
    let server = serve(body.clone());
    let dir = tempfile::tempdir().unwrap();
    let cache = WeightsCache::new(dir.path());
    let mut seen = 0;
    let out = cache
        .fetch(&server.url, "X3D_XS.pyth", &mut |done, _| seen = done)
        .unwrap();
    let FetchOutcome::Downloaded(entry) = out else {
        panic!("expected a download: {out:?}")
    };
    assert_eq!(seen, body.len() as u64);
    assert_eq!(entry.bytes, body.len() as u64);
    assert_eq!(entry.sha256, sha256_hex(&body));
    assert_eq!(std::fs::read(cache.path_for("X3D_XS.pyth")).unwrap(), body);
    assert!(!dir.path().join("X3D_XS.pyth.part").exists());
    // Second call: verified from the manifest, no request made.
    let before = server.ranges.lock().unwrap().len();
    assert!(matches!(
        cache
            .fetch(&server.url, "X3D_XS.pyth", &mut |_, _| {})
            .unwrap(),
        FetchOutcome::Cached(_)
    ));
    assert_eq!(server.ranges.lock().unwrap().len(), before);
}

#[test]
fn broken_transfer_resumes_with_range() {
    let body = blob();
    let server = serve(body.clone());
    *server.mode.lock().unwrap() = Mode::DropAfter(123_457);
    let dir = tempfile::tempdir().unwrap();
    let mut cache = WeightsCache::new(dir.path());
    cache.attempts = 1;
    let err = cache
        .fetch(&server.url, "X3D_XS.pyth", &mut |_, _| {})
        .unwrap_err();
    assert!(matches!(err, WeightsError::Truncated { .. }), "{err}");
    assert!(err.to_string().contains("resume"), "{err}");
    assert!(
        !cache.path_for("X3D_XS.pyth").exists(),
        "nothing installed from a broken transfer"
    );
    let part = dir.path().join("X3D_XS.pyth.part");
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 123_457);
    // The server recovers; the next run asks only for the rest.
    *server.mode.lock().unwrap() = Mode::Normal;
    let out = cache
        .fetch(&server.url, "X3D_XS.pyth", &mut |_, _| {})
        .unwrap();
    assert!(matches!(out, FetchOutcome::Downloaded(_)));
    assert_eq!(
        server.ranges.lock().unwrap().last().unwrap().as_deref(),
        Some("123457")
    );
    assert_eq!(std::fs::read(cache.path_for("X3D_XS.pyth")).unwrap(), body);
}

#[test]
fn truncated_transfers_retry_then_fail_naming_the_url_and_resume_later() {
    let body = blob();
    let server = serve(body.clone());
    // Fresh requests are cut short but ranged ones complete: the automatic retries recover.
    *server.mode.lock().unwrap() = Mode::DropAfter(1000);
    let dir = tempfile::tempdir().unwrap();
    let cache = WeightsCache::new(dir.path());
    assert!(matches!(
        cache.fetch(&server.url, "a.pyth", &mut |_, _| {}).unwrap(),
        FetchOutcome::Downloaded(_)
    ));
    assert_eq!(std::fs::read(cache.path_for("a.pyth")).unwrap(), body);
    // Every response short: after 3 attempts, a Truncated error naming the URL; nothing installed.
    *server.mode.lock().unwrap() = Mode::AlwaysShort(777);
    let err = cache
        .fetch(&server.url, "b.pyth", &mut |_, _| {})
        .unwrap_err();
    match &err {
        WeightsError::Truncated {
            url, got, expected, ..
        } => {
            assert!(url.contains(&server.url));
            assert_eq!((*got, *expected), (3 * 777, body.len() as u64));
        }
        other => panic!("expected Truncated, got {other}"),
    }
    assert!(!cache.path_for("b.pyth").exists());
    *server.mode.lock().unwrap() = Mode::Normal;
    cache.fetch(&server.url, "b.pyth", &mut |_, _| {}).unwrap();
    assert_eq!(
        server.ranges.lock().unwrap().last().unwrap().as_deref(),
        Some("2331")
    );
    assert_eq!(std::fs::read(cache.path_for("b.pyth")).unwrap(), body);
}

#[test]
fn http_error_and_corrupt_cache_are_reported() {
    let server = serve(blob());
    *server.mode.lock().unwrap() = Mode::NotFound;
    let dir = tempfile::tempdir().unwrap();
    let cache = WeightsCache::new(dir.path());
    let err = cache
        .fetch(&server.url, "X3D_XS.pyth", &mut |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("404") && err.contains(&server.url), "{err}");
    // A cached file changed on disk is caught by the recorded sha256.
    *server.mode.lock().unwrap() = Mode::Normal;
    cache
        .fetch(&server.url, "X3D_XS.pyth", &mut |_, _| {})
        .unwrap();
    let path = cache.path_for("X3D_XS.pyth");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[1000] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let err = cache.verify("X3D_XS.pyth").unwrap_err();
    assert!(matches!(err, WeightsError::Checksum { .. }), "{err}");
    assert!(err.to_string().contains("X3D_XS.pyth"));
}
