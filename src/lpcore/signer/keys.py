"""Loading the signer's private key: a Web3 Secret Storage (V3) keystore file or an environment variable.

Keystores are what go-livepeer reads (``-ethKeystorePath``/``-ethPassword``) and what ``geth account new``,
Foundry's ``cast wallet`` and eth-account write. Decryption uses pycryptodome (already an lpcore dependency):
scrypt or PBKDF2-HMAC-SHA256, keccak-256 MAC, AES-128-CTR. Keys and passwords are never logged or echoed.
"""

from __future__ import annotations

import hmac
import json
import os
import re
from pathlib import Path

from .. import keccak256
from ..errors import KeyLoadError

DEFAULT_KEY_ENV = "LPCORE_SIGNER_KEY"
DEFAULT_PASSWORD_ENV = "LPCORE_SIGNER_PASSWORD"
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _check_key(key: bytes) -> bytes:
    if len(key) != 32 or not 0 < int.from_bytes(key, "big") < _SECP256K1_N:
        raise KeyLoadError("private key must be 32 bytes in [1, n)")
    return key


def decrypt_keystore(keystore: dict | str | bytes, password: str | bytes) -> bytes:
    """Decrypt a V3 keystore (JSON text or parsed dict) with ``password``; returns the 32-byte private key.

    Raises :class:`KeyLoadError` for an unsupported format or a wrong password (MAC mismatch).
    """
    if isinstance(keystore, (str, bytes)):
        try:
            keystore = json.loads(keystore)
        except ValueError:
            raise KeyLoadError("keystore is not valid JSON") from None
    if not isinstance(keystore, dict):
        raise KeyLoadError("keystore must be a JSON object")
    if isinstance(password, str):
        password = password.encode("utf-8")
    from Crypto.Cipher import AES
    from Crypto.Hash import SHA256
    from Crypto.Protocol.KDF import PBKDF2, scrypt

    try:
        if keystore.get("version") != 3:
            raise KeyLoadError("only version 3 keystores are supported")
        crypto = keystore.get("crypto") or keystore["Crypto"]
        params = crypto["kdfparams"]
        salt = bytes.fromhex(params["salt"])
        dklen = int(params["dklen"])
        if dklen < 32:
            raise KeyLoadError("keystore dklen must be >= 32")
        if crypto["kdf"] == "scrypt":
            derived = scrypt(password, salt, dklen, N=int(params["n"]), r=int(params["r"]), p=int(params["p"]))
        elif crypto["kdf"] == "pbkdf2":
            if params.get("prf") != "hmac-sha256":
                raise KeyLoadError("unsupported pbkdf2 prf")
            derived = PBKDF2(password, salt, dklen, count=int(params["c"]), hmac_hash_module=SHA256)
        else:
            raise KeyLoadError(f"unsupported keystore kdf {crypto['kdf']!r}")
        if crypto["cipher"] != "aes-128-ctr":
            raise KeyLoadError(f"unsupported keystore cipher {crypto['cipher']!r}")
        ciphertext = bytes.fromhex(crypto["ciphertext"])
        mac = keccak256(derived[16:32] + ciphertext)
        if not hmac.compare_digest(mac, bytes.fromhex(crypto["mac"])):
            raise KeyLoadError("keystore MAC mismatch (wrong password?)")
        iv = bytes.fromhex(crypto["cipherparams"]["iv"])
        key = AES.new(derived[:16], AES.MODE_CTR, nonce=b"", initial_value=iv).decrypt(ciphertext)
    except KeyLoadError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise KeyLoadError(f"malformed keystore ({type(exc).__name__})") from None
    return _check_key(key)


def load_keystore(path: str | os.PathLike[str], password: str | bytes) -> bytes:
    """Read and decrypt the keystore file at ``path``."""
    try:
        text = Path(path).read_bytes()
    except OSError as exc:
        raise KeyLoadError(f"cannot read keystore {str(path)!r}: {exc.strerror}") from None
    return decrypt_keystore(text, password)


def load_keystore_file(path: str | os.PathLike[str], password_file: str | os.PathLike[str] | None = None, *,
                       flag: str = "--keystore") -> bytes:
    """A keystore as the command lines take it (``lpcore signer serve --key``, ``lpcore broker --keystore``):
    the password is the first line of ``password_file``, else ``$LPCORE_SIGNER_PASSWORD``; never an argument,
    where other users of the machine could read it. ``flag`` names the option in the error."""
    if password_file:
        try:
            with open(password_file, encoding="utf-8") as f:
                password = f.readline().rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyLoadError(f"cannot read password file {str(password_file)!r}: "
                               f"{getattr(exc, 'strerror', None) or type(exc).__name__}") from None
    else:
        password = os.environ.get(DEFAULT_PASSWORD_ENV)
        if password is None:
            raise KeyLoadError(f"{flag} needs --password-file or ${DEFAULT_PASSWORD_ENV}")
    return load_keystore(path, password)


def key_from_env(name: str = DEFAULT_KEY_ENV) -> bytes:
    """A hex private key (``0x`` optional) from environment variable ``name``."""
    value = os.environ.get(name)
    if not value:
        raise KeyLoadError(f"environment variable {name} is not set")
    text = value.strip()
    if text[:2] in ("0x", "0X"):
        text = text[2:]
    if not re.fullmatch(r"[0-9a-fA-F]{64}", text):
        raise KeyLoadError(f"environment variable {name} must hold 32 bytes of hex")
    return _check_key(bytes.fromhex(text))


__all__ = ["decrypt_keystore", "load_keystore", "load_keystore_file", "key_from_env", "KeyLoadError", "DEFAULT_KEY_ENV",
           "DEFAULT_PASSWORD_ENV"]
