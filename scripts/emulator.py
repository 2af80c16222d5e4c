#!/usr/bin/env python3
"""Helpers for running the moto emulator over TLS in the test suite.

    emulator.py certs DIR            throwaway CA + localhost leaf (CA:FALSE) in DIR
    emulator.py free-port            print a free TCP port on 127.0.0.1
    emulator.py wait URL CA SECONDS  wait until URL answers over TLS trusting only CA
    emulator.py kms-key URL CA       create a KMS key in the emulator, print its ARN

Uses the `cryptography` package that moto already depends on, so the test
command needs nothing beyond Python 3 with pip. The CA key is discarded after
signing: the CA can sign nothing else, ever.
"""

import datetime
import ipaddress
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def certs(directory: str) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    not_before = now - datetime.timedelta(minutes=5)
    not_after = now + datetime.timedelta(days=2)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rekognition-guard throwaway test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        # rustls refuses a CA certificate used as the server's own.
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            ]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    pem = serialization.Encoding.PEM
    (out / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    (out / "server.pem").write_bytes(leaf_cert.public_bytes(pem))
    key_path = out / "server.key"
    key_path.write_bytes(
        leaf_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)


def free_port() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def wait(url: str, ca: str, seconds: str) -> None:
    context = ssl.create_default_context(cafile=ca)
    deadline = time.monotonic() + float(seconds)
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, context=context, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answered over verified TLS: good enough
        except Exception as e:  # not up yet
            last = e
            time.sleep(0.2)
    sys.exit(f"emulator at {url} did not answer over TLS within {seconds}s: {last}")


def kms_key(url: str, ca: str) -> None:
    import boto3  # installed with moto

    kms = boto3.client(
        "kms", endpoint_url=url, verify=ca, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )
    print(kms.create_key(Description="rekognition-guard example")["KeyMetadata"]["Arn"])


if __name__ == "__main__":
    commands = {"certs": certs, "free-port": free_port, "wait": wait, "kms-key": kms_key}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](*sys.argv[2:])
