//! An HTTPS server on loopback that misbehaves on purpose: it hangs,
//! resets connections, answers late, answers garbage or answers well, as
//! told. Its certificate comes from a throwaway CA made when the test
//! binary first needs it (rcgen); the SDK clients under test trust that CA
//! and nothing else, so every byte crosses real TLS.
//!
//! One server plays one service. Give S3 and Rekognition a server each to
//! make one of them fail while the other behaves.
#![allow(dead_code)] // each test binary uses part of it

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

/// A response the server sends.
#[derive(Debug, Clone)]
pub struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    /// A response with a status and nothing else.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header. A `content-length` header given here replaces the
    /// one the server would add (HEAD responses describe the object).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// A JSON body, as Rekognition answers.
    pub fn json(status: u16, body: &str) -> Self {
        Self::status(status)
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amzn-requestid", "fault-server-request")
            .body(body.as_bytes().to_vec())
    }

    /// What HeadObject answers for an object that passes the default
    /// policy: SSE-KMS with `kms_key`, versioned, a small JPEG.
    pub fn sse_kms_head(kms_key: &str, version: &str) -> Self {
        Self::status(200)
            .header("content-type", "image/jpeg")
            .header("content-length", "48213")
            .header("x-amz-server-side-encryption", "aws:kms")
            .header("x-amz-server-side-encryption-aws-kms-key-id", kms_key)
            .header("x-amz-version-id", version)
            .header("etag", "\"5d41402abc4b2a76b9719d911017c592\"")
    }

    /// What CompareFaces answers for a match.
    pub fn compare_match(similarity: f32) -> Self {
        Self::json(200, &super::answers::compare_match(similarity))
    }

    /// What DetectFaces answers for these faces.
    pub fn detect_faces(faces: &[super::answers::Face]) -> Self {
        Self::json(200, &super::answers::detect_faces(faces))
    }

    /// What STS GetCallerIdentity answers for `account`.
    pub fn caller_identity(account: &str) -> Self {
        Self::status(200)
            .header("content-type", "text/xml")
            .body(super::answers::caller_identity(account))
    }

    fn head_bytes(&self, promised_body: usize) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} Fault Server\r\n", self.status);
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        {
            head.push_str(&format!("content-length: {promised_body}\r\n"));
        }
        head.push_str("\r\n");
        head.into_bytes()
    }
}

/// A request the server read: method, target, headers and body.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The access key id the request was signed with.
    pub fn access_key(&self) -> Option<&str> {
        let auth = self.header("authorization")?;
        let credential = auth.split("Credential=").nth(1)?;
        credential.split('/').next()
    }

    /// The operation of a JSON-protocol request (`x-amz-target`), or of a
    /// query-protocol one (`Action=` in the body).
    pub fn operation(&self) -> Option<String> {
        if let Some(target) = self.header("x-amz-target") {
            return target.rsplit('.').next().map(str::to_owned);
        }
        let body = std::str::from_utf8(&self.body).ok()?;
        body.split('&')
            .find_map(|kv| kv.strip_prefix("Action="))
            .map(str::to_owned)
    }
}

/// Answers each request as the test scripts it: one server can then play
/// several services behind one endpoint.
#[derive(Clone)]
pub struct Script(pub Arc<dyn Fn(&Request) -> Response + Send + Sync>);

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Script")
    }
}

/// How the server behaves on every connection.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answers each request with what the script returns for it.
    Script(Script),
    /// Answers every request with this response (a working service, or an
    /// HTTP error such as 500 or 503).
    Respond(Response),
    /// Reads the request and answers it only after the delay.
    Delay(Duration, Response),
    /// Reads the request and never answers, holding the connection open.
    Hang,
    /// Accepts the TCP connection and never says a word, not even TLS.
    SilentTcp,
    /// Accepts the TCP connection and resets it at once, before TLS.
    ResetBeforeTls,
    /// Completes TLS, reads the request, then resets the connection.
    ResetAfterRequest,
    /// Reads the request and answers with bytes that are not HTTP.
    Garbage,
    /// Sends the response head and half the body it promises, then closes.
    Truncated(Response),
}

/// A running fault server; stops when dropped.
pub struct FaultServer {
    /// `https://127.0.0.1:PORT`.
    pub endpoint: String,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Tls {
    ca_pem: String,
    acceptor: TlsAcceptor,
}

/// The throwaway CA and the server's TLS settings, made once per process.
fn tls() -> &'static Tls {
    static TLS: OnceLock<Tls> = OnceLock::new();
    TLS.get_or_init(|| {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
            IsCa, KeyPair, KeyUsagePurpose,
        };
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "rekognition-guard throwaway fault CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();

        let mut leaf =
            CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
        leaf.distinguished_name
            .push(DnType::CommonName, "rekognition-guard fault server");
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        let cert = leaf.signed_by(&key, &ca).unwrap();

        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        Tls {
            ca_pem: ca.pem(),
            acceptor: TlsAcceptor::from(Arc::new(config)),
        }
    })
}

/// The PEM of the CA that signed every fault server's certificate.
pub fn ca_pem() -> &'static str {
    &tls().ca_pem
}

impl FaultServer {
    /// Starts a server on a free loopback port.
    pub async fn start(fault: Fault) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("https://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn({
            let (connections, requests) = (connections.clone(), requests.clone());
            async move {
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    connections.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(serve(tcp, fault.clone(), requests.clone()));
                }
            }
        });
        Self {
            endpoint,
            connections,
            requests,
            task,
        }
    }

    /// How many TCP connections the server accepted.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// The requests it read completely, as `METHOD target`.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

async fn serve(tcp: TcpStream, fault: Fault, requests: Arc<Mutex<Vec<String>>>) {
    match fault {
        Fault::SilentTcp => {
            let _held = tcp;
            std::future::pending::<()>().await;
        }
        Fault::ResetBeforeTls => reset(tcp),
        fault => {
            let Ok(mut tls) = tls().acceptor.accept(tcp).await else {
                return;
            };
            // Keep-alive: answer requests on this connection until the
            // client closes it or the fault ends it.
            while let Some(request) = read_request(&mut tls).await {
                requests
                    .lock()
                    .unwrap()
                    .push(format!("{} {}", request.method, request.target));
                let scripted;
                let response = match &fault {
                    Fault::Script(script) => {
                        scripted = (script.0)(&request);
                        &scripted
                    }
                    Fault::Respond(r) => r,
                    Fault::Delay(delay, r) => {
                        tokio::time::sleep(*delay).await;
                        r
                    }
                    Fault::Hang => {
                        let _held = tls;
                        std::future::pending::<()>().await;
                        return;
                    }
                    Fault::ResetAfterRequest => {
                        let (tcp, _) = tls.into_inner();
                        reset(tcp);
                        return;
                    }
                    Fault::Garbage => {
                        let _ = tls
                            .write_all(b"\x16\x03\x01garbage \x00\xff not HTTP at all\r\n\r\n")
                            .await;
                        let _ = tls.shutdown().await;
                        return;
                    }
                    Fault::Truncated(r) => {
                        let mut out = r.head_bytes(r.body.len());
                        out.extend_from_slice(&r.body[..r.body.len() / 2]);
                        let _ = tls.write_all(&out).await;
                        let _ = tls.shutdown().await;
                        return;
                    }
                    Fault::SilentTcp | Fault::ResetBeforeTls => return,
                };
                let mut out = response.head_bytes(response.body.len());
                out.extend_from_slice(&response.body);
                if tls.write_all(&out).await.is_err() || tls.flush().await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Closes with RST instead of FIN.
fn reset(tcp: TcpStream) {
    let _ = tcp.set_zero_linger();
    drop(tcp);
}

/// Reads one request (head and body); `None` at end of stream or on
/// anything unreadable.
async fn read_request<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) -> Option<Request> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        if let httparse::Status::Complete(head_len) = request.parse(&buf).ok()? {
            let method = request.method?.to_owned();
            let target = request.path?.to_owned();
            let headers: Vec<(String, String)> = request
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_owned(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect();
            let body_len = request
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| {
                    std::str::from_utf8(h.value)
                        .ok()?
                        .trim()
                        .parse::<usize>()
                        .ok()
                })
                .unwrap_or(0);
            while buf.len() < head_len + body_len {
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some(Request {
                method,
                target,
                headers,
                body: buf[head_len..head_len + body_len].to_vec(),
            });
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
