#!/usr/bin/python3
"""Time the verifications BenchmarkVerify measures, in passlib and Django on this machine.

Picks the same vector per format (first one, fixture files in name order) and prints
verifications/s, for the ratio in the README. Run: /usr/bin/python3 bench_python.py
"""
import glob
import hashlib
import hmac
import json
import timeit

from django.conf import settings

settings.configure(PASSWORD_HASHERS=[
    "django.contrib.auth.hashers.PBKDF2PasswordHasher", "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher", "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.BCryptPasswordHasher", "django.contrib.auth.hashers.SHA1PasswordHasher",
    "django.contrib.auth.hashers.MD5PasswordHasher", "django.contrib.auth.hashers.UnsaltedSHA1PasswordHasher",
    "django.contrib.auth.hashers.UnsaltedMD5PasswordHasher"])
import django  # noqa: E402

django.setup()
from django.contrib.auth.hashers import check_password  # noqa: E402
from passlib import hash as ph  # noqa: E402
from passlib.context import CryptContext  # noqa: E402

ldap_crypt = CryptContext(schemes=["ldap_md5_crypt", "ldap_sha512_crypt", "ldap_bcrypt"])
PASSLIB = {
    "bcrypt": ph.bcrypt, "argon2id": ph.argon2, "argon2i": ph.argon2, "scrypt": ph.scrypt,
    "pbkdf2_sha256": ph.pbkdf2_sha256, "pbkdf2_sha512": ph.pbkdf2_sha512, "pbkdf2_sha1": ph.pbkdf2_sha1,
    "md5_crypt": ph.md5_crypt, "sha256_crypt": ph.sha256_crypt, "sha512_crypt": ph.sha512_crypt,
    "phpass": ph.phpass, "ldap_ssha": ph.ldap_salted_sha1, "ldap_sha": ph.ldap_sha1,
    "ldap_ssha256": ph.ldap_salted_sha256, "ldap_ssha512": ph.ldap_salted_sha512,
    "ldap_md5": ph.ldap_md5, "ldap_smd5": ph.ldap_salted_md5, "ldap_crypt": ldap_crypt,
}


def digest_verifier(fmt, vec):
    alg, _, order = fmt.partition("_")
    salt = vec.get("salt", "").encode()
    h = vec["hash"]

    def verify(pw):
        b = pw.encode()
        b = salt + b if order == "salt_password" else b + salt if order == "password_salt" else b
        d = hashlib.new(alg, b).digest()
        return hmac.compare_digest(d.hex(), h.lower()) or hmac.compare_digest(__import__("base64").b64encode(d).decode(), h)
    return verify


first = {}
for f in sorted(glob.glob("*.json")):
    for vec in json.load(open(f)):
        first.setdefault(vec["format"], vec)

for fmt in sorted(first):
    vec = first[fmt]
    if fmt.startswith("django_"):
        fn = lambda pw, h=vec["hash"]: check_password(pw, h)  # noqa: E731
        impl = "Django " + django.get_version()
    elif fmt in PASSLIB:
        fn = lambda pw, h=vec["hash"], m=PASSLIB[fmt]: m.verify(pw, h)  # noqa: E731
        impl = "passlib"
    elif fmt.split("_")[0] in ("md5", "sha1", "sha256", "sha512"):
        fn = digest_verifier(fmt, vec)
        impl = "hashlib"
    else:
        print("%-24s (no Python implementation here)" % fmt)
        continue
    assert fn(vec["password"]), fmt
    n = 1
    while True:
        t = timeit.timeit(lambda: fn(vec["password"]), number=n)
        if t > 0.3:
            break
        n *= 4
    print("%-24s %14.1f verifications/s  (%s)" % (fmt, n / t, impl))
