#!/usr/bin/python3
"""Write passlib.json: hashes made by passlib 1.7 (Debian python3-passlib, with
python3-bcrypt and python3-argon2 as backends) and plain digests made by hashlib.

Run from this directory with Debian's interpreter:  /usr/bin/python3 gen_passlib.py
"""
import base64
import hashlib
import json

import passlib
from passlib import hash as ph

PASSWORDS = ["correct horse battery staple", "pässwörd ✓ 密码"]
SRC = "passlib %s " % passlib.__version__

CASES = [
    ("bcrypt", ph.bcrypt.using(ident="2b", rounds=5)),
    ("bcrypt", ph.bcrypt.using(ident="2a", rounds=5)),
    ("bcrypt", ph.bcrypt.using(ident="2y", rounds=4)),
    ("argon2id", ph.argon2.using(type="ID", memory_cost=1024, time_cost=2, parallelism=2)),
    ("argon2i", ph.argon2.using(type="I", memory_cost=1024, time_cost=3, parallelism=1)),
    ("scrypt", ph.scrypt.using(rounds=10, block_size=8, parallelism=1)),
    ("scrypt", ph.scrypt.using(rounds=8, block_size=4, parallelism=2)),
    ("pbkdf2_sha256", ph.pbkdf2_sha256.using(rounds=1000)),
    ("pbkdf2_sha512", ph.pbkdf2_sha512.using(rounds=1000)),
    ("pbkdf2_sha1", ph.pbkdf2_sha1.using(rounds=1000)),
    ("md5_crypt", ph.md5_crypt),
    ("sha256_crypt", ph.sha256_crypt.using(rounds=5000)),  # implicit rounds: "$5$salt$hash"
    ("sha256_crypt", ph.sha256_crypt.using(rounds=12000)),
    ("sha512_crypt", ph.sha512_crypt.using(rounds=5000)),
    ("sha512_crypt", ph.sha512_crypt.using(rounds=8000)),
    ("phpass", ph.phpass.using(rounds=8)),
    ("phpass", ph.phpass.using(ident="H", rounds=11)),
    ("ldap_ssha", ph.ldap_salted_sha1),
    ("ldap_sha", ph.ldap_sha1),
    ("ldap_ssha256", ph.ldap_salted_sha256),
    ("ldap_ssha512", ph.ldap_salted_sha512),
    ("ldap_md5", ph.ldap_md5),
    ("ldap_smd5", ph.ldap_salted_md5),
    ("ldap_crypt", ph.ldap_md5_crypt),
    ("ldap_crypt", ph.ldap_sha512_crypt.using(rounds=5000)),
    ("ldap_crypt", ph.ldap_bcrypt.using(rounds=5)),
]

vectors = []
for fmt, handler in CASES:
    for pw in PASSWORDS:
        h = handler.hash(pw)
        assert handler.verify(pw, h) and not handler.verify(pw + "!", h)
        vectors.append({"format": fmt, "hash": h, "password": pw, "wrong": pw + "!", "source": SRC + handler.name})

# bcrypt uses only the first 72 bytes of a password: so must we.
long_pw = "L" * 72 + "tail that bcrypt never sees"
h = ph.bcrypt.using(rounds=4).hash(long_pw)
vectors.append({"format": "bcrypt", "hash": h, "password": long_pw, "wrong": "L" * 71,
                "source": SRC + "bcrypt, 99-byte password"})

# Plain and salted digests, hex and base64, from hashlib.
SALT = "s4lt-Xy"
for alg in ["md5", "sha1", "sha256", "sha512"]:
    for pw in PASSWORDS:
        b = pw.encode()
        d = hashlib.new(alg, b).digest()
        vectors.append({"format": alg, "hash": d.hex(), "password": pw, "wrong": pw + "!", "source": "hashlib %s hex" % alg})
        vectors.append({"format": alg, "hash": base64.b64encode(d).decode(), "password": pw, "wrong": pw + "!", "source": "hashlib %s base64" % alg})
        vectors.append({"format": alg + "_salt_password", "salt": SALT,
                        "hash": hashlib.new(alg, SALT.encode() + b).hexdigest().upper(),
                        "password": pw, "wrong": pw + "!", "source": "hashlib %s(salt+password) upper hex" % alg})
        vectors.append({"format": alg + "_password_salt", "salt": SALT,
                        "hash": base64.b64encode(hashlib.new(alg, b + SALT.encode()).digest()).decode(),
                        "password": pw, "wrong": pw + "!", "source": "hashlib %s(password+salt) base64" % alg})

with open("passlib.json", "w") as f:
    json.dump(vectors, f, indent=1, ensure_ascii=False)
    f.write("\n")
print("wrote %d vectors" % len(vectors))
