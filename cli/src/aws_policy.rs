//! `gatekeeper aws-policy`: the least-privilege AWS policies for a gatekeeper's bucket.
//!
//! Printed as JSON, ready for `aws iam put-user-policy`, `aws s3api put-bucket-policy`,
//! `put-bucket-encryption` and `put-bucket-lifecycle-configuration`.

use std::io::Write as _;

use s3_gatekeeper::s3::Bucket;
use serde_json::{Value, json};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The bucket (S3_BUCKET).
    #[arg(long)]
    bucket: String,
    /// The folder the gatekeeper is confined to (S3_KEY_ROOT), ending in /. Default: the
    /// whole bucket.
    #[arg(long, default_value = "")]
    key_root: String,
    /// The operations to allow, comma-separated: get (GET and HEAD), put, list, delete,
    /// multipart.
    #[arg(long, value_delimiter = ',', default_value = "get,put,list")]
    ops: Vec<Op>,
    /// The KMS key ARN of S3_SSE = aws:kms (S3_SSE_KMS_KEY_ID must be this ARN). Without it,
    /// uploads are encrypted with AES256 (S3_SSE's default).
    #[arg(long)]
    kms_key: Option<String>,
    /// The audit archive's folder (AUDIT_ARCHIVE_PREFIX), in --audit-bucket.
    #[arg(long)]
    audit_prefix: Option<String>,
    /// The audit archive's bucket (AUDIT_ARCHIVE_BUCKET). Default: --bucket.
    #[arg(long, requires = "audit_prefix")]
    audit_bucket: Option<String>,
    /// Incomplete multipart uploads are aborted this many days after they started.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=365))]
    abort_after_days: u32,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Op {
    Get,
    Put,
    List,
    Delete,
    Multipart,
}

pub(crate) fn run(args: &Args) -> Result<(), String> {
    let policies = policies(args)?;
    let text = serde_json::to_string_pretty(&policies).map_err(|e| e.to_string())?;
    writeln!(std::io::stdout().lock(), "{text}").map_err(|e| e.to_string())
}

fn folder(setting: &str, value: &str) -> Result<(), String> {
    if value.is_empty() || (value.ends_with('/') && !value.starts_with('/')) {
        Ok(())
    } else {
        Err(format!(
            "{setting} must be empty or a folder ending in / (and not starting with /)"
        ))
    }
}

/// The ARN of a KMS key, and the region its ARN names.
fn kms_region(arn: &str) -> Result<&str, String> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", partition, "kms", region, account, resource]
            if partition.starts_with("aws")
                && !region.is_empty()
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource.starts_with("key/") =>
        {
            Ok(region)
        }
        _ => Err("--kms-key: not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)".to_owned()),
    }
}

fn policies(args: &Args) -> Result<Value, String> {
    let bucket: Bucket = args.bucket.parse().map_err(|e| format!("--bucket: {e}"))?;
    let bucket = bucket.as_str();
    folder("--key-root", &args.key_root)?;
    let root = &args.key_root;
    let has = |op| args.ops.contains(&op);
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let objects_arn = format!("{bucket_arn}/{root}*");

    let mut object_actions = Vec::new();
    if has(Op::Get) {
        object_actions.push("s3:GetObject");
    }
    if has(Op::Put) || has(Op::Multipart) {
        // Also covers CreateMultipartUpload, UploadPart and CompleteMultipartUpload.
        object_actions.push("s3:PutObject");
    }
    if has(Op::Multipart) {
        object_actions.extend(["s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]);
    }
    if has(Op::Delete) {
        object_actions.push("s3:DeleteObject");
    }
    let mut statements = Vec::new();
    if !object_actions.is_empty() {
        statements.push(json!({
            "Sid": "GatekeeperObjects",
            "Effect": "Allow",
            "Action": object_actions,
            "Resource": objects_arn,
        }));
    }
    if has(Op::List) {
        let mut list = json!({
            "Sid": "GatekeeperList",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
        });
        if !root.is_empty() {
            list["Condition"] = json!({ "StringLike": { "s3:prefix": format!("{root}*") } });
        }
        statements.push(list);
    }
    if let Some(prefix) = &args.audit_prefix {
        folder("--audit-prefix", prefix)?;
        let audit_bucket = match &args.audit_bucket {
            Some(name) => name
                .parse::<Bucket>()
                .map_err(|e| format!("--audit-bucket: {e}"))?
                .as_str()
                .to_owned(),
            None => bucket.to_owned(),
        };
        // In the gatekeeper's own folder, a vendor's grant could read or overwrite the archive
        // that is meant to outlive the gatekeeper's own audit log.
        if audit_bucket == bucket && prefix.starts_with(root.as_str()) {
            return Err(format!(
                "--audit-prefix {prefix:?} lies inside the key root {root:?}, where grants could read and overwrite the archive; choose a folder outside it, or another bucket"
            ));
        }
        statements.push(json!({
            "Sid": "GatekeeperAuditArchive",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject"],
            "Resource": format!("arn:aws:s3:::{audit_bucket}/{prefix}*"),
        }));
    }
    // Only object reads and writes touch the key; a gatekeeper that only lists needs none of it.
    let uses_objects = !object_actions.is_empty() || args.audit_prefix.is_some();
    let encryption = match &args.kms_key {
        Some(arn) => {
            let region = kms_region(arn)?;
            if uses_objects {
                statements.push(json!({
                "Sid": "GatekeeperKms",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": arn,
                // Only through S3: the key cannot be used directly with these credentials.
                "Condition": { "StringEquals": { "kms:ViaService": format!("s3.{region}.amazonaws.com") } },
                }));
            }
            json!({ "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": arn })
        }
        None => json!({ "SSEAlgorithm": "AES256" }),
    };

    let every_object = format!("arn:aws:s3:::{bucket}/*");
    let mut bucket_statements = vec![
        json!({
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [format!("arn:aws:s3:::{bucket}"), every_object],
            "Condition": { "Bool": { "aws:SecureTransport": "false" } },
        }),
        // A PUT that asks for other encryption than the gatekeeper's. A PUT that asks for none
        // (an upload part, which never carries the header) gets the bucket default below.
        json!({
            "Sid": "DenyOtherEncryption",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": every_object,
            "Condition": {
                "StringNotEquals": { "s3:x-amz-server-side-encryption": encryption["SSEAlgorithm"] },
                "Null": { "s3:x-amz-server-side-encryption": "false" },
            },
        }),
        json!({
            "Sid": "DenyCustomerKeys",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": every_object,
            "Condition": { "Null": { "s3:x-amz-server-side-encryption-customer-algorithm": "false" } },
        }),
    ];
    if let Some(arn) = &args.kms_key {
        bucket_statements.push(json!({
            "Sid": "DenyOtherKmsKey",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": every_object,
            "Condition": {
                "StringEquals": { "s3:x-amz-server-side-encryption": "aws:kms" },
                "StringNotEquals": { "s3:x-amz-server-side-encryption-aws-kms-key-id": arn },
            },
        }));
    }
    let mut default_rule = json!({ "ApplyServerSideEncryptionByDefault": encryption });
    if args.kms_key.is_some() {
        default_rule["BucketKeyEnabled"] = json!(true);
    }
    Ok(json!({
        "iam_policy": { "Version": "2012-10-17", "Statement": statements },
        "bucket_policy": { "Version": "2012-10-17", "Statement": bucket_statements },
        "bucket_encryption": { "Rules": [default_rule] },
        "lifecycle": { "Rules": [{
            "ID": "abort-incomplete-multipart-uploads",
            "Status": "Enabled",
            "Filter": { "Prefix": root },
            "AbortIncompleteMultipartUpload": { "DaysAfterInitiation": args.abort_after_days },
        }] },
    }))
}
