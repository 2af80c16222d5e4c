//! `examples/collection_checkout.rs` end to end: the example binary against
//! an HTTPS stand-in for Rekognition collections and S3 (moto has no
//! collections), trusted through `AWS_CA_BUNDLE`. Every decision and exit
//! code of its contract, and what reached Rekognition.

use std::sync::Arc;

use rekognition_guard::conformance::collection::Face;
use rekognition_guard::conformance::Stored;

use crate::support;
use support::collection::{live_bytes, Stand};
use support::emulator::{example_binary, run_cli, unique, Run};
use support::fault_server::{ca_pem, Fault, FaultServer, Request, Script};

const ATTESTATION: &str = "AWS Support case 1234567890";

#[tokio::test]
async fn collection_checkout_keeps_its_contract() {
    let bin = example_binary("collection_checkout");
    let stand = Stand::new();
    stand.create_collection("library-members");
    let ada = stand.put_photo(Face::Ada, Stored::SseKms).to_string();
    let alan = stand.put_photo(Face::Grace, Stored::SseS3).to_string();
    let server = FaultServer::start(Fault::Script(Script(Arc::new({
        let stand = stand.clone();
        move |r: &Request| stand.answer(r)
    }))))
    .await;

    let dir = std::env::temp_dir().join(unique("rg-collection-checkout"));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, ca_pem()).unwrap();
    let photo = |face: Face| {
        let path = dir.join(format!("{}.jpg", face.label()));
        std::fs::write(&path, live_bytes(face)).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let (live_ada, crowd) = (photo(Face::Ada), photo(Face::Crowd));
    let env = vec![
        ("AWS_ENDPOINT_URL".to_owned(), server.endpoint.clone()),
        ("AWS_CA_BUNDLE".to_owned(), ca.to_str().unwrap().to_owned()),
    ];
    // The server runs on this test's runtime: run the example off it.
    let run = |args: Vec<String>| {
        let (bin, env) = (bin.clone(), env.clone());
        async move {
            tokio::task::spawn_blocking(move || {
                let env: Vec<(&str, &str)> =
                    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                run_cli(&bin, &args, &env)
            })
            .await
            .unwrap()
        }
    };
    let notice = dir.join("notice.txt");
    std::fs::write(&notice, "We collect a scan of your face geometry to ...").unwrap();
    let notice = notice.to_str().unwrap().to_owned();
    // Without consent flags: only the refusal for missing consent uses it.
    let bare_args = |list: &[&str]| -> Vec<String> {
        let mut all: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
        all.extend(["--collection", "library-members", "--region", "eu-west-1"].map(str::to_owned));
        all
    };
    // Every `index` carries the member's recorded consent.
    let args = |list: &[&str]| -> Vec<String> {
        let mut all = bare_args(list);
        if list.first() == Some(&"index") {
            all.extend(
                [
                    "--consent-reference",
                    "consent form 2026-000417",
                    "--consent-notice",
                    &notice,
                ]
                .map(str::to_owned),
            );
        }
        all
    };
    let accept = "--accept-face-vectors-without-customer-kms-key";
    let expect = |r: &Run, code: i32, decision: &str| {
        assert_eq!(r.code, code, "{}\n{}", r.stdout, r.stderr);
        assert_eq!(r.json["decision"], decision, "{}", r.json);
    };

    // 2: without the choice to keep face vectors, nothing is indexed.
    let calls = stand.collection_calls();
    let r = run(args(&[
        "index",
        "--member",
        "member-000417",
        "--photo",
        &ada,
        "--opt-out-attestation",
        ATTESTATION,
    ]))
    .await;
    expect(&r, 2, "refused");
    assert!(
        r.json["reasons"][0].as_str().unwrap().contains(accept),
        "{}",
        r.json
    );
    // 2: nor without opt-out evidence.
    let r = run(args(&[
        "index",
        "--member",
        "member-000417",
        "--photo",
        &ada,
        accept,
    ]))
    .await;
    expect(&r, 2, "refused");
    // 2: nor an SSE-S3 photo.
    let r = run(args(&[
        "index",
        "--member",
        "member-000418",
        "--photo",
        &alan,
        accept,
        "--opt-out-attestation",
        ATTESTATION,
    ]))
    .await;
    expect(&r, 2, "refused");
    assert!(
        r.json["reasons"][0].as_str().unwrap().contains("SSE-S3"),
        "{}",
        r.json
    );
    assert_eq!(
        stand.collection_calls(),
        calls,
        "nothing reached Rekognition"
    );

    // 2: nor without the member's recorded consent.
    let r = run(bare_args(&[
        "index",
        "--member",
        "member-000417",
        "--photo",
        &ada,
        accept,
        "--opt-out-attestation",
        ATTESTATION,
    ]))
    .await;
    expect(&r, 2, "refused");
    assert!(
        r.json["reasons"][0]
            .as_str()
            .unwrap()
            .contains("no recorded consent"),
        "{}",
        r.json
    );
    assert_eq!(
        stand.collection_calls(),
        calls,
        "nothing reached Rekognition"
    );

    // 0: indexed, from the checked, pinned photo, with the consent named.
    let r = run(args(&[
        "index",
        "--member",
        "member-000417",
        "--photo",
        &ada,
        accept,
        "--opt-out-attestation",
        ATTESTATION,
    ]))
    .await;
    expect(&r, 0, "indexed");
    assert_eq!(
        r.json["consent"], "kept in \"consent form 2026-000417\"",
        "{}",
        r.json
    );
    let face_id = r.json["face_id"].as_str().unwrap().to_owned();
    assert!(r.json["face_vectors"]
        .as_str()
        .unwrap()
        .contains("no customer KMS key"));
    assert_eq!(r.json["opt_out"]["evidence"], "attested");

    // 0: identified; 1: a photo with two people.
    let r = run(args(&[
        "search",
        "--photo",
        &live_ada,
        accept,
        "--opt-out-attestation",
        ATTESTATION,
    ]))
    .await;
    expect(&r, 0, "identified");
    assert_eq!(r.json["member"], "member-000417");
    assert!(r.json["similarity"].as_f64().unwrap() >= 99.0);
    let r = run(args(&[
        "search",
        "--photo",
        &crowd,
        accept,
        "--opt-out-attestation",
        ATTESTATION,
    ]))
    .await;
    expect(&r, 1, "photo_rejected");

    // 0: forgotten, with no choice flag and no opt-out evidence; then 1:
    // nobody matches.
    let r = run(args(&["forget", "--member", "member-000417"])).await;
    expect(&r, 0, "forgotten");
    assert_eq!(r.json["removed"], serde_json::json!([face_id]));
    let r = run(args(&[
        "search",
        "--photo",
        &live_ada,
        accept,
        "--opt-out-attestation",
        ATTESTATION,
    ]))
    .await;
    expect(&r, 1, "no_match");

    // 64: usage errors, before anything is sent.
    let calls = stand.collection_calls();
    for bad in [
        vec![
            "forget".to_owned(),
            "--member".to_owned(),
            "member-1".to_owned(),
        ],
        args(&["forget", "--member", "Ada Lovelace"]),
        args(&["search", "--photo", &live_ada, "--threshold", "101"]),
        args(&["search", "--photo", &live_ada, "--threshold", "98"]),
    ] {
        let r = run(bad.clone()).await;
        assert_eq!(r.code, 64, "{bad:?}: {}\n{}", r.stdout, r.stderr);
        assert!(
            !r.stdout.contains("Ada Lovelace"),
            "a member id is never echoed: {}",
            r.stdout
        );
    }
    assert_eq!(stand.collection_calls(), calls);
}
