//! `examples/kiosk` end to end in a real browser: headless Chromium (from
//! the distribution's packages, driven over WebDriver by chromedriver) with
//! a fake camera, against the kiosk on the in-memory backend. A matching
//! member passes; another member's card with the same face fails; a
//! reference stored with SSE-S3 fails and its refusal says nothing was
//! sent to Rekognition; the staff page lists the three decisions; a denied
//! camera is said so. Bad requests (unknown card, not an image, an
//! oversized body, two kiosks at once) get clear answers. Screenshots of
//! both pages are written under `CARGO_TARGET_TMPDIR/kiosk/`.
//!
//! The browser is required: without `/usr/bin/chromium` and
//! `/usr/bin/chromedriver` this test fails (`bash scripts/test` installs
//! them), never skips.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::emulator::{example_binary, unique};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A child process killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the kiosk on a free loopback port; returns it and its address.
fn kiosk() -> (Running, String) {
    kiosk_with(&[])
}

/// The first stdout line of `child`, within 60 s.
fn first_line(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the kiosk's first line within 60 s")
}

/// Like [`kiosk`], with `args` too.
fn kiosk_with(args: &[&str]) -> (Running, String) {
    let mut child = Command::new(example_binary("kiosk"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the kiosk");
    let line = first_line(&mut child);
    let started: Value = serde_json::from_str(&line).expect("one JSON line");
    assert_eq!(started["backend"], "in-memory", "{started}");
    let url = started["kiosk"].as_str().expect("the kiosk URL").to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(started["staff"], format!("{url}staff"));
    (Running(child), url)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A Y4M clip for Chromium's fake camera: 320×240, 4:2:0 (tagged `C420`,
/// the tag Chromium plays), ten frames of a drawn face: a bright oval with
/// two dark eyes and a mouth on a dark ground. The repository holds no
/// photograph of a person, and the in-memory backend cannot see faces
/// (the kiosk takes every frame as the demo face), so the camera path is
/// what is real here; what a frame shows is up to Rekognition against AWS.
fn fake_camera(dir: &Path) -> PathBuf {
    let (w, h) = (320usize, 240usize);
    let mut clip = format!("YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420\n").into_bytes();
    let inside = |x: f32, y: f32, cx: f32, cy: f32, rx: f32, ry: f32| {
        ((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2) <= 1.0
    };
    for frame in 0..10 {
        clip.extend_from_slice(b"FRAME\n");
        for y in 0..h {
            for x in 0..w {
                let (x, y) = (x as f32, y as f32);
                let feature = inside(x, y, 130.0, 95.0, 12.0, 7.0)
                    || inside(x, y, 190.0, 95.0, 12.0, 7.0)
                    || inside(x, y, 160.0, 160.0, 28.0, 6.0);
                let luma = if feature {
                    40
                } else if inside(x, y, 160.0, 120.0, 70.0, 95.0) {
                    200
                } else {
                    30 + frame as u8
                };
                clip.push(luma);
            }
        }
        clip.extend(std::iter::repeat_n(128u8, 2 * (w / 2) * (h / 2)));
    }
    let path = dir.join("face.y4m");
    std::fs::write(&path, clip).unwrap();
    path
}

/// chromedriver on a free port, and a headless Chromium session with
/// `extra` arguments.
async fn browser(dir: &Path, extra: &[String]) -> (Running, Client) {
    for tool in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing: `bash scripts/test` installs Debian's chromium and chromium-driver"
        );
    }
    let port = free_port();
    let driver = Running(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let profile = dir.join(unique("profile"));
    let mut args = vec![
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--window-size=1024,900".to_owned(),
        format!("--user-data-dir={}", profile.display()),
    ];
    args.extend_from_slice(extra);
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        json!({ "binary": CHROMIUM, "args": args }),
    );
    let webdriver = format!("http://127.0.0.1:{port}");
    let mut last = None;
    for _ in 0..100 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&webdriver)
            .await
        {
            Ok(client) => return (driver, client),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no WebDriver session: {last:?}");
}

fn camera_args(clip: &Path) -> Vec<String> {
    vec![
        "--use-fake-ui-for-media-stream".to_owned(),
        "--use-fake-device-for-media-stream".to_owned(),
        format!("--use-file-for-fake-video-capture={}", clip.display()),
    ]
}

/// Types `card`, starts, and waits for the page's answer: the result
/// (`pass`, `fail` or empty) and the message.
async fn check_in(page: &Client, url: &str, card: &str) -> (String, String) {
    page.goto(url).await.unwrap();
    let input = page.wait().for_element(Locator::Id("card")).await.unwrap();
    input.send_keys(card).await.unwrap();
    page.find(Locator::Id("go"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The page marks its body `data-state="done"` once a check-in ended.
    for _ in 0..300 {
        let state = page
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .attr("data-state")
            .await
            .unwrap();
        if state.as_deref() == Some("done") {
            let result = text_of(page, Locator::Id("result")).await;
            let message = text_of(page, Locator::Id("message")).await;
            return (result, message);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("card {card}: the page never answered");
}

/// The text of the element `locator` finds.
async fn text_of(page: &Client, locator: Locator<'_>) -> String {
    page.find(locator).await.unwrap().text().await.unwrap()
}

fn screenshot(dir: &Path, name: &str, png: Vec<u8>) {
    assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
    std::fs::write(dir.join(name), png).unwrap();
}

/// One raw HTTP/1.1 request to the kiosk: status and JSON body.
async fn request(
    url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, Value) {
    tokio::time::timeout(
        Duration::from_secs(30),
        request_now(url, method, path, headers, body),
    )
    .await
    .expect("the kiosk answered within 30 s")
}

async fn request_now(
    url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, Value) {
    let authority = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {authority}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    // A server may answer before reading a body it refuses.
    let _ = stream.write_all(body).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let json = text
        .split("\r\n\r\n")
        .nth(1)
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, json)
}

async fn tap(url: &str, card: &str) -> (u16, Value) {
    request(
        url,
        "POST",
        "/api/tap",
        &[("Content-Type", "application/json".to_owned())],
        json!({ "card": card }).to_string().as_bytes(),
    )
    .await
}

async fn photo(url: &str, token: &str, body: &[u8]) -> (u16, Value) {
    request(
        url,
        "POST",
        &format!("/api/photo?token={token}"),
        &[("Content-Type", "image/jpeg".to_owned())],
        body,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kiosk_in_a_real_browser_passes_fails_refuses_and_lists_the_decisions() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kiosk");
    std::fs::create_dir_all(&dir).unwrap();
    let clip = fake_camera(&dir);
    let (_kiosk, url) = kiosk();
    let (_driver, page) = browser(&dir, &camera_args(&clip)).await;

    let (result, message) = check_in(&page, &url, "1001").await;
    assert_eq!(result, "pass", "Ada's card, Ada's face: {message}");
    // The frame the page took is the fake camera's clip: bright face, dark
    // ground (not Chromium's built-in test pattern).
    let luma = page
        .execute(
            "const c = document.getElementById('frame'); const g = c.getContext('2d'); \
             const at = (x, y) => { const p = g.getImageData(x * c.width, y * c.height, 1, 1).data; return (p[0] + p[1] + p[2]) / 3; }; \
             return [at(0.5, 0.62), at(0.03, 0.03)];",
            vec![],
        )
        .await
        .unwrap();
    let (face, ground) = (luma[0].as_f64().unwrap(), luma[1].as_f64().unwrap());
    assert!(
        face > 150.0 && ground < 90.0,
        "the fake camera's frame: face {face}, ground {ground}"
    );
    screenshot(&dir, "kiosk-pass.png", page.screenshot().await.unwrap());

    let (result, _) = check_in(&page, &url, "1002").await;
    assert_eq!(result, "fail", "Grace's card, Ada's face");
    let desk = page.find(Locator::Id("staff-desk")).await.unwrap();
    assert!(
        desk.is_displayed().await.unwrap(),
        "the staff desk is offered"
    );
    let body = text_of(&page, Locator::Css("body")).await;
    assert!(
        !body.contains("99.") && !body.to_lowercase().contains("similarity"),
        "no score: {body}"
    );
    screenshot(&dir, "kiosk-fail.png", page.screenshot().await.unwrap());

    let (result, _) = check_in(&page, &url, "1003").await;
    assert_eq!(result, "fail", "Alan's SSE-S3 reference");

    let (result, message) = check_in(&page, &url, "4242").await;
    assert_eq!(result, "", "{message}");
    assert!(message.contains("unknown card"), "{message}");

    page.goto(&format!("{url}staff")).await.unwrap();
    let mut rows = Vec::new();
    for _ in 0..100 {
        rows = page.find_all(Locator::Css("tr.decision")).await.unwrap();
        if rows.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut listed = Vec::new();
    for row in &rows {
        listed.push(row.text().await.unwrap());
    }
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert!(listed[0].contains("refused"), "newest first: {listed:?}");
    assert!(
        listed[0].contains("SSE-S3") && listed[0].contains("nothing was sent to Rekognition"),
        "{listed:?}"
    );
    assert!(listed[1].contains("no_match"), "{listed:?}");
    assert!(
        listed[2].contains("match") && !listed[2].contains("no_match"),
        "{listed:?}"
    );
    assert!(
        !listed
            .iter()
            .any(|r| r.contains("members/") || r.contains("s3://")),
        "members appear only as digests: {listed:?}"
    );
    let bars = page.find_all(Locator::Css("#chart rect")).await.unwrap();
    assert!(!bars.is_empty(), "the chart of outcomes per hour");
    screenshot(&dir, "staff.png", page.screenshot().await.unwrap());
    page.close().await.unwrap();

    // A camera the browser refuses: the page says so, nothing is decided.
    let (_driver, denied) = browser(
        &dir,
        &[
            "--use-fake-device-for-media-stream".to_owned(),
            "--deny-permission-prompts".to_owned(),
        ],
    )
    .await;
    let (result, message) = check_in(&denied, &url, "1001").await;
    assert_eq!(result, "", "{message}");
    assert!(
        message.contains("camera is not available (NotAllowedError)"),
        "the browser refused the camera: {message}"
    );
    denied.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_answers_and_two_kiosks_can_post_at_once() {
    let (_kiosk, url) = kiosk();
    let frame = b"\xFF\xD8\xFF\xE0 a camera frame".to_vec();

    let (status, body) = tap(&url, "9999").await;
    assert_eq!(status, 404);
    assert!(
        body["error"].as_str().unwrap().contains("unknown card"),
        "{body}"
    );

    let (_, tapped) = tap(&url, "1001").await;
    let token = tapped["token"].as_str().unwrap().to_owned();
    let (status, body) = photo(&url, &token, b"GIF89a not a photo").await;
    assert_eq!(status, 415, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("JPEG or PNG"),
        "{body}"
    );
    // The token was used: a photo needs a tap of its own.
    let (status, _) = photo(&url, &token, &frame).await;
    assert_eq!(status, 404);

    // Declared over 5 MiB: refused before the body is read (none is sent).
    let (_, tapped) = tap(&url, "1001").await;
    let token = tapped["token"].as_str().unwrap().to_owned();
    let (status, body) = request(
        &url,
        "POST",
        &format!("/api/photo?token={token}"),
        &[("Content-Length", (6 * 1024 * 1024).to_string())],
        b"",
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert!(body["error"].as_str().unwrap().contains("5 MiB"), "{body}");

    // Two kiosks, each tapped and posting at the same time.
    let (_, a) = tap(&url, "1001").await;
    let (_, b) = tap(&url, "1002").await;
    let (ta, tb) = (a["token"].as_str().unwrap(), b["token"].as_str().unwrap());
    let ((sa, da), (sb, db)) = tokio::join!(photo(&url, ta, &frame), photo(&url, tb, &frame));
    assert_eq!((sa, sb), (200, 200));
    assert_eq!(da, json!({"result": "pass", "staff_desk": false}));
    assert_eq!(db, json!({"result": "fail", "staff_desk": true}));
}

/// With `--liveness`, the tap starts a Face Liveness session; the page says
/// the video check needs AWS's FaceLivenessDetector and that this kiosk
/// simulates it; the simulated session (the demo face, live) is verified
/// and compared for real: Ada passes, Grace's card fails, and the staff
/// page's data lists them as liveness checks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_liveness_the_page_says_what_runs_only_against_aws_and_the_simulated_session_decides()
{
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kiosk-liveness");
    std::fs::create_dir_all(&dir).unwrap();
    let (_kiosk, url) = kiosk_with(&["--liveness"]);
    let (_driver, page) = browser(&dir, &[]).await;

    let (result, message) = check_in(&page, &url, "1001").await;
    assert_eq!(result, "pass", "{message}");
    let note = text_of(&page, Locator::Id("liveness")).await;
    assert!(
        note.contains("FaceLivenessDetector") && note.contains("simulated"),
        "{note}"
    );
    let mode = text_of(&page, Locator::Id("mode")).await;
    assert!(mode.contains("checks liveness"), "{mode}");
    screenshot(&dir, "kiosk-liveness.png", page.screenshot().await.unwrap());

    let (result, _) = check_in(&page, &url, "1002").await;
    assert_eq!(result, "fail");

    let (status, body) = request(&url, "GET", "/api/decisions", &[], b"").await;
    assert_eq!(status, 200);
    let decisions = body["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 2, "{body}");
    assert!(decisions.iter().all(|d| d["check"] == "liveness"), "{body}");
    assert_eq!(decisions[0]["outcome"], "no_match", "{body}");
    assert_eq!(decisions[1]["outcome"], "match", "{body}");
    page.close().await.unwrap();
}

/// The server's own answers: a request addressed to another host name
/// (DNS rebinding) gets nothing; listening beyond loopback needs saying
/// so; a bad flag is a usage error (64); an address in use cannot start
/// (3, with one JSON line).
#[tokio::test]
async fn the_server_refuses_other_hosts_and_starts_only_as_documented() {
    let (_kiosk, url) = kiosk();
    let (status, _) = request(
        &url,
        "GET",
        "/api/decisions",
        &[("Host", "attacker.example:80".to_owned())],
        b"",
    )
    .await;
    assert_eq!(status, 421);
    let (status, _) = request(&url, "GET", "/api/config", &[], b"").await;
    assert_eq!(status, 200);

    let run = |args: &[&str]| {
        Command::new(example_binary("kiosk"))
            .args(args)
            .output()
            .expect("run the kiosk")
    };
    let out = run(&["--listen", "0.0.0.0:0"]);
    assert_eq!(
        out.status.code(),
        Some(64),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen-beyond-loopback"));
    let out = run(&["--no-such-flag"]);
    assert_eq!(out.status.code(), Some(64));
    let taken = url.trim_start_matches("http://").trim_end_matches('/');
    let out = run(&["--listen", taken]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap();
    assert!(
        last["error"].as_str().unwrap().contains("cannot listen"),
        "{last}"
    );
}
