#!/usr/bin/python3
"""Write django.json: hashes made by Django's own hashers (Debian python3-django).

Run from this directory with Debian's interpreter:  /usr/bin/python3 gen_django.py
Each vector holds the password and a wrong one; cutover's tests verify both.
"""
import json

import django
from django.conf import settings

settings.configure(PASSWORD_HASHERS=[
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.BCryptPasswordHasher",
    "django.contrib.auth.hashers.SHA1PasswordHasher",
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.UnsaltedSHA1PasswordHasher",
    "django.contrib.auth.hashers.UnsaltedMD5PasswordHasher",
])
django.setup()
from django.contrib.auth.hashers import check_password, make_password  # noqa: E402

PASSWORDS = ["correct horse battery staple", "pässwörd ✓ 密码", "x"]
CASES = [
    ("django_pbkdf2_sha256", "pbkdf2_sha256"),
    ("django_pbkdf2_sha1", "pbkdf2_sha1"),
    ("django_argon2", "argon2"),
    ("django_bcrypt_sha256", "bcrypt_sha256"),
    ("django_bcrypt", "bcrypt"),
    ("django_sha1", "sha1"),
    ("django_md5", "md5"),
    ("django_unsalted_sha1", "unsalted_sha1"),
    ("django_unsalted_md5", "unsalted_md5"),
]

vectors = []
for fmt, hasher in CASES:
    for pw in PASSWORDS:
        h = make_password(pw, hasher=hasher)
        assert check_password(pw, h) and not check_password(pw + "!", h)
        vectors.append({"format": fmt, "hash": h, "password": pw, "wrong": pw + "!",
                        "source": "Django %s make_password(hasher=%r)" % (django.get_version(), hasher)})
# The bare 32-hex form Django's unsalted_md5 also accepts.
h = make_password("legacy", hasher="unsalted_md5")
vectors.append({"format": "django_unsalted_md5", "hash": h[len("md5$$"):] if h.startswith("md5$$") else h,
                "password": "legacy", "wrong": "Legacy", "source": "Django unsalted_md5, bare form"})

with open("django.json", "w") as f:
    json.dump(vectors, f, indent=1, ensure_ascii=False)
    f.write("\n")
print("wrote %d vectors" % len(vectors))
