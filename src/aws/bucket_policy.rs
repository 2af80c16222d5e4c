//! Which bucket-policy statements the audit credits.
//!
//! IAM ANDs everything in a statement: its principals, actions, resources
//! and every condition. A Deny therefore protects only the requests that
//! match **all** of them, and a statement that looks right but names one
//! account, one prefix or one more condition key protects almost nothing.
//! The audit credits a Deny toward a requirement only when it applies to:
//!
//! * **every principal**: `"Principal": "*"` or `{"AWS": "*"}`;
//! * **the actions that matter**: for TLS-only, `s3:GetObject` and
//!   `s3:PutObject` (so `s3:*` or `*` too); for SSE-KMS uploads,
//!   `s3:PutObject`. Wildcards are matched as IAM matches them,
//!   case-insensitively;
//! * **every object of the bucket**: `arn:aws:s3:::B/*`, `*`, or a pattern
//!   ending in `*` that covers it;
//! * **exactly the condition the requirement needs, and nothing else**:
//!   `Bool` `aws:SecureTransport` `false`; or `StringNotEquals`
//!   `s3:x-amz-server-side-encryption` with only `aws:kms` /
//!   `aws:kms:dsse` (`StringNotEqualsIfExists` only when default
//!   encryption is SSE-KMS, which is what an upload without the header
//!   gets).
//!
//! `NotPrincipal`, `NotAction`, `NotResource`, unknown elements, and
//! condition operators or keys the audit does not fully understand never
//! count (fail closed). A statement that tests the requirement's condition
//! key but is not credited is reported with the reason.
//!
//! Sources: IAM JSON policy element reference (Condition evaluation,
//! "Creating a condition with multiple keys or values"); the AWS Config
//! rule `s3-bucket-ssl-requests-only`; S3 User Guide "Requiring
//! server-side encryption".

use serde_json::Value;

/// How one statement stands toward one requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Credit {
    /// It enforces the requirement for every principal and object.
    Credited,
    /// It does not test the requirement's condition key at all.
    Unrelated,
    /// It tests the requirement's condition key but cannot be credited.
    NotCredited(String),
}

/// What a requirement needs of a statement.
struct Need<'a> {
    bucket: &'a str,
    /// The condition key the requirement is about.
    key: &'static str,
    /// Each action here must be covered by the statement's actions.
    actions: &'static [&'static str],
    /// Checks the condition's single operator and its values.
    condition: &'a dyn Fn(&str, &Value) -> Result<(), String>,
}

/// The statements of a policy document (a single object or an array).
pub(crate) fn statements(doc: &Value) -> Vec<&Value> {
    match &doc["Statement"] {
        Value::Array(a) => a.iter().collect(),
        v @ Value::Object(_) => vec![v],
        _ => Vec::new(),
    }
}

/// How a statement is named in findings: its Sid, or its position.
pub(crate) fn label(statement: &Value, index: usize) -> String {
    match statement.get("Sid").and_then(Value::as_str) {
        Some(sid) if !sid.is_empty() => format!("statement {}", crate::text::quote(sid, 64)),
        _ => format!("statement #{}", index + 1),
    }
}

/// A Deny of every request made without TLS, for every principal, on
/// every object of `bucket`.
pub(crate) fn denies_insecure_transport(s: &Value, bucket: &str) -> Credit {
    let need = Need {
        bucket,
        key: "aws:SecureTransport",
        actions: &["s3:GetObject", "s3:PutObject"],
        condition: &|operator, value| {
            if operator != "Bool" {
                return Err(format!(
                    "its operator {operator} is not credited (only Bool with aws:SecureTransport \"false\" is)"
                ));
            }
            match value {
                Value::Bool(false) => Ok(()),
                Value::String(v) if v == "false" => Ok(()),
                Value::Array(a)
                    if !a.is_empty()
                        && a.iter().all(|v| v == "false" || *v == Value::Bool(false)) =>
                {
                    Ok(())
                }
                _ => Err("it does not test aws:SecureTransport for \"false\" alone".into()),
            }
        },
    };
    credit(s, &need)
}

/// A Deny of every upload whose encryption header is not SSE-KMS, for
/// every principal, on every object of `bucket`. With `IfExists`, only when
/// the default encryption (which uploads without the header get) is KMS.
pub(crate) fn denies_non_kms_uploads(s: &Value, bucket: &str, default_kms: bool) -> Credit {
    let need = Need {
        bucket,
        key: "s3:x-amz-server-side-encryption",
        actions: &["s3:PutObject"],
        condition: &|operator, value| {
            match operator {
                "StringNotEquals" => {}
                "StringNotEqualsIfExists" if default_kms => {}
                "StringNotEqualsIfExists" => {
                    return Err("StringNotEqualsIfExists lets an upload without the header through, and this bucket's default encryption is not SSE-KMS".into())
                }
                other => {
                    return Err(format!(
                        "its operator {other} is not credited (only StringNotEquals with aws:kms is)"
                    ))
                }
            }
            let values = match value {
                Value::String(v) => vec![v.as_str()],
                Value::Array(a) => a
                    .iter()
                    .map(Value::as_str)
                    .collect::<Option<Vec<_>>>()
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            if !values.is_empty()
                && values
                    .iter()
                    .all(|v| matches!(*v, "aws:kms" | "aws:kms:dsse"))
            {
                Ok(())
            } else {
                Err("it allows an encryption other than aws:kms or aws:kms:dsse".into())
            }
        },
    };
    credit(s, &need)
}

fn credit(s: &Value, need: &Need<'_>) -> Credit {
    let Some(statement) = s.as_object() else {
        return Credit::Unrelated;
    };
    let Some(condition) = statement.get("Condition") else {
        return Credit::Unrelated;
    };
    if !mentions_key(condition, need.key) {
        return Credit::Unrelated;
    }
    match check(s, condition, need) {
        Ok(()) => Credit::Credited,
        Err(reason) => Credit::NotCredited(reason),
    }
}

/// Whether any operator of `condition` tests `key`.
fn mentions_key(condition: &Value, key: &str) -> bool {
    condition.as_object().is_some_and(|ops| {
        ops.values().any(|keys| {
            keys.as_object()
                .is_some_and(|keys| keys.keys().any(|k| k.eq_ignore_ascii_case(key)))
        })
    })
}

fn check(s: &Value, condition: &Value, need: &Need<'_>) -> Result<(), String> {
    let statement = s.as_object().ok_or("it is not an object")?;
    for (element, _) in statement {
        match element.as_str() {
            "Sid" | "Effect" | "Principal" | "Action" | "Resource" | "Condition" => {}
            "NotPrincipal" | "NotAction" | "NotResource" => {
                return Err(format!(
                    "it uses {element}, which the audit does not credit; name the principals, actions and resources it applies to instead"
                ))
            }
            other => {
                return Err(format!(
                    "it has an element the audit does not know ({})",
                    crate::text::quote(other, 40)
                ))
            }
        }
    }
    if s["Effect"] != "Deny" {
        return Err("its Effect is not Deny; only a Deny refuses requests".into());
    }
    let principal = &s["Principal"];
    let everyone = principal == "*" || strings(&principal["AWS"]).is_some_and(|p| p.contains(&"*"));
    if !everyone {
        return Err(
            "it applies only to some principals; use \"Principal\": \"*\" so it binds everyone"
                .into(),
        );
    }
    let actions = strings(&s["Action"]).ok_or("its Action is missing or malformed")?;
    for wanted in need.actions {
        if !actions
            .iter()
            .any(|a| glob(&a.to_ascii_lowercase(), &wanted.to_ascii_lowercase()))
        {
            return Err(format!("its Action does not cover {wanted}"));
        }
    }
    let resources = strings(&s["Resource"]).ok_or("its Resource is missing or malformed")?;
    if !resources
        .iter()
        .any(|r| covers_every_object(r, need.bucket))
    {
        return Err(format!(
            "its Resource does not cover every object of the bucket (arn:PARTITION:s3:::{}/*)",
            need.bucket
        ));
    }
    let operators = condition.as_object().ok_or("its Condition is malformed")?;
    if operators.len() != 1 {
        return Err(format!(
            "its Condition has {} operators; IAM ANDs them, so the others narrow it",
            operators.len()
        ));
    }
    let (operator, keys) = operators.iter().next().ok_or("its Condition is empty")?;
    let keys = keys.as_object().ok_or("its Condition is malformed")?;
    if let Some(other) = keys.keys().find(|k| !k.eq_ignore_ascii_case(need.key)) {
        return Err(format!(
            "its Condition also tests {}; IAM ANDs condition keys, so that narrows it",
            crate::text::quote(other, 64)
        ));
    }
    let value = keys
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(need.key))
        .map(|(_, v)| v)
        .ok_or("its Condition is malformed")?;
    (need.condition)(&crate::text::escape(operator), value)
}

/// A string or a non-empty array of strings, as IAM allows; `None` for
/// anything else.
fn strings(v: &Value) -> Option<Vec<&str>> {
    match v {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(a) if !a.is_empty() => a.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

/// Whether resource pattern `r` matches every object ARN of `bucket`: `*`,
/// or a pattern whose only wildcard is a trailing `*` after a prefix of
/// `arn:PARTITION:s3:::BUCKET/`.
fn covers_every_object(r: &str, bucket: &str) -> bool {
    if r == "*" {
        return true;
    }
    let Some(prefix) = r.strip_suffix('*') else {
        return false;
    };
    if prefix.contains(['*', '?']) {
        return false;
    }
    ["aws", "aws-cn", "aws-us-gov"]
        .iter()
        .any(|partition| format!("arn:{partition}:s3:::{bucket}/").starts_with(prefix))
}

/// IAM wildcard matching: `*` any run of characters, `?` one character.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if let Some((star, at)) = backtrack {
            pi = star + 1;
            ti = at + 1;
            backtrack = Some((star, at + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(json: &str) -> Value {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn wildcards_match_as_iam_does() {
        assert!(glob("s3:*", "s3:getobject"));
        assert!(glob("*", "s3:putobject"));
        assert!(glob("s3:get*", "s3:getobject"));
        assert!(glob("s3:?etobject", "s3:getobject"));
        assert!(glob("s3:*object", "s3:putobject"));
        assert!(!glob("s3:get*", "s3:putobject"));
        assert!(!glob("s3:getobject", "s3:getobjectversion"));
        assert!(covers_every_object("arn:aws:s3:::b/*", "b"));
        assert!(covers_every_object("arn:aws:s3:::b*", "b"));
        assert!(covers_every_object("arn:aws:s3:::*", "b"));
        assert!(covers_every_object("*", "b"));
        assert!(!covers_every_object("arn:aws:s3:::b", "b"));
        assert!(!covers_every_object("arn:aws:s3:::b/unused/*", "b"));
        assert!(!covers_every_object("arn:aws:s3:::b/*.jpg", "b"));
        assert!(!covers_every_object("arn:aws:s3:::bb/*", "b"));
    }
    fn tls(json: &str) -> Credit {
        denies_insecure_transport(&statement(json), "b")
    }

    fn kms(json: &str, default_kms: bool) -> Credit {
        denies_non_kms_uploads(&statement(json), "b", default_kms)
    }

    #[test]
    fn tls_only_statement_shapes() {
        let good = r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#;
        assert_eq!(tls(good), Credit::Credited);
        let principal_aws = r#"{"Effect":"Deny","Principal":{"AWS":"*"},"Action":["s3:*"],"Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":false}}}"#;
        assert_eq!(tls(principal_aws), Credit::Credited);
        // GovCloud (partition aws-us-gov) and China ARNs name the bucket too.
        for partition in ["aws-us-gov", "aws-cn"] {
            let statement = good.replace("arn:aws:", &format!("arn:{partition}:"));
            assert_eq!(tls(&statement), Credit::Credited, "{statement}");
        }
        let unknown = good.replace("arn:aws:", "arn:aws-xx:");
        assert!(matches!(tls(&unknown), Credit::NotCredited(_)), "{unknown}");
        for bad in [
            // An Allow on SecureTransport=true does not refuse anything.
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}"#,
            // Only one action.
            r#"{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
            // Another bucket.
            r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::other/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
            // One principal only.
            r#"{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
        ] {
            assert!(matches!(tls(bad), Credit::NotCredited(_)), "{bad}");
        }
    }

    #[test]
    fn kms_upload_statement_shapes() {
        let strict = r#"{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}}"#;
        assert_eq!(kms(strict, false), Credit::Credited);
        let if_exists = r#"{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringNotEqualsIfExists":{"s3:x-amz-server-side-encryption":["aws:kms","aws:kms:dsse"]}}}"#;
        assert_eq!(kms(if_exists, true), Credit::Credited);
        assert!(
            matches!(kms(if_exists, false), Credit::NotCredited(_)),
            "without a KMS default, uploads without the header get SSE-S3"
        );
        let aes = r#"{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringNotEquals":{"s3:x-amz-server-side-encryption":"AES256"}}}"#;
        assert!(matches!(kms(aes, true), Credit::NotCredited(_)));
    }

    #[test]
    fn statement_lists_and_single_objects() {
        let doc: Value = serde_json::from_str(r#"{"Statement":{"Effect":"Deny"}}"#).unwrap();
        assert_eq!(statements(&doc).len(), 1);
        let doc: Value =
            serde_json::from_str(r#"{"Statement":[{"Effect":"Deny"},{"Effect":"Allow"}]}"#)
                .unwrap();
        assert_eq!(statements(&doc).len(), 2);
        assert!(statements(&Value::Null).is_empty());
    }

    /// One row per statement shape: the requirement, the statement's
    /// elements, and whether it is credited (`None`) or not credited with a
    /// reason containing the given text.
    #[test]
    fn each_statement_is_credited_only_when_it_binds_everyone_everywhere() {
        const TLS_COND: &str = r#"{"Bool":{"aws:SecureTransport":"false"}}"#;
        const KMS_COND: &str =
            r#"{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms"}}"#;
        type Row<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, Option<&'a str>);
        let table: &[Row<'_>] = &[
            // requirement, principal, action, resource, condition, expected
            (
                "tls",
                r#""*""#,
                r#""s3:*""#,
                r#""arn:aws:s3:::b/*""#,
                TLS_COND,
                None,
            ),
            (
                "tls",
                r#"{"AWS":"*"}"#,
                r#""s3:*""#,
                r#""arn:aws:s3:::b/*""#,
                TLS_COND,
                None,
            ),
            (
                "tls",
                r#"{"AWS":["*"]}"#,
                r#""*""#,
                r#""*""#,
                TLS_COND,
                None,
            ),
            (
                "tls",
                r#""*""#,
                r#"["s3:Get*","s3:Put*"]"#,
                r#""arn:aws:s3:::b*""#,
                TLS_COND,
                None,
            ),
            (
                "tls",
                r#""*""#,
                r#"["s3:GetObject","s3:PutObject"]"#,
                r#"["arn:aws:s3:::b","arn:aws:s3:::b/*"]"#,
                r#"{"Bool":{"aws:securetransport":["false"]}}"#,
                None,
            ),
            // The issue's first statement: TLS forced on one foreign account only.
            (
                "tls",
                r#""*""#,
                r#""s3:*""#,
                r#""arn:aws:s3:::b/*""#,
                r#"{"Bool":{"aws:SecureTransport":"false"},"StringEquals":{"aws:PrincipalAccount":"999999999999"}}"#,
                Some("2 operators"),
            ),
            // Extra key under the same operator.
            (
                "tls",
                r#""*""#,
                r#""s3:*""#,
                r#""arn:aws:s3:::b/*""#,
                r#"{"Bool":{"aws:SecureTransport":"false","aws:ViaAWSService":"false"}}"#,
                Some("also tests \"aws:ViaAWSService\""),
            ),
            // ...IfExists and other operators are not credited.
            (
                "tls",
                r#""*""#,
                r#""s3:*""#,
                r#""arn:aws:s3:::b/*""#,
                r#"{"BoolIfExists":{"aws:SecureTransport":"false"}}"#,
                Some("BoolIfExists"),
            ),
            (
                "tls",
                r#""*""#,
                r#""s3:*""#,
                r#""arn:aws:s3:::b/*""#,
                r#"{"ForAnyValue:Bool":{"aws:SecureTransport":"false"}}"#,
                Some("ForAnyValue:Bool"),
            ),
            (
                "tls",
                r#""*""#,
                r#""s3:*""#,
                r#""arn:aws:s3:::b/*""#,
                r#"{"Bool":{"aws:SecureTransport":["false","true"]}}"#,
                Some("\"false\" alone"),
            ),
            (
                "tls",
                r#""*""#,
                r#""s3:*""#,
                r#""arn:aws:s3:::b/*""#,
                r#"{"Bool":{"aws:SecureTransport":"true"}}"#,
                Some("\"false\" alone"),
            ),
            // Narrowed resources.
            (
                "tls",
                r#""*""#,
                r#""s3:*""#,
                r#""arn:aws:s3:::b""#,
                TLS_COND,
                Some("every object"),
            ),
            (
                "tls",
                r#""*""#,
                r#""s3:*""#,
                r#""arn:aws:s3:::b/members/*""#,
                TLS_COND,
                Some("every object"),
            ),
            (
                "tls",
                r#""*""#,
                r#""s3:*""#,
                r#""arn:aws:s3:::b/*.jpg""#,
                TLS_COND,
                Some("every object"),
            ),
            (
                "tls",
                r#""*""#,
                r#""s3:*""#,
                r#""arn:aws:s3:::bb/*""#,
                TLS_COND,
                Some("every object"),
            ),
            // Narrowed actions.
            (
                "tls",
                r#""*""#,
                r#""s3:GetObject""#,
                r#""arn:aws:s3:::b/*""#,
                TLS_COND,
                Some("s3:PutObject"),
            ),
            (
                "tls",
                r#""*""#,
                r#""s3:List*""#,
                r#""arn:aws:s3:::b/*""#,
                TLS_COND,
                Some("s3:GetObject"),
            ),
            // Narrowed principals.
            (
                "tls",
                r#"{"AWS":"arn:aws:iam::111122223333:root"}"#,
                r#""s3:*""#,
                r#""arn:aws:s3:::b/*""#,
                TLS_COND,
                Some("some principals"),
            ),
            (
                "tls",
                r#"{"Service":"*"}"#,
                r#""s3:*""#,
                r#""arn:aws:s3:::b/*""#,
                TLS_COND,
                Some("some principals"),
            ),
            (
                "kms",
                r#""*""#,
                r#""s3:PutObject""#,
                r#""arn:aws:s3:::b/*""#,
                KMS_COND,
                None,
            ),
            (
                "kms",
                r#""*""#,
                r#""s3:*""#,
                r#""*""#,
                r#"{"StringNotEquals":{"s3:x-amz-server-side-encryption":["aws:kms","aws:kms:dsse"]}}"#,
                None,
            ),
            // The issue's second statement: an unused prefix.
            (
                "kms",
                r#""*""#,
                r#""s3:PutObject""#,
                r#""arn:aws:s3:::b/unused/*""#,
                KMS_COND,
                Some("every object"),
            ),
            (
                "kms",
                r#""*""#,
                r#""s3:PutObject""#,
                r#""arn:aws:s3:::b/*""#,
                r#"{"StringNotEquals":{"s3:x-amz-server-side-encryption":"aws:kms","aws:PrincipalAccount":"999999999999"}}"#,
                Some("also tests"),
            ),
            (
                "kms",
                r#""*""#,
                r#""s3:PutObject""#,
                r#""arn:aws:s3:::b/*""#,
                r#"{"StringNotEqualsIgnoreCase":{"s3:x-amz-server-side-encryption":"aws:kms"}}"#,
                Some("StringNotEqualsIgnoreCase"),
            ),
            (
                "kms",
                r#""*""#,
                r#""s3:PutObject""#,
                r#""arn:aws:s3:::b/*""#,
                r#"{"Null":{"s3:x-amz-server-side-encryption":"true"}}"#,
                Some("Null"),
            ),
            (
                "kms",
                r#""*""#,
                r#""s3:GetObject""#,
                r#""arn:aws:s3:::b/*""#,
                KMS_COND,
                Some("s3:PutObject"),
            ),
            (
                "kms",
                r#""*""#,
                r#""s3:PutObject""#,
                r#""arn:aws:s3:::b/*""#,
                r#"{"StringNotEquals":{"s3:x-amz-server-side-encryption":["aws:kms","AES256"]}}"#,
                Some("other than aws:kms"),
            ),
        ];
        for (requirement, principal, action, resource, condition, expected) in table {
            let json = format!(
                r#"{{"Effect":"Deny","Principal":{principal},"Action":{action},"Resource":{resource},"Condition":{condition}}}"#
            );
            let credit = match *requirement {
                "tls" => tls(&json),
                _ => kms(&json, false),
            };
            match expected {
                None => assert_eq!(credit, Credit::Credited, "{json}"),
                Some(why) => match &credit {
                    Credit::NotCredited(reason) => {
                        assert!(reason.contains(why), "{json}: {reason}")
                    }
                    other => panic!("{json}: expected not credited ({why}), got {other:?}"),
                },
            }
        }
    }

    #[test]
    fn allow_statements_and_negated_elements_never_count() {
        for json in [
            // Looks like the TLS deny, but allows.
            r#"{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
            r#"{"Effect":"deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
            r#"{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
            r#"{"Effect":"Deny","Principal":"*","NotAction":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
            r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","NotResource":"arn:aws:s3:::b/public/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
            r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}},"Extra":1}"#,
            r#"{"Effect":"Deny","Principal":"*","Action":7,"Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
            r#"{"Effect":"Deny","Principal":"*","Action":[],"Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
        ] {
            assert!(matches!(tls(json), Credit::NotCredited(_)), "{json}");
        }
        // A statement that does not test the condition key is unrelated.
        assert_eq!(
            tls(r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}"#),
            Credit::Unrelated
        );
        assert_eq!(
            tls(
                r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"1"}}}"#
            ),
            Credit::Unrelated
        );
    }

    #[test]
    fn reasons_and_labels_cannot_forge_log_lines() {
        let s = statement(
            "{\"Sid\":\"x\\u2028 INFO forged\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::b/*\",\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"false\",\"k\\u202e\":\"1\"}}}",
        );
        let Credit::NotCredited(reason) = denies_insecure_transport(&s, "b") else {
            panic!("not credited expected");
        };
        let shown = format!("{} {reason}", label(&s, 0));
        assert!(!crate::text::has_log_unsafe(&shown), "{shown}");
        assert!(
            shown.contains("\\u{2028}") && shown.contains("\\u{202e}"),
            "{shown}"
        );
    }
}
