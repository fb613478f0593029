//! `gatekeeper aws-policy`: the policies' shape, case by case. Whether AWS's evaluation allows
//! exactly the gatekeeper's operations is checked against moto in `tests/aws/policy_test.py`;
//! what moto does not evaluate (conditions, bucket policies) is checked here.

// In tests a panic is the failure report, so unwrapping is the clearest way to fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use serde_json::{Value, json};

const KMS: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn aws_policy(args: &[&str]) -> Result<Value, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_gatekeeper"))
        .arg("aws-policy")
        .args(args)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn statement<'a>(policy: &'a Value, sid: &str) -> Option<&'a Value> {
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == sid)
}

/// Every action the IAM policy allows, with its resource.
fn allowed(policy: &Value) -> Vec<(String, String)> {
    let mut all = Vec::new();
    for s in policy["iam_policy"]["Statement"].as_array().unwrap() {
        assert_eq!(s["Effect"], "Allow");
        let actions = match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            list => list
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect(),
        };
        for action in actions {
            all.push((action, s["Resource"].as_str().unwrap().to_owned()));
        }
    }
    all.sort();
    all
}

#[test]
fn each_operation_allows_its_actions_on_the_key_root_only() {
    let objects = "arn:aws:s3:::acme-reports/tenant-7/*";
    let bucket = "arn:aws:s3:::acme-reports";
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("get", &[("s3:GetObject", objects)]),
        ("put", &[("s3:PutObject", objects)]),
        ("list", &[("s3:ListBucket", bucket)]),
        ("delete", &[("s3:DeleteObject", objects)]),
        (
            "multipart",
            &[
                ("s3:AbortMultipartUpload", objects),
                ("s3:ListMultipartUploadParts", objects),
                ("s3:PutObject", objects),
            ],
        ),
        (
            "get,put,list",
            &[
                ("s3:GetObject", objects),
                ("s3:ListBucket", bucket),
                ("s3:PutObject", objects),
            ],
        ),
    ];
    for (ops, want) in cases {
        let policy = aws_policy(&[
            "--bucket",
            "acme-reports",
            "--key-root",
            "tenant-7/",
            "--ops",
            ops,
        ])
        .unwrap();
        let mut want: Vec<(String, String)> = want
            .iter()
            .map(|(a, r)| ((*a).to_owned(), (*r).to_owned()))
            .collect();
        want.sort();
        assert_eq!(allowed(&policy), want, "--ops {ops}");
    }
}

#[test]
fn listing_is_confined_to_the_key_root_by_a_prefix_condition() {
    let policy = aws_policy(&["--bucket", "acme-reports", "--key-root", "tenant-7/"]).unwrap();
    let list = statement(&policy["iam_policy"], "GatekeeperList").unwrap();
    assert_eq!(
        list["Condition"],
        json!({ "StringLike": { "s3:prefix": "tenant-7/*" } })
    );
    // Without a key root the gatekeeper may list the whole bucket.
    let whole = aws_policy(&["--bucket", "acme-reports"]).unwrap();
    let list = statement(&whole["iam_policy"], "GatekeeperList").unwrap();
    assert!(list.get("Condition").is_none());
    assert_eq!(
        allowed(&whole)
            .iter()
            .find(|(a, _)| a == "s3:GetObject")
            .unwrap()
            .1,
        "arn:aws:s3:::acme-reports/*"
    );
}

#[test]
fn kms_permissions_come_only_with_a_kms_key_and_only_through_s3() {
    let plain = aws_policy(&["--bucket", "acme-reports"]).unwrap();
    assert!(allowed(&plain).iter().all(|(a, _)| !a.starts_with("kms:")));
    assert_eq!(
        plain["bucket_encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"],
        json!({ "SSEAlgorithm": "AES256" })
    );

    let kms = aws_policy(&["--bucket", "acme-reports", "--kms-key", KMS]).unwrap();
    let statement = statement(&kms["iam_policy"], "GatekeeperKms").unwrap();
    assert_eq!(
        statement["Action"],
        json!(["kms:GenerateDataKey", "kms:Decrypt"])
    );
    assert_eq!(statement["Resource"], KMS);
    assert_eq!(
        statement["Condition"],
        json!({ "StringEquals": { "kms:ViaService": "s3.eu-west-1.amazonaws.com" } })
    );
    assert_eq!(
        kms["bucket_encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"],
        json!({ "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KMS })
    );
    assert!(aws_policy(&["--bucket", "acme-reports", "--kms-key", "alias/mine"]).is_err());
    // A gatekeeper that only lists reads no object, so it needs no key.
    let list_only = aws_policy(&[
        "--bucket",
        "acme-reports",
        "--ops",
        "list",
        "--kms-key",
        KMS,
    ])
    .unwrap();
    assert!(
        allowed(&list_only)
            .iter()
            .all(|(a, _)| !a.starts_with("kms:"))
    );
}

#[test]
fn the_bucket_policy_denies_plain_http_and_other_encryption() {
    let kms = aws_policy(&["--bucket", "acme-reports", "--kms-key", KMS]).unwrap();
    let policy = &kms["bucket_policy"];
    let tls = statement(policy, "DenyInsecureTransport").unwrap();
    assert_eq!(tls["Effect"], "Deny");
    assert_eq!(tls["Principal"], "*");
    assert_eq!(
        tls["Condition"],
        json!({ "Bool": { "aws:SecureTransport": "false" } })
    );
    assert_eq!(
        tls["Resource"],
        json!(["arn:aws:s3:::acme-reports", "arn:aws:s3:::acme-reports/*"])
    );
    let other = statement(policy, "DenyOtherEncryption").unwrap();
    assert_eq!(
        other["Condition"]["StringNotEquals"]["s3:x-amz-server-side-encryption"],
        "aws:kms"
    );
    assert!(statement(policy, "DenyCustomerKeys").is_some());
    let key = statement(policy, "DenyOtherKmsKey").unwrap();
    assert_eq!(
        key["Condition"]["StringNotEquals"]["s3:x-amz-server-side-encryption-aws-kms-key-id"],
        KMS
    );
    for s in policy["Statement"].as_array().unwrap() {
        assert_eq!(s["Effect"], "Deny", "the bucket policy only takes away");
    }
    let plain = aws_policy(&["--bucket", "acme-reports"]).unwrap();
    assert!(statement(&plain["bucket_policy"], "DenyOtherKmsKey").is_none());
}

#[test]
fn incomplete_multipart_uploads_are_aborted_after_a_few_days() {
    let policy = aws_policy(&["--bucket", "acme-reports", "--key-root", "tenant-7/"]).unwrap();
    assert_eq!(
        policy["lifecycle"]["Rules"][0]["AbortIncompleteMultipartUpload"],
        json!({ "DaysAfterInitiation": 3 })
    );
    assert_eq!(
        policy["lifecycle"]["Rules"][0]["Filter"],
        json!({ "Prefix": "tenant-7/" })
    );
}

#[test]
fn the_audit_archive_gets_put_and_get_on_its_folder_outside_the_key_root() {
    let policy = aws_policy(&[
        "--bucket",
        "acme-reports",
        "--key-root",
        "tenant-7/",
        "--ops",
        "get",
        "--audit-prefix",
        "audit/",
    ])
    .unwrap();
    let archive = statement(&policy["iam_policy"], "GatekeeperAuditArchive").unwrap();
    assert_eq!(archive["Action"], json!(["s3:PutObject", "s3:GetObject"]));
    assert_eq!(archive["Resource"], "arn:aws:s3:::acme-reports/audit/*");

    // Inside the key root, a grant could overwrite the archive.
    for (root, prefix) in [("", "audit/"), ("tenant-7/", "tenant-7/audit/")] {
        let refused = aws_policy(&[
            "--bucket",
            "acme-reports",
            "--key-root",
            root,
            "--audit-prefix",
            prefix,
        ]);
        assert!(refused.unwrap_err().contains("inside the key root"));
    }
    // In another bucket, any folder will do.
    let other = aws_policy(&[
        "--bucket",
        "acme-reports",
        "--audit-prefix",
        "",
        "--audit-bucket",
        "acme-audit",
    ])
    .unwrap();
    let archive = statement(&other["iam_policy"], "GatekeeperAuditArchive").unwrap();
    assert_eq!(archive["Resource"], "arn:aws:s3:::acme-audit/*");
}

#[test]
fn bad_input_is_refused() {
    for args in [
        &["--bucket", "Acme_Reports"][..],
        &["--bucket", "acme-reports", "--key-root", "tenant-7"],
        &["--bucket", "acme-reports", "--ops", "get,admin"],
        &["--bucket", "acme-reports", "--audit-prefix", "/audit/"],
    ] {
        assert!(aws_policy(args).is_err(), "{args:?}");
    }
}
