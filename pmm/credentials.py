"""API credentials: an encrypted key store per connector, or environment variables.

Key store: one JSON file per connector in `$PMM_KEYS_DIR` (default `~/.pmm/keys`), readable by
its owner only. The secret is encrypted with AES-256-GCM under a key derived from the user's
password by scrypt (memory-hard: n=2^15, r=8, p=1, 32 MiB), so a stolen file is not a stolen
account. The API key is stored encrypted too, and so is the key's passphrase on venues whose keys
have one (the spec's `Capabilities.passphrase_name`: a passphrase, or a memo). Environment variables
win over the key store: `PMM_<CONNECTOR>_API_KEY` / `PMM_<CONNECTOR>_API_SECRET`, and
`PMM_<CONNECTOR>_API_PASSPHRASE` where the key has a passphrase (connector id upper-cased).

`Credentials` never shows its secret or passphrase: not in repr, str, logs or tracebacks.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pmm.errors import AuthError

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**15, 8, 1
_FORMAT = 1
MIN_PASSWORD_CHARS = 8  # what `pmm connect` accepts: scrypt slows guessing, it cannot save "1234"


@dataclass(frozen=True)
class Credentials:
    api_key: str
    api_secret: str = field(repr=False)
    passphrase: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        shown = "" if self.passphrase is None else ", passphrase='***'"
        return f"Credentials(api_key={mask(self.api_key)!r}, api_secret='***'{shown})"

    __str__ = __repr__


def mask(value: str) -> str:
    """Enough of a key to recognise it, never enough to use it."""
    return value[:4] + "…" if len(value) > 8 else "***"


def password_problem(password: str) -> str | None:
    """Why `password` is too weak to protect API keys, or None."""
    if len(password) < MIN_PASSWORD_CHARS:
        return (f"The password must have at least {MIN_PASSWORD_CHARS} characters (it had {len(password)}): it is "
                f"all that protects the stored keys if the file is copied.")
    return None


def env_names(connector_id: str) -> tuple[str, str]:
    prefix = "PMM_" + connector_id.upper()
    return f"{prefix}_API_KEY", f"{prefix}_API_SECRET"


def passphrase_env_name(connector_id: str) -> str:
    return f"PMM_{connector_id.upper()}_API_PASSPHRASE"


def keys_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    configured = env.get("PMM_KEYS_DIR", "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".pmm" / "keys"


def _path(connector_id: str, environ: Mapping[str, str] | None) -> Path:
    return keys_dir(environ) / f"{connector_id}.json"


def _derive(password: str, salt: bytes) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P).derive(password.encode())


def save(connector_id: str, credentials: Credentials, password: str,
         environ: Mapping[str, str] | None = None) -> Path:
    """Encrypt and write the key store file for `connector_id` (mode 0600, folder 0700)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not password:
        raise AuthError("An empty password cannot protect API keys; choose a password.")
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    fields = {"api_key": credentials.api_key, "api_secret": credentials.api_secret}
    if credentials.passphrase is not None:
        fields["passphrase"] = credentials.passphrase
    plaintext = json.dumps(fields).encode()
    sealed = AESGCM(_derive(password, salt)).encrypt(nonce, plaintext, connector_id.encode())
    path = _path(connector_id, environ)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    b64 = base64.b64encode
    data = {"format": _FORMAT, "connector": connector_id, "kdf": "scrypt", "n": _SCRYPT_N, "r": _SCRYPT_R,
            "p": _SCRYPT_P, "salt": b64(salt).decode(), "nonce": b64(nonce).decode(),
            "ciphertext": b64(sealed).decode()}
    # Create with owner-only permissions from the start: never a moment where others can read it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    os.chmod(path, 0o600)
    return path


def load(connector_id: str, password: str, environ: Mapping[str, str] | None = None) -> Credentials:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    path = _path(connector_id, environ)
    try:
        data = json.loads(path.read_text())
        salt, nonce, sealed = (base64.b64decode(data[k]) for k in ("salt", "nonce", "ciphertext"))
    except FileNotFoundError:
        raise AuthError(f"No stored API key for {connector_id} ({path}): run `pmm connect {connector_id}`.") from None
    except (ValueError, KeyError) as exc:
        raise AuthError(f"The key store {path} is damaged ({exc.__class__.__name__}): run "
                        f"`pmm connect {connector_id}` again.") from None
    try:
        plaintext = AESGCM(_derive(password, salt)).decrypt(nonce, sealed, connector_id.encode())
    except InvalidTag:
        raise AuthError(f"Wrong password for the stored {connector_id} API key ({path}). Try again, or run "
                        f"`pmm connect {connector_id}` to store the key anew.") from None
    payload = json.loads(plaintext)
    return Credentials(payload["api_key"], payload["api_secret"], payload.get("passphrase"))


def has_stored(connector_id: str, environ: Mapping[str, str] | None = None) -> bool:
    return _path(connector_id, environ).exists()


def needs_password(connector_id: str, environ: Mapping[str, str] | None = None) -> bool:
    """True when starting `connector_id` will have to unlock the key store with a typed password."""
    env = os.environ if environ is None else environ
    key_var, secret_var = env_names(connector_id)
    if env.get(key_var, "").strip() or env.get(secret_var, "").strip() or "PMM_PASSWORD" in env:
        return False
    return has_stored(connector_id, env)


def resolve(connector_id: str, *, environ: Mapping[str, str] | None = None,
            ask_password: Callable[[str], str] | None = None, passphrase_name: str | None = None) -> Credentials:
    """Environment variables first, then the key store (password from PMM_PASSWORD or `ask_password`).

    `passphrase_name`: the venue's keys have a passphrase (or memo), which must be found with them."""
    env = os.environ if environ is None else environ
    key_var, secret_var = env_names(connector_id)
    key, secret = env.get(key_var, "").strip(), env.get(secret_var, "").strip()
    passphrase = env.get(passphrase_env_name(connector_id), "").strip() or None
    if key and secret:
        if passphrase_name is None:
            return Credentials(key, secret)
        passphrase_var = passphrase_env_name(connector_id)
        passphrase = env.get(passphrase_var, "").strip()
        if not passphrase:
            raise AuthError(f"{passphrase_var} is not set while {key_var} and {secret_var} are: {connector_id} API "
                            f"keys have a {passphrase_name}. Set it too, or use `pmm connect {connector_id}`.")
        return Credentials(key, secret, passphrase)
    if key or secret:
        missing = secret_var if key else key_var
        raise AuthError(f"{missing} is not set while {key_var if key else secret_var} is: set both, or neither "
                        f"and use `pmm connect {connector_id}`.")
    if not has_stored(connector_id, env):
        raise AuthError(f"No API key for {connector_id}: run `pmm connect {connector_id}`, or set {key_var} and "
                        f"{secret_var}.")
    password = env.get("PMM_PASSWORD")
    if password is None:
        if ask_password is None:
            raise AuthError(f"The stored {connector_id} API key needs its password: set PMM_PASSWORD or run on a "
                            f"terminal.")
        password = ask_password(f"Password for the stored {connector_id} API key")
    stored = load(connector_id, password, env)
    if passphrase_name is not None and not stored.passphrase:
        raise AuthError(f"The stored {connector_id} API key has no {passphrase_name}, which its keys need: run "
                        f"`pmm connect {connector_id}` again to store the key with it.")
    return stored
