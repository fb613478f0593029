//! Writes the seed inputs of every fuzz target into `corpus/<target>/seed-*`: real tokens (the
//! PASETO test vectors and grants minted by the fixture keys), real requests, settings, S3 list
//! replies and audit exports. Run by `scripts/fuzz --seed`; the seeds are committed, so this is
//! needed only when the formats change.

use std::fs;
use std::path::{Path, PathBuf};

use s3_gatekeeper_fuzz::harness::{fixtures, grant, seal};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let vectors: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(root.join("../tests/vectors/paseto/v4.json")).expect("PASETO vectors"),
    )
    .expect("PASETO vectors are JSON");
    let vectors = vectors["tests"].as_array().expect("a list of tests");
    let text =
        |v: &serde_json::Value, field: &str| v[field].as_str().unwrap_or_default().to_owned();

    let mut tokens: Vec<String> = grant::valid_tokens().to_vec();
    tokens.extend(grant::invalid_tokens());
    tokens.extend(vectors.iter().map(|v| text(v, "token")));
    let valid = grant::valid_tokens();
    tokens.push(format!("{}, {}", valid[12], valid[13]));
    tokens.push(format!("{},{},{}", valid[0], valid[2], valid[0]));
    write("grant_token", tokens.iter().map(String::as_bytes));

    let mut payloads: Vec<Vec<u8>> = ["get", "head", "put", "delete", "list"]
        .iter()
        .map(|op| {
            let mut claims = fixtures::claims(
                op,
                if *op == "list" {
                    "reports/"
                } else {
                    "reports/q3.csv"
                },
            );
            if *op == "put" {
                claims.max_size = Some(1024);
                claims.content_type = Some("text/csv".into());
                claims.ip = Some("203.0.113.0/24".into());
            }
            let mut payload = vec![0];
            payload.extend(serde_json::to_vec(&claims).unwrap_or_default());
            payload
        })
        .collect();
    payloads.extend(vectors.iter().map(|v| {
        let mut payload = vec![0];
        payload.extend(text(v, "payload").into_bytes());
        payload
    }));
    write("grant_claims", payloads.iter().map(Vec::as_slice));

    let requests = [
        "GET /objects/reports/q3.csv\n+grant",
        "HEAD /objects/reports/q3.csv\nIf-None-Match: \"abc\"\n+grant",
        "GET /objects/reports/a%20b/%C3%A9.csv\nRange: bytes=0-99\n+grant",
        "PUT /objects/uploads/a%2Bb.csv\nContent-Length: 12\nContent-Type: text/csv\n+grant",
        "DELETE /objects/finance/q3.csv\n+grant\n+grant2",
        "GET /objects/reports/q3.csv?grant=x\n+urlgrant",
        "HEAD /objects/reports/q3.csv\nRange: bytes=0-9\n+urlgrant",
        "PUT /objects/uploads/a.csv\nContent-Length: 3\n+urlgrant",
        "DELETE /objects/tmp/x\n+grant",
        "GET /objects?prefix=reports/&limit=10&folders=true&cursor=abc\n+grant",
        "GET /objects/reports/q3.csv\nOrigin: https://app.example.com\n+grant\n+ip 203.0.113.9\n+country US",
        "GET /objects/reports/%2e%2e/secret\n+grant",
        "POST /objects/a\n+grant",
    ];
    write("request", requests.iter().map(|r| r.as_bytes()));

    let settings = [
        "",
        "S3_ADDRESSING=virtual\nS3_ENDPOINT\nS3_KEY_ROOT",
        "S3_SSE=aws:kms\nS3_SSE_KMS_KEY_ID=arn:aws:kms:us-east-1:1:key/x",
        "AWS_SESSION_TOKEN=token\nDELETE_ENABLED=false",
        "ALLOWED_ORIGINS=[\"https://a.example\",\"http://localhost:8787\"]",
        "ACL={\"ip\":{\"allow\":[\"10.0.0.0/8\",\"::1\"],\"allow_exempt\":[\"list\"]},\"country\":{\"tor\":\"allow\"}}",
        "MULTISIG=[{\"operations\":[\"put\",\"delete\"],\"signatures\":1}]",
        "VENDOR_KEYS=[{\"public\":\"k4.public.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"not_before\":\"2026-01-01T00:00:00Z\"}]",
        "GRANT_MAX_LIFETIME_SECONDS=86400\nGRANT_CLOCK_SKEW_SECONDS=0\nMAX_UPLOAD_BYTES=5368709120",
    ];
    write("settings", settings.iter().map(|s| s.as_bytes()));

    let listings = [
        "t7/\treports/\n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>examplebucket</Name><Prefix>t7/reports/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken><Contents><Key>t7/reports/a &amp; b.csv</Key><LastModified>2026-11-27T20:00:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>42</Size><StorageClass>STANDARD</StorageClass></Contents><Contents><Key>t7/reports/q3.csv</Key><LastModified>2026-11-27T20:01:00.000Z</LastModified><ETag>\"def\"</ETag><Size>7</Size></Contents><CommonPrefixes><Prefix>t7/reports/2026/</Prefix></CommonPrefixes></ListBucketResult>",
        "\t\n<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>",
        "t7/\t\n<ListBucketResult><Contents><Key>t7/x</Key><Size>0</Size></Contents><Contents><Key>t7/y/z</Key><Size>18446744073709551615</Size><ETag></ETag></Contents></ListBucketResult>",
    ];
    write("list_xml", listings.iter().map(|s| s.as_bytes()));

    let exports: Vec<String> = [false, true]
        .iter()
        .map(|&purged| {
            let p = seal::pristine(purged);
            seal::export_json(&p.log, &p.seals)
        })
        .collect();
    write("seal_export", exports.iter().map(String::as_bytes));

    let programs: [&[u8]; 6] = [
        &[0],
        &[1],
        &[0, 0, 5, 16, 2],
        &[0, 6, 0, 1, 0, 9, 3, 2, 0],
        &[1, 4, 2, 8, 2],
        &[0, 5, 2, 0, 0, 1, 40, 0, 0],
    ];
    write("seal_tamper", programs.into_iter());
}

fn write<'a>(target: &str, seeds: impl Iterator<Item = &'a [u8]>) {
    let dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    fs::create_dir_all(&dir).expect("the corpus folder can be made");
    for (i, seed) in seeds.enumerate() {
        fs::write(dir.join(format!("seed-{i:02}")), seed).expect("a seed can be written");
    }
}
