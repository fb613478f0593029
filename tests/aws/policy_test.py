"""The IAM policy `gatekeeper aws-policy` prints, evaluated by moto's IAM enforcement.

moto's server checks each S3 request against the caller's IAM policies once its
authentication is on (after INITIAL_NO_AUTH_ACTION_COUNT unauthenticated actions). It matches
actions and resources, and explicit denies; it does not evaluate conditions (the `s3:prefix`
of ListBucket, `kms:ViaService`) nor bucket policies, so those are checked for their shape in
cli/tests/aws_policy.rs instead.

Run with moto's virtualenv: $MOTO_DIR/bin/python tests/aws/policy_test.py GATEKEEPER_BINARY
"""

import json
import logging
import os
import socket
import subprocess
import sys
import unittest

# Three unauthenticated actions make an administrator; everything after is checked.
os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

# The server's access log would drown the test report.
logging.getLogger("werkzeug").setLevel(logging.ERROR)

GATEKEEPER = sys.argv.pop(1) if len(sys.argv) > 1 else "gatekeeper"
BUCKET = "acme-reports"
OTHER_BUCKET = "acme-other"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def aws_policy(*args):
    out = subprocess.run(
        [GATEKEEPER, "aws-policy", "--bucket", BUCKET, *args],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout)


class PolicyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        port = free_port()
        cls.server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
        cls.server.start()
        cls.endpoint = f"http://127.0.0.1:{port}"
        bootstrap = cls.client("iam", "AKIABOOTSTRAP0000000", "bootstrap")
        bootstrap.create_user(UserName="admin")
        bootstrap.put_user_policy(
            UserName="admin", PolicyName="all",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
        )
        key = bootstrap.create_access_key(UserName="admin")["AccessKey"]
        cls.admin = (key["AccessKeyId"], key["SecretAccessKey"])
        cls.iam = cls.client("iam", *cls.admin)
        s3 = cls.client("s3", *cls.admin)
        for bucket in (BUCKET, OTHER_BUCKET):
            s3.create_bucket(Bucket=bucket)
        for key in ("tenant-7/a.txt", "other/a.txt", "audit/2026/period.json"):
            s3.put_object(Bucket=BUCKET, Key=key, Body=b"seed")
        s3.put_object(Bucket=OTHER_BUCKET, Key="tenant-7/a.txt", Body=b"seed")
        cls.users = 0

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    @classmethod
    def client(cls, service, key_id, secret):
        return boto3.client(
            service, endpoint_url=cls.endpoint, region_name="us-east-1",
            aws_access_key_id=key_id, aws_secret_access_key=secret,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def s3_with(self, policy):
        """An S3 client for a new IAM user whose only policy is `policy`."""
        type(self).users += 1
        name = f"gatekeeper-{self.users}"
        self.iam.create_user(UserName=name)
        self.iam.put_user_policy(
            UserName=name, PolicyName="gatekeeper", PolicyDocument=json.dumps(policy))
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return self.client("s3", key["AccessKeyId"], key["SecretAccessKey"])

    def assertAllowed(self, call, what):
        try:
            call()
        except ClientError as e:
            self.fail(f"{what}: refused: {e}")

    def assertDenied(self, call, what):
        with self.assertRaises(ClientError, msg=f"{what}: allowed") as caught:
            call()
        self.assertEqual(caught.exception.response["Error"]["Code"], "AccessDenied", what)

    def test_the_gatekeepers_operations_are_allowed_and_nothing_else(self):
        policy = aws_policy("--key-root", "tenant-7/", "--ops", "get,put,list,multipart",
                            "--audit-prefix", "audit/")["iam_policy"]
        s3 = self.s3_with(policy)
        put = dict(ServerSideEncryption="AES256")

        self.assertAllowed(lambda: s3.get_object(Bucket=BUCKET, Key="tenant-7/a.txt"), "get")
        self.assertAllowed(lambda: s3.head_object(Bucket=BUCKET, Key="tenant-7/a.txt"), "head")
        self.assertAllowed(
            lambda: s3.put_object(Bucket=BUCKET, Key="tenant-7/b.txt", Body=b"x", **put), "put")
        self.assertAllowed(
            lambda: s3.list_objects_v2(Bucket=BUCKET, Prefix="tenant-7/", Delimiter="/"), "list")

        def multipart(abort):
            upload = s3.create_multipart_upload(Bucket=BUCKET, Key="tenant-7/big.bin", **put)
            uid = upload["UploadId"]
            part = s3.upload_part(Bucket=BUCKET, Key="tenant-7/big.bin", UploadId=uid,
                                  PartNumber=1, Body=b"p" * 1024)
            s3.list_parts(Bucket=BUCKET, Key="tenant-7/big.bin", UploadId=uid)
            if abort:
                s3.abort_multipart_upload(Bucket=BUCKET, Key="tenant-7/big.bin", UploadId=uid)
            else:
                s3.complete_multipart_upload(
                    Bucket=BUCKET, Key="tenant-7/big.bin", UploadId=uid,
                    MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        self.assertAllowed(lambda: multipart(abort=False), "multipart upload, completed")
        self.assertAllowed(lambda: multipart(abort=True), "multipart upload, aborted")

        self.assertAllowed(
            lambda: s3.put_object(Bucket=BUCKET, Key="audit/2026/next.json", Body=b"{}"),
            "audit archive put")
        self.assertAllowed(
            lambda: s3.get_object(Bucket=BUCKET, Key="audit/2026/period.json"),
            "audit archive get")

        self.assertDenied(lambda: s3.get_object(Bucket=BUCKET, Key="other/a.txt"),
                          "get outside the key root")
        self.assertDenied(
            lambda: s3.put_object(Bucket=BUCKET, Key="other/b.txt", Body=b"x", **put),
            "put outside the key root")
        self.assertDenied(lambda: s3.delete_object(Bucket=BUCKET, Key="tenant-7/a.txt"),
                          "delete, not asked for")
        self.assertDenied(lambda: s3.get_object(Bucket=OTHER_BUCKET, Key="tenant-7/a.txt"),
                          "get in another bucket")
        self.assertDenied(
            lambda: s3.put_object(Bucket=OTHER_BUCKET, Key="tenant-7/b.txt", Body=b"x", **put),
            "put in another bucket")
        self.assertDenied(lambda: s3.list_objects_v2(Bucket=OTHER_BUCKET, Prefix="tenant-7/"),
                          "list another bucket")
        self.assertDenied(lambda: s3.delete_object(Bucket=BUCKET, Key="audit/2026/period.json"),
                          "delete in the audit archive")
        self.assertDenied(lambda: s3.delete_bucket_policy(Bucket=BUCKET),
                          "bucket administration")

    def test_delete_is_allowed_only_when_asked_for(self):
        s3 = self.s3_with(aws_policy("--key-root", "tenant-7/", "--ops", "get,delete")["iam_policy"])
        s3_seed = self.client("s3", *self.admin)
        s3_seed.put_object(Bucket=BUCKET, Key="tenant-7/gone.txt", Body=b"x")
        self.assertAllowed(lambda: s3.delete_object(Bucket=BUCKET, Key="tenant-7/gone.txt"),
                           "delete")
        self.assertDenied(lambda: s3.delete_object(Bucket=BUCKET, Key="other/a.txt"),
                          "delete outside the key root")
        self.assertDenied(
            lambda: s3.put_object(Bucket=BUCKET, Key="tenant-7/c.txt", Body=b"x"),
            "put, not asked for")
        self.assertDenied(lambda: s3.list_objects_v2(Bucket=BUCKET, Prefix="tenant-7/"),
                          "list, not asked for")

    def test_without_multipart_its_own_actions_are_denied(self):
        s3 = self.s3_with(aws_policy("--key-root", "tenant-7/", "--ops", "put")["iam_policy"])
        admin = self.client("s3", *self.admin)
        uid = admin.create_multipart_upload(Bucket=BUCKET, Key="tenant-7/m.bin")["UploadId"]
        self.assertDenied(
            lambda: s3.list_parts(Bucket=BUCKET, Key="tenant-7/m.bin", UploadId=uid),
            "list parts")
        self.assertDenied(
            lambda: s3.abort_multipart_upload(Bucket=BUCKET, Key="tenant-7/m.bin", UploadId=uid),
            "abort")


if __name__ == "__main__":
    unittest.main(verbosity=2)
